/**
 * The named steps of the query pipeline, each a function over the {@link QueryContext}. Each
 * factory checks its options once, when the pipeline is built.
 *
 * @module
 */
import {
  refuseTokenOlderThanTenant,
  type UserClaims,
  type UserVerifier,
} from "../auth/user_token.ts";
import { completeFromDirectory, type DirectoryEntry } from "../auth/directory.ts";
import type { TenantRow } from "../catalog/schema.ts";
import { loggableError, OmniError } from "../errors.ts";
import type { JobQueue } from "../jobs/queue.ts";
import { withPassthroughClaim } from "../policy/passthrough.ts";
import { effectiveTimeoutMs, limitsFor } from "../query/limits.ts";
import { parseQueryRequest } from "../query/request.ts";
import type { QueryService } from "../query/service.ts";
import {
  DEFAULT_BUDGETS,
  type EdgeBudgets,
  type RateLimiter,
  spendEdgeBudgets,
} from "../ratelimit/mod.ts";
import type { BudgetStatus, QueryContext, Step } from "./context.ts";
import { processLog } from "../telemetry/log.ts";

/** What {@link identify} reads. */
export interface IdentifyOptions {
  /** Verifies the bearer token (remembering verified tokens: `rememberVerifiedTokens`). */
  verifyUser: UserVerifier;
  /** The tenant row, read once per query. */
  getTenant(id: string): Promise<TenantRow | undefined>;
  /** The caller's directory entry: fills in what the token lacks (`completeFromDirectory`). */
  getUser?(tenantId: string, email: string): Promise<DirectoryEntry | undefined>;
  /** Refuses claims the tenant's policy would misread (`UNAUTHENTICATED`). @default no check */
  checkClaims?(user: UserClaims): Promise<void>;
  /**
   * Starts loading what `checkClaims` reads for a tenant (its policy), so that it overlaps the
   * tenant and directory reads instead of following them. @default nothing loaded ahead
   */
  prefetchClaims?(tenantId: string): void;
}

/**
 * Step: who is asking. A bearer token is verified and completed from the directory (role and
 * team when the token lacks a role, attributes it does not carry), its claims checked, and the
 * passthrough token taken from its header; an identity verified upstream (the edge's context) is taken as it is. Either way
 * the tenant row is read here, once: a tenant that does not exist (never created, off-boarded)
 * is `UNAUTHENTICATED`.
 *
 * @example
 * ```ts ignore
 * new QueryPipeline({ steps: [identify({ verifyUser, getTenant }), ...], zoneOf });
 * ```
 */
export function identify(options: IdentifyOptions): Step {
  return async function identifyCaller(ctx) {
    const { input } = ctx;
    let user = input.user ?? await options.verifyUser(input.token);
    // Read side by side: each is a catalog round trip once its memo has expired (a quiet
    // tenant's every query). The token is verified; nothing is decided before the tenant is.
    const entry = !input.user && options.getUser
      ? options.getUser(user.tenant, user.sub)
      : undefined;
    entry?.catch(() => {}); // a missing tenant answers first; its entry's failure is moot
    if (!input.user) options.prefetchClaims?.(user.tenant);
    const tenant = await options.getTenant(user.tenant);
    if (!tenant) throw new OmniError("UNAUTHENTICATED", `tenant ${user.tenant} does not exist`);
    refuseTokenOlderThanTenant(user, tenant.createdAt);
    if (!input.user) {
      if (entry) user = completeFromDirectory(user, await entry);
      await options.checkClaims?.(user);
      user = withPassthroughClaim(user, input.passthroughToken);
    }
    // Set together, once the caller is known: from here on, every outcome is recorded.
    ctx.user = user;
    ctx.tenant = tenant;
  };
}

/**
 * Step (edge): a direct-only tenant's policy forbids any traffic through a global hop.
 *
 * @example
 * ```ts ignore
 * refuseDirectOnly({ us: "https://us.omnisql.example" })
 * ```
 */
export function refuseDirectOnly(zoneUrls: Record<string, string>): Step {
  return function refuseDirectOnlyTenant(ctx) {
    assertNotDirectOnly(ctx.tenant!, zoneUrls);
  };
}

/**
 * Throws `ENTITLEMENT_DENIED` naming the zone endpoint to use when the tenant is direct-only
 * (the edge's job routes ask it too).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { assertNotDirectOnly } from "./steps.ts";
 * const tenant = { id: "globex", name: "G", zone: "eu", directOnly: true, settings: {},
 *   createdAt: new Date(0) };
 * assert.throws(() => assertNotDirectOnly(tenant, { eu: "https://eu.example" }), /direct-only/);
 * ```
 */
