/**
 * A zone's query service: everything a worker does for one query, whichever door it came in
 * by (forwarded by the edge, or the zone's own endpoint). It refuses tenants of other zones,
 * builds the user's guard, runs the query and audits it — success or failure. A query whose
 * audit record cannot be written fails rather than returning data.
 *
 * @module
 */
import type { ConnectorDef } from "../../connectors/sdk/connector.ts";
import type { UserClaims } from "../auth/user_token.ts";
import type { Catalog } from "../catalog/store.ts";
import type { AuditRecord } from "../catalog/audit.ts";
import type { TenantRow } from "../catalog/schema.ts";
import type { QueryEngine } from "../duckdb/engine.ts";
import { OmniError, toOmniError } from "../errors.ts";
import { executeQuery, type ExplainResponse, type QueryResponse } from "./execute.ts";
import { OPEN_GUARD, type SecurityProvider } from "./guard.ts";
import { withPassthrough } from "../policy/passthrough.ts";
import type { QueryRequest } from "./request.ts";
import { composeSourceFetch, type SourceMiddleware } from "./source_fetch.ts";
import { DEFAULT_LIMITS, limitsFor, type QueryLimits } from "./limits.ts";
import { processLog } from "../telemetry/log.ts";

/** What a query service is built from. */
export interface QueryServiceOptions {
  zone: string;
  catalog: Catalog;
  engine: QueryEngine;
  connectors: Record<string, ConnectorDef>;
  /** Middleware around every source fetch, outermost first. @default [] */
  sourceMiddleware?: SourceMiddleware[];
  /** Input limits before each tenant's settings apply. @default DEFAULT_LIMITS */
  limits?: QueryLimits;
  /** Entitlements per user. @default everything readable */
  security?: SecurityProvider;
  /** Used for calls to the apps. @default globalThis.fetch */
  fetch?: typeof fetch;
  /**
   * Where query records go (`zoneAuditAppender` of `src/catalog/zone_audit.ts` keeps the SQL
   * text in the zone's own store). @default the catalog's chain, SQL text included
   */
  appendAudit?: (record: AuditRecord) => Promise<unknown>;
}

/** One query to run. */
export interface QueryInput {
  user: UserClaims;
  request: QueryRequest;
  traceId: string;
  signal?: AbortSignal;
  /** The door the query came in by, for its audit record. @default "http" */
  door?: "http" | "pg" | "mcp";
}

/**
 * Runs queries for the tenants of one zone.
 *
 * @example
 * ```ts ignore
 * const service = new QueryService({ zone: "us", catalog, engine, connectors: CONNECTORS });
 * const result = await service.run({ user, request: { sql, metadata: {} }, traceId });
 * ```
 */
export class QueryService {
  readonly zone: string;
  readonly #options: QueryServiceOptions;
  readonly #fetchSource;

  constructor(options: QueryServiceOptions) {
    this.zone = options.zone;
    this.#options = options;
    this.#fetchSource = composeSourceFetch(options.sourceMiddleware ?? []);
  }

  /** Throws unless the tenant exists and is pinned to this zone; returns its id. */
  async admit(user: UserClaims): Promise<string> {
    return (await this.#admitTenant(user)).id;
  }

  async #admitTenant(user: UserClaims): Promise<TenantRow> {
    const tenant = await this.#options.catalog.getTenant(user.tenant);
    if (!tenant) throw new OmniError("UNAUTHENTICATED", `unknown tenant ${user.tenant}`);
    if (tenant.zone !== this.zone) {
      // Residency: never execute another zone's tenant, never fall back.
      throw new OmniError(
        "ENTITLEMENT_DENIED",
        `tenant ${tenant.id} is pinned to zone ${tenant.zone}; this endpoint serves zone ${this.zone}`,
        { details: { tenant_zone: tenant.zone, endpoint_zone: this.zone } },
      );
    }
    return tenant;
  }

  /** Runs one query and audits it. */
  async run(input: QueryInput): Promise<QueryResponse | ExplainResponse> {
    const { catalog } = this.#options;
    const audit = (
      tenantId: string,
      fields: { tables: string[]; rows: number | null; status: number; errorCode: string | null },
    ) =>
      (this.#options.appendAudit ?? ((r: AuditRecord) => catalog.appendAudit(r)))({
        tenantId,
        userEmail: input.user.sub,
        zone: this.zone,
        traceId: input.traceId,
        sql: input.request.sql,
        kind: "query",
        door: input.door ?? "http",
        ...fields,
      });

    let tenant;
    try {
      tenant = await this.#admitTenant(input.user);
    } catch (err) {
      // A refused attempt on a known tenant is on record too.
      const error = toOmniError(err);
      if (error.code === "ENTITLEMENT_DENIED") {
        await audit(input.user.tenant, {
          tables: [],
          rows: null,
          status: error.status,
          errorCode: error.code,
        }).catch((auditErr) => logAuditFailure(input.traceId, auditErr));
      }
      throw error;
    }
    const tenantId = tenant.id;

    let result: QueryResponse | ExplainResponse;
    try {
      const [connections, guard] = await Promise.all([
        catalog.listConnections(tenantId),
        this.#options.security?.guardFor(tenantId, input.user) ?? OPEN_GUARD,
      ]);
      result = await executeQuery(input.request, {
        tenantId,
        user: input.user,
        connections: withPassthrough(connections, input.user),
        traceId: input.traceId,
        zone: this.zone,
        guard,
        signal: input.signal,
        limits: limitsFor(tenant.settings, this.#options.limits ?? DEFAULT_LIMITS),
      }, {
        engine: this.#options.engine,
        connectors: this.#options.connectors,
        fetch: this.#options.fetch,
        fetchSource: this.#fetchSource,
      });
    } catch (err) {
      const error = toOmniError(err);
      await audit(tenantId, { tables: [], rows: null, status: error.status, errorCode: error.code })
        .catch(
          (auditErr) => logAuditFailure(input.traceId, auditErr),
        );
      throw error;
    }
    try {
      await audit(tenantId, {
        tables: result.sources.map((s) => s.table),
        rows: "rows" in result ? result.rows.length : null,
        status: 200,
        errorCode: null,
      });
    } catch (err) {
      throw auditWithheld(input.traceId, err);
    }
    return result;
  }
}

/**
 * The error that withholds an answer whose audit record could not be written (and logs why).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { auditWithheld } from "./service.ts";
 * assert.ok(auditWithheld("t", new Error("db down")).code === "INTERNAL");
 * ```
 */
export function auditWithheld(traceId: string, cause: unknown): OmniError {
  logAuditFailure(traceId, cause);
  return new OmniError("INTERNAL", "the query could not be audited, so its result is withheld", {
    cause,
  });
}

/**
 * Logs an audit record that could not be written.
 *
 * @example
 * ```ts ignore
 * await audit(record).catch((err) => logAuditFailure(traceId, err));
 * ```
 */
export function logAuditFailure(traceId: string, err: unknown): void {
  processLog.error("audit write failed", { trace_id: traceId, error: String(err) });
}
