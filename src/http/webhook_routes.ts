/**
 * `POST /v1/webhooks/{tenant}/{connection}`: the apps' webhooks. The zone's worker verifies and
 * applies them ({@link WebhookReceiver}); the edge forwards them, raw body and the apps' headers
 * unchanged, to the worker of the tenant's zone. Neither asks for a bearer token: the app's
 * signature is the authentication. Bodies above the cap are refused with 413 before they are
 * read whole, each door holds at most a {@link BodyIntake}'s bytes of bodies at once (429,
 * `details.level = "intake"`, unread), and each zone counts a known tenant's verified deliveries
 * per connection against {@link WEBHOOK_BUDGET} (429, `details.level = "webhook"`), so a flood of
 * forged requests can make neither door hold unbounded memory nor do unbounded work.
 *
 * @module
 */
import type { Context, Handler } from "hono";
import type { Catalog } from "../catalog/store.ts";
import { OmniError } from "../errors.ts";
import type { WebhookReceiver } from "../webhooks/receiver.ts";
import type { Budget, RateLimiter } from "../ratelimit/mod.ts";
import type { AppEnv } from "./env.ts";
import { readBody } from "./json_body.ts";
import { processLog } from "../telemetry/log.ts";
import { BodyIntake, declaredBodyBytes } from "./body_intake.ts";

/** Largest webhook body accepted, bytes (GitHub's pull-request payloads are well below). */
export const MAX_WEBHOOK_BYTES = 1_000_000;

const NOT_VERIFIED = "the webhook's signature does not verify for this endpoint";

/**
 * A zone answers a refused delivery no sooner than this after its body was read. What a refusal
 * costs differs with what exists (an unknown connection is refused before any signature is
 * checked; a known one's after a catalog read and a decryption), and a caller without the secret
 * must not learn from the time which tenants and connections exist. A timer, not work: a waiting
 * refusal costs a socket, and the flood guard is unaffected.
 */
export const REFUSAL_FLOOR_MS = 250;

/**
 * The edge's floor for a refusal: the zone's and room for the hop to it and back, so that a
 * tenant the edge refuses itself (unknown, direct-only) and one its zone refuses take the same
 * time.
 */
export const EDGE_REFUSAL_FLOOR_MS = REFUSAL_FLOOR_MS + 100;

/** Headers the apps sign or identify deliveries with: the only ones the edge passes on. */
const FORWARDED =
  /^(content-type|x-hub-signature(-256)?|x-github-[\w-]+|linear-[\w-]+|x-atlassian-webhook-[\w-]+)$/i;

/**
 * Reads a request body of at most `maxBytes` (413 `PAYLOAD_TOO_LARGE` as soon as it is larger),
 * sent within the body timeout (`BODY_TIMEOUT_MS` of `json_body.ts`).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { readRawBody } from "./webhook_routes.ts";
 * const body = await readRawBody(new Request("http://x", { method: "POST", body: "{}" }), 10);
 * assert.equal(body.length, 2);
 * await assert.rejects(readRawBody(new Request("http://x", { method: "POST", body: "x".repeat(11) }), 10));
 * ```
 */
export async function readRawBody(
  req: Request,
  maxBytes: number,
  onChunk?: (bytes: number) => void,
): Promise<Uint8Array<ArrayBuffer>> {
  return await readBody(req, {
    maxBytes,
    onChunk,
    tooLarge: () =>
      new OmniError("PAYLOAD_TOO_LARGE", `the body exceeds ${maxBytes} bytes`, {
        details: { max_bytes: maxBytes },
      }),
  });
}

/**
 * The worker's webhook route.
 *
 * @example
 * ```ts ignore
 * app.post("/v1/webhooks/:tenant/:connection", receiveWebhook(receiver, { limiter }));
 * ```
 */
export function receiveWebhook(
  receiver: WebhookReceiver,
  options: {
    limiter: RateLimiter;
    maxBytes?: number;
    /** @default {@link REFUSAL_FLOOR_MS} */
    refusalFloorMs?: number;
    /** @default a {@link BodyIntake} of its own, of the default capacity */
    intake?: BodyIntake;
  },
): Handler<AppEnv> {
  const maxBytes = options.maxBytes ?? MAX_WEBHOOK_BYTES;
  const floorMs = options.refusalFloorMs ?? REFUSAL_FLOOR_MS;
  const intake = options.intake ?? new BodyIntake();
  return async function webhookRoute(c) {
    const outcome = await withinIntake(intake, c.req.raw, maxBytes, async (body) => {
      const tenantId = c.req.param("tenant") ?? "";
      const connection = c.req.param("connection") ?? "";
      return await refusedNoSooner(floorMs, () =>
        receiver.receive({
          tenantId,
          connection,
          headers: c.req.raw.headers,
          body,
          traceId: c.get("traceId"),
          admit: () => spendWebhook(options.limiter, tenantId, connection),
        }));
    });
    return c.json({ ...outcome, trace_id: c.get("traceId") });
  };
}

/**
 * Reads the request's body within `intake` (refused unread when its declared size cannot fit,
 * cut off once the room is taken) and runs `answer` on it, holding the body's room until the
 * answer, refusal floor included: a forged body's memory is held until then, and the floor bounds
 * how many forged bodies a door reads per second.
 */
async function withinIntake<T>(
  intake: BodyIntake,
  req: Request,
  maxBytes: number,
  answer: (body: Uint8Array) => Promise<T>,
): Promise<T> {
  const hold = intake.open(declaredBodyBytes(req, maxBytes));
  try {
    return await answer(await readRawBody(req, maxBytes, hold.take));
  } finally {
    hold.release();
  }
}