export function assertNotDirectOnly(tenant: TenantRow, zoneUrls: Record<string, string>): void {
  if (!tenant.directOnly) return;
  const endpoint = zoneUrls[tenant.zone];
  throw new OmniError(
    "ENTITLEMENT_DENIED",
    `tenant ${tenant.id} is direct-only: send its queries to the ${tenant.zone} zone endpoint` +
      (endpoint ? ` ${endpoint}/v1/query` : ""),
    { details: { zone: tenant.zone, endpoint_url: endpoint ?? null } },
  );
}

/**
 * Step (zone): another zone's tenant is refused before anything is spent or run.
 *
 * @example
 * ```ts ignore
 * admitZone(service)
 * ```
 */
export function admitZone(service: Pick<QueryService, "admitTenant">): Step {
  return function admitZoneTenant(ctx) {
    service.admitTenant(ctx.tenant!);
  };
}

/**
 * Step: reads and validates the body; its `metadata.trace_id`, when given, becomes the trace id.
 *
 * @example
 * ```ts ignore
 * parseRequest()
 * ```
 */
export function parseRequest(): Step {
  return async function parseQueryBody(ctx) {
    const { body } = ctx.input;
    const request = parseQueryRequest(typeof body === "function" ? await body() : body);
    if (request.metadata.trace_id) ctx.traceId = request.metadata.trace_id;
    ctx.request = request;
  };
}

/** Options of {@link spendBudgets}. */
export interface SpendBudgetsOptions {
  limiter: RateLimiter;
  /** The tenant's budgets. @default DEFAULT_BUDGETS */
  budgetsOf?(tenant: TenantRow): EdgeBudgets;
}

/**
 * Step: every query spends one request of the user's, the tenant's and the deployment's
 * budgets; a spent one is a 429 naming its level.
 *
 * @example
 * ```ts ignore
 * spendBudgets({ limiter, budgetsOf: (t) => edgeBudgetsOf(t.settings) })
 * ```
 */
export function spendBudgets(options: SpendBudgetsOptions): Step {
  return async function spendCallerBudgets(ctx) {
    const budgets = options.budgetsOf?.(ctx.tenant!) ?? DEFAULT_BUDGETS;
    ctx.budget = await spendEdgeBudgets(options.limiter, ctx.user!.tenant, ctx.user!.sub, budgets);
  };
}

/**
 * Step (zone): an async query becomes a job (`202 {job_id, status_url}`), recorded when it runs.
 * With `always`, every query does (the edge's internal job submission).
 *
 * @example
 * ```ts ignore
 * submitJob(jobs)
 * ```
 */
export function submitJob(
  jobs: Pick<JobQueue, "submit">,
  options: { always?: boolean } = {},
): Step {
  return async function submitAsyncJob(ctx) {
    const request = ctx.request!;
    if (!options.always && request.metadata.async !== true) return;
    const submitted = await jobs.submit(ctx.user!, request, ctx.traceId, {
      tenant: ctx.tenant,
      door: ctx.input.door,
    });
    ctx.answer = { status: 202, body: { ...submitted } };
  };
}

/**
 * Sends a request to the tenant's zone worker (`zoneSender` of `src/http/zone_forward.ts`):
 * the worker's status and body (as it was sent, and decoded on demand), and whether its pipeline
 * recorded the query. `budget` is the caller's, which the worker folds into its answer. A zone
 * that cannot be reached throws `REGION_UNAVAILABLE`.
 */
export type ZoneSender = (request: {
  user: UserClaims;
  tenant: TenantRow;
  traceId: string;
  method: string;
  path: string;
  body?: unknown;
  signal?: AbortSignal;
  door?: string;
  budget?: BudgetStatus;
}) => Promise<ZoneAnswer>;

/** A zone worker's answer. */
export interface ZoneAnswer {
  status: number;
  /** The body's JSON text, as the worker sent it. */
  text: string;
  /** The body decoded (null when it is not JSON). */
  body(): unknown;
  recorded: boolean;
}

/**
 * Step (edge): an async query is queued in the tenant's zone, where jobs run.
 *
 * @example
 * ```ts ignore
 * forwardJob(toZone)
 * ```
 */
export function forwardJob(toZone: ZoneSender): Step {
  return async function forwardAsyncJob(ctx) {
    const request = ctx.request!;
    if (request.metadata.async !== true) return;
    const answer = await sendToZone(ctx, toZone, "/internal/v1/jobs");
    ctx.answer = { status: answer.status, body: answer.body() as Record<string, unknown> };
  };
}

/**
 * Last step (zone): runs the query here.
 *
 * @example
 * ```ts ignore
 * execute(service)
 * ```
 */
