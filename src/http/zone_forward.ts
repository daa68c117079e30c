/**
 * Sending a request on to the worker of the tenant's residency zone, with the context token the
 * edge signs. A zone that has no worker or cannot answer is `REGION_UNAVAILABLE` — never another
 * zone; a worker's error answer is rebuilt as the same error.
 *
 * @module
 */
import { CONTEXT_HEADER, type ContextTokens } from "../auth/context_token.ts";
import type { UserClaims } from "../auth/user_token.ts";
import type { Catalog } from "../catalog/store.ts";
import { OmniError } from "../errors.ts";
import type { ZoneSender } from "../pipeline/steps.ts";

/**
 * Set on a worker's answer to a forwarded query once its pipeline has the query on record, so
 * the edge does not record it again (and does record what never reached a worker).
 */
export const AUDITED_HEADER = "x-omnisql-audited";

/** What forwarding needs. */
export interface ZoneForwardOptions {
  catalog: Catalog;
  contextTokens: ContextTokens;
  /** Base URL of each zone's worker. */
  zoneUrls: Record<string, string>;
  /** @default globalThis.fetch */
  fetch?: typeof fetch;
}

/** One request to forward. */
export interface ZoneRequest {
  user: UserClaims;
  traceId: string;
  method: string;
  /** The worker's internal path, e.g. `/internal/v1/query`. */
  path: string;
  body?: unknown;
  signal?: AbortSignal;
}

/**
 * Builds the sender the edge's pipeline forwards with: the worker's status and body (errors
 * included), and whether the worker recorded the query.
 *
 * @example
 * ```ts ignore
 * const toZone = zoneSender({ contextTokens, zoneUrls });
 * const { status, text, recorded } = await toZone({ user, tenant, traceId, method: "POST",
 *   path: "/internal/v1/query", body: request });
 * ```
 */
export function zoneSender(options: Omit<ZoneForwardOptions, "catalog">): ZoneSender {
  const send = options.fetch ?? globalThis.fetch;
  return async function sendToZone(request) {
    const { tenant } = request;
    const workerUrl = options.zoneUrls[tenant.zone];
    if (!workerUrl) {
      throw new OmniError("REGION_UNAVAILABLE", `zone ${tenant.zone} has no worker configured`, {
        details: { zone: tenant.zone },
      });
    }
    const url = new URL(request.path, workerUrl);
    const sent = request.body === undefined ? undefined : JSON.stringify(request.body);
    // The token is good for this request only: its method, path and body.
    const context = await options.contextTokens.sign({
      user: request.user,
      zone: tenant.zone,
      traceId: request.traceId,
      door: request.door,
      ...(request.budget ? { budget: request.budget } : {}),
    }, { method: request.method, path: url.pathname, body: sent });
    let res: Response;
    try {
      res = await send(url, {
        method: request.method,
        headers: { "content-type": "application/json", [CONTEXT_HEADER]: context },
        body: sent,
        signal: request.signal,
      });
    } catch (err) {
      throw new OmniError("REGION_UNAVAILABLE", `zone ${tenant.zone} cannot serve now`, {
        retryAfterMs: 5_000,
        details: { zone: tenant.zone },
        cause: err,
      });
    }
    const text = await res.text().catch(() => "");
    let decoded: { value: unknown } | undefined;
    return {
      status: res.status,
      text,
      body: () => (decoded ??= { value: decodeJson(text) }).value,
      recorded: res.headers.get(AUDITED_HEADER) === "1",
    };
  };
}

/**
 * Builds a forwarder to the tenants' zone workers that throws the worker's errors (the job
 * routes).
 *
 * @example
 * ```ts ignore
 * const toZone = zoneForwarder({ catalog, contextTokens, zoneUrls });
 * const { status, body } = await toZone({ user, traceId, method: "GET", path: "/internal/v1/jobs/1" });
 * ```
 */
export function zoneForwarder(
  options: ZoneForwardOptions,
): (request: ZoneRequest) => Promise<{ status: number; body: unknown }> {
  const send = zoneSender(options);
  return async function forwardToZone(request) {
    const tenant = await options.catalog.getTenant(request.user.tenant);
    if (!tenant) throw new OmniError("UNAUTHENTICATED", `unknown tenant ${request.user.tenant}`);
    const answer = await send({ ...request, tenant });
    if (answer.status >= 400) throw OmniError.fromBody(answer.body(), answer.status);
    return { status: answer.status, body: answer.body() };
  };
}

function decodeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return null;
  }
}