/** Runs `answer`; if it refuses the caller (`UNAUTHENTICATED`), not before `floorMs` from now. */
async function refusedNoSooner<T>(floorMs: number, answer: () => Promise<T>): Promise<T> {
  const until = performance.now() + floorMs;
  try {
    return await answer();
  } catch (err) {
    const wait = until - performance.now();
    if (err instanceof OmniError && err.code === "UNAUTHENTICATED" && wait > 0) {
      await new Promise((resolve) => setTimeout(resolve, wait));
    }
    throw err;
  }
}

/** Webhooks a tenant's connection may deliver per window before 429 (a flood guard). */
export const WEBHOOK_BUDGET: Budget = { tokens: 600, windowMs: 60_000 };

/** Options of {@link forwardWebhook}. */
export interface ForwardWebhookOptions {
  catalog: Catalog;
  /** Base URL of each zone's worker. */
  zoneUrls: Record<string, string>;
  /** @default globalThis.fetch */
  fetch?: typeof fetch;
  /** @default {@link EDGE_REFUSAL_FLOOR_MS} */
  refusalFloorMs?: number;
  /** @default a {@link BodyIntake} of its own, of the default capacity */
  intake?: BodyIntake;
}

/** Spends one verified delivery of a connection; 429 level `webhook` when spent. */
async function spendWebhook(limiter: RateLimiter, tenant: string, connection: string) {
  const result = await limiter.limit(`webhook:${tenant}:${connection}`, WEBHOOK_BUDGET);
  if (!result.success) {
    const waitMs = Math.max(0, result.reset - Date.now());
    throw new OmniError(
      "RATE_LIMIT_EXHAUSTED",
      `this connection's webhook budget of ${WEBHOOK_BUDGET.tokens} deliveries per ` +
        `${WEBHOOK_BUDGET.windowMs / 1000} s is spent; the app should redeliver in ` +
        `${Math.ceil(waitMs / 1000)} s`,
      {
        retryAfterMs: waitMs,
        details: {
          level: "webhook",
          limit: WEBHOOK_BUDGET.tokens,
          window_ms: WEBHOOK_BUDGET.windowMs,
        },
      },
    );
  }
}

/**
 * The edge's webhook route: forwards to the worker of the tenant's zone. An unknown tenant, a
 * direct-only one (its webhooks go to its zone's endpoint) and one whose zone has no worker are
 * refused like a bad signature, and no sooner ({@link EDGE_REFUSAL_FLOOR_MS}): an
 * unauthenticated caller learns nothing from the answer nor from its time.
 *
 * @example
 * ```ts ignore
 * app.post("/v1/webhooks/:tenant/:connection", forwardWebhook({ catalog, zoneUrls }));
 * ```
 */
export function forwardWebhook(
  options: ForwardWebhookOptions,
  maxBytes = MAX_WEBHOOK_BYTES,
): Handler<AppEnv> {
  const send = options.fetch ?? globalThis.fetch;
  const intake = options.intake ?? new BodyIntake();
  return async function forwardWebhookRoute(c: Context<AppEnv>) {
    const answer = await withinIntake(
      intake,
      c.req.raw,
      maxBytes,
      (body) =>
        refusedNoSooner(
          options.refusalFloorMs ?? EDGE_REFUSAL_FLOOR_MS,
          () => forwardToZone(c, body),
        ),
    );
    return c.json(answer);
  };

  async function forwardToZone(c: Context<AppEnv>, body: Uint8Array): Promise<unknown> {
    const tenantId = c.req.param("tenant") ?? "";
    const tenant = await options.catalog.getTenant(tenantId);
    // The flood guard is spent in the zone, once the signature verifies.
    const workerUrl = tenant && options.zoneUrls[tenant.zone];
    if (!tenant || tenant.directOnly || !workerUrl) {
      // Only the zone can check the signature, so the caller is not yet known: it is told nothing
      // about the tenant (that it exists, is direct-only, or where it lives). The operator is.
      if (tenant) {
        processLog.info("webhook refused at the edge", {
          tenant: tenant.id,
          zone: tenant.zone,
          reason: tenant.directOnly ? "direct-only: use the zone's endpoint" : "no worker for zone",
        });
      }
      throw new OmniError("UNAUTHENTICATED", NOT_VERIFIED);
    }
    const headers = new Headers({ "x-trace-id": c.get("traceId") });
    for (const [name, value] of c.req.raw.headers) {
      if (FORWARDED.test(name)) headers.set(name, value);
    }
    const path = `/v1/webhooks/${encodeURIComponent(tenant.id)}/${
      encodeURIComponent(c.req.param("connection") ?? "")
    }`;
    let res: Response;
    try {
      res = await send(new URL(path, workerUrl), {
        method: "POST",
        headers,
        body: body as BodyInit,
      });
    } catch (cause) {
      throw new OmniError("REGION_UNAVAILABLE", `zone ${tenant.zone} cannot serve now`, {
        retryAfterMs: 5_000,
        details: { zone: tenant.zone },
        cause,
      });
    }
    const answer = await res.json().catch(() => null);
    if (!res.ok) {
      const refusal = OmniError.fromBody(answer, res.status);
      // A zone's intake can be filled through its own endpoint: passed on, its 429 would tell
      // which tenants exist and live there. Only the edge's own intake is answered as such.
      if (refusal.details?.level === "intake") {
        processLog.warn("webhook refused at the edge", {
          tenant: tenant.id,
          zone: tenant.zone,
          reason: "the zone's intake is full",
        });
        throw new OmniError("UNAUTHENTICATED", NOT_VERIFIED);
      }
      throw refusal;
    }
    return answer;
  }
}