export function execute(service: Pick<QueryService, "execute">): Step {
  return async function executeHere(ctx) {
    const result = await service.execute({
      user: ctx.user!,
      tenant: ctx.tenant!,
      request: ctx.request!,
      traceId: ctx.traceId,
      signal: ctx.signal,
      delivered: ctx.input.delivered,
    });
    const body = foldBudget({ ...result }, ctx.budget);
    ctx.answer = {
      status: 200,
      body,
      summary: {
        tables: result.sources.map((s) => s.table),
        rows: "rows" in result ? result.rows.length : null,
      },
    };
  };
}

/**
 * Last step (edge): forwards the query to the tenant's zone worker, which runs and records it,
 * with the caller's budget folded in: its answer is relayed as it was sent, not decoded and
 * encoded again.
 *
 * @example
 * ```ts ignore
 * forward(toZone)
 * ```
 */
export function forward(toZone: ZoneSender): Step {
  return async function forwardToZone(ctx) {
    // A query the caller left stops in its zone too, rather than running to its deadline.
    const answer = await sendToZone(ctx, toZone, QUERY_PATH, () => cancelInZone(ctx, toZone));
    ctx.answer = { status: answer.status, body: answer.text };
  };
}

/**
 * How long the edge waits for a zone past the query's own deadline (which the zone enforces: its
 * queue, fetches and engine all count) before it takes the zone for one that cannot serve.
 */
const ZONE_ANSWER_GRACE_MS = 5_000;

/** A zone's route for forwarded queries, and the one that stops them. */
const QUERY_PATH = "/internal/v1/query";
const CANCEL_PATH = "/internal/v1/cancel";

async function sendToZone(
  ctx: QueryContext,
  toZone: ZoneSender,
  path: string,
  onLeft: () => void = () => {},
) {
  const request = ctx.request!;
  const deadlineMs = effectiveTimeoutMs(
    request.metadata.timeout_ms,
    limitsFor(ctx.tenant!.settings),
  );
  const answering = toZone({
    user: ctx.user!,
    tenant: ctx.tenant!,
    traceId: ctx.traceId,
    method: "POST",
    path,
    body: request,
    // Not the caller's signal: the zone's answer says whether it recorded the query, which the
    // pipeline must know even once the caller is gone. The zone's deadline bounds it.
    signal: AbortSignal.timeout(deadlineMs + ZONE_ANSWER_GRACE_MS),
    door: ctx.input.door,
    ...(ctx.budget ? { budget: ctx.budget } : {}),
  });
  const answer = await whileCallerWaits(ctx, answering, onLeft);
  // Whatever the zone answered, refusals included, it has recorded when it says so.
  ctx.recorded = answer.recorded;
  if (answer.status >= 400) throw OmniError.fromBody(answer.body(), answer.status);
  return answer;
}

/** Asks the zone to stop the caller's queries of this trace id; a failure is only logged. */
function cancelInZone(ctx: QueryContext, toZone: ZoneSender): void {
  toZone({
    user: ctx.user!,
    tenant: ctx.tenant!,
    traceId: ctx.traceId,
    method: "POST",
    path: CANCEL_PATH,
    signal: AbortSignal.timeout(ZONE_ANSWER_GRACE_MS),
    door: ctx.input.door,
  }).catch((err) =>
    processLog.warn("cancel not delivered to the zone", {
      trace_id: ctx.traceId,
      error: loggableError(err),
    })
  );
}

/**
 * The zone's answer, unless the caller leaves first (a client that disconnects, a Postgres cancel
 * request): the wait ends then, and whether the zone recorded the query is left for the pipeline
 * to learn once it answers.
 */
function whileCallerWaits(
  ctx: QueryContext,
  answering: Promise<ZoneAnswer>,
  onLeft: () => void,
): Promise<ZoneAnswer> {
  const { signal } = ctx;
  return new Promise((resolve, reject) => {
    const left = () => {
      ctx.recordedLater = answering.then((a) => a.recorded, () => false);
      onLeft();
      reject(
        new OmniError(
          "INVALID_REQUEST",
          "the caller cancelled the query or left before its answer",
        ),
      );
    };
    if (signal.aborted) return left();
    signal.addEventListener("abort", left, { once: true });
    answering.then(resolve, reject).finally(() => signal.removeEventListener("abort", left));
  });
}

/** The caller's budget folded into `rate_limit_status`: the one closer to running out. */
function foldBudget(
  body: Record<string, unknown>,
  caller: BudgetStatus | undefined,
): Record<string, unknown> {
  if (!caller || !("rate_limit_status" in body)) return body;
  const source = body.rate_limit_status as BudgetStatus | undefined;
  // A source that reports none (remaining < 0) loses.
  const tighter = !source || source.remaining < 0 || caller.remaining <= source.remaining
    ? caller
    : source;
  return { ...body, rate_limit_status: tighter };
}
