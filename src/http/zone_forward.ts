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
import { AUDITED_HEADER } from "./query_route.ts";
import type { Door } from "./door.ts";

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
  /** The door the request came in by, vouched for in the context token. @default "http" */
  door?: Door;
  /** Called when the worker's answer says its query service audited the request. */
  delivered?: () => void;
}

/**
 * Builds a forwarder to the tenants' zone workers.
 *
 * @example
 * ```ts ignore
 * const toZone = zoneForwarder({ catalog, contextTokens, zoneUrls });
 * const { status, body } = await toZone({ user, traceId, method: "POST", path: "/internal/v1/query", body });
 * ```
 */
export function zoneForwarder(
  options: ZoneForwardOptions,
): (request: ZoneRequest) => Promise<{ status: number; body: unknown }> {
  const send = options.fetch ?? globalThis.fetch;
  return async function forwardToZone(request) {
    const { user } = request;
    const tenant = await options.catalog.getTenant(user.tenant);
    if (!tenant) throw new OmniError("UNAUTHENTICATED", `unknown tenant ${user.tenant}`);
    const workerUrl = options.zoneUrls[tenant.zone];
    if (!workerUrl) {
      throw new OmniError("REGION_UNAVAILABLE", `zone ${tenant.zone} has no worker configured`, {
        details: { zone: tenant.zone },
      });
    }
    const context = await options.contextTokens.sign({
      user,
      zone: tenant.zone,
      traceId: request.traceId,
      door: request.door,
    });
    let res: Response;
    try {
      res = await send(new URL(request.path, workerUrl), {
        method: request.method,
        headers: { "content-type": "application/json", [CONTEXT_HEADER]: context },
        body: request.body === undefined ? undefined : JSON.stringify(request.body),
        signal: request.signal,
      });
    } catch (err) {
      throw new OmniError("REGION_UNAVAILABLE", `zone ${tenant.zone} cannot serve now`, {
        retryAfterMs: 5_000,
        details: { zone: tenant.zone },
        cause: err,
      });
    }
    // Only an answer the worker's query service produced is on record already.
    if (res.headers.get(AUDITED_HEADER) === "1") request.delivered?.();
    const body = await res.json().catch(() => null);
    if (!res.ok) throw OmniError.fromBody(body, res.status);
    return { status: res.status, body };
  };
}
