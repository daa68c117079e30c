/**
 * Auditing what a query route answers by itself. A query that reaches a zone's query service is
 * audited there; one answered before that — refused by a budget, a bad body, a direct-only rule,
 * an unreachable zone, or served from the result cache — is audited here, so every query is on
 * record. A cached answer whose audit record cannot be written is withheld.
 *
 * @module
 */
import type { MiddlewareHandler } from "hono";
import type { AuditRecord } from "../catalog/audit.ts";
import { toOmniError } from "../errors.ts";
import { auditWithheld, logAuditFailure } from "../query/service.ts";
import type { AppEnv } from "./env.ts";
import { errorResponse } from "./errors.ts";
import { requestDoor } from "./door.ts";

/** Options of {@link auditOutcome}. */
export interface AuditOutcomeOptions {
  /** Appends one audit record. */
  append(record: AuditRecord): Promise<unknown>;
  /** The zone recorded for a tenant's query (the tenant's residency zone). */
  zoneOf(tenantId: string): Promise<string | undefined> | string | undefined;
}

/**
 * Middleware, first on an authenticated query route, that audits the answers no query service
 * audited.
 *
 * @example
 * ```ts ignore
 * app.post("/v1/query", auditOutcome({ append: (r) => catalog.appendAudit(r), zoneOf }), ...);
 * ```
 */
export function auditOutcome(options: AuditOutcomeOptions): MiddlewareHandler<AppEnv> {
  return async function auditOutcomeMiddleware(c, next) {
    await next();
    // 202: an async job, audited by the query service when it runs.
    if (c.get("audited") || c.res.status === 202) return;
    const user = c.get("user");
    const ok = c.res.status < 400;
    const summary = c.get("answerSummary");
    const code = ok ? null : c.error ? toOmniError(c.error).code : await errorCodeOf(c.res);
    try {
      await options.append({
        tenantId: user.tenant,
        userEmail: user.sub,
        zone: (await options.zoneOf(user.tenant)) ?? "unknown",
        traceId: c.get("traceId"),
        sql: c.get("query")?.sql ?? "",
        tables: summary?.tables ?? [],
        rows: ok ? summary?.rows ?? null : null,
        status: c.res.status,
        errorCode: code,
        kind: "query",
        door: requestDoor(c),
      });
    } catch (err) {
      if (ok) c.res = errorResponse(c, auditWithheld(c.get("traceId"), err));
      else logAuditFailure(c.get("traceId"), err);
    }
  };
}

async function errorCodeOf(res: Response): Promise<string | null> {
  const body = await res.clone().json().catch(() => null) as { error?: { code?: string } } | null;
  return body?.error?.code ?? null;
}
