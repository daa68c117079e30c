/**
 * A zone's query service: what a worker does to run one query — refuse tenants of other zones,
 * build the user's guard, run the query. Requests reach it through the query pipeline
 * (`src/pipeline/`), which admits and audits them; async jobs through {@link QueryService.run},
 * which audits itself and names the entitlements the answer was read under. A query whose audit record cannot be written fails rather than returning
 * data.
 *
 * @module
 */
import type { ConnectorDef } from "../../connectors/sdk/connector.ts";
import type { UserClaims } from "../auth/user_token.ts";
import type { Catalog } from "../catalog/store.ts";
import type { AuditRecord } from "../catalog/audit.ts";
import type { TenantRow } from "../catalog/schema.ts";
import type { QueryEngine } from "../duckdb/engine.ts";
import { loggableError, OmniError, toOmniError } from "../errors.ts";
import { executeQuery, type ExplainResponse, type QueryResponse } from "./execute.ts";
import { OPEN_GUARD, type QueryGuard, type SecurityProvider } from "../policy/guard.ts";
import { withPassthrough } from "../policy/passthrough.ts";
import type { QueryRequest } from "./request.ts";
import { composeSourceFetch, type SourceMiddleware } from "../source/fetch.ts";
import { DEFAULT_LIMITS, limitsFor, type QueryLimits } from "./limits.ts";
import { processLog } from "../telemetry/log.ts";
import type { ParsedQuery } from "../sql/parse.ts";

/** What a query service is built from. */
export interface QueryServiceOptions {
  zone: string;
  catalog: Catalog;
  engine: QueryEngine;
  connectors: Record<string, ConnectorDef>;
  /** Middleware around every source fetch, outermost first. @default [] */
  sourceMiddleware?: SourceMiddleware[];
  /**
   * Starts the reads a tenant's source fetches will make (its cost budgets, its cache's data
   * key), when a query starts, so they overlap planning. @default nothing read ahead
   */
  prefetch?: (tenantId: string) => void;
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
  /** `request.sql` as the door parsed it, when it did: it is not parsed again. */
  parsed?: ParsedQuery;
  /** The door the query came in by, for its audit record (`run`). */
  door?: string;
  /** Settles once the answer has left the process (`ExecuteContext.delivered`). */
  delivered?: Promise<void>;
}

/**
 * An answer of {@link QueryService.run}, with the entitlements it was read under.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import type { GuardedAnswer } from "./service.ts";
 * const answer: Pick<GuardedAnswer, "entitlements"> = { entitlements: "open" };
 * assert.equal(answer.entitlements, "open");
 * ```
 */
export interface GuardedAnswer {
  result: QueryResponse | ExplainResponse;
  /** The fingerprint of the guard the query ran under (`QueryGuard.fingerprint`). */
  entitlements: string;
}

/**
 * Runs queries for the tenants of one zone.
 *
 * @example
 * ```ts ignore
 * const service = new QueryService({ zone: "us", catalog, engine, connectors: CONNECTORS });
 * const { result } = await service.run({ user, request: { sql, metadata: {} }, traceId });
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
    this.admitTenant(tenant);
    return tenant;
  }

  /** Throws `ENTITLEMENT_DENIED` unless the tenant is pinned to this zone. */
  admitTenant(tenant: TenantRow): void {
    if (tenant.zone !== this.zone) {
      // Residency: never execute another zone's tenant, never fall back.
      throw new OmniError(
        "ENTITLEMENT_DENIED",
        `tenant ${tenant.id} is pinned to zone ${tenant.zone}; this endpoint serves zone ${this.zone}`,
        { details: { tenant_zone: tenant.zone, endpoint_zone: this.zone } },
      );
    }
  }

  /**
   * Runs one query of an admitted tenant (the query pipeline admits and audits it; see
   * `src/pipeline/`).
   */
  async execute(
    input: QueryInput & { tenant: TenantRow },
  ): Promise<QueryResponse | ExplainResponse> {
    return (await this.#execute(input)).result;
  }

  /**
   * The fingerprint of what the user may read in the tenant now: that of the guard a query of
   * theirs would run under. Throws what building that guard throws (a claim the policy refuses,
   * a policy that no longer validates).
   */
  async entitlements(tenantId: string, user: UserClaims): Promise<string> {
    return (await this.#guardFor(tenantId, user)).fingerprint;
  }

  #guardFor(tenantId: string, user: UserClaims): Promise<QueryGuard> {
    return this.#options.security?.guardFor(tenantId, user) ?? Promise.resolve(OPEN_GUARD);
  }

  async #execute(input: QueryInput & { tenant: TenantRow }): Promise<GuardedAnswer> {
    const { catalog } = this.#options;
    const { tenant } = input;
    this.#options.prefetch?.(tenant.id);
    const [connections, guard] = await Promise.all([
      catalog.listConnections(tenant.id),
      this.#guardFor(tenant.id, input.user),
    ]);
    const result = await executeQuery(input.request, {
      tenantId: tenant.id,
      user: input.user,
      connections: withPassthrough(connections, input.user),
      traceId: input.traceId,
      zone: this.zone,
      guard,
      signal: input.signal,
      parsed: input.parsed,
      delivered: input.delivered,
      limits: limitsFor(tenant.settings, this.#options.limits ?? DEFAULT_LIMITS),
    }, {
      engine: this.#options.engine,
      connectors: this.#options.connectors,
      fetch: this.#options.fetch,
      fetchSource: this.#fetchSource,
    });
    return { result, entitlements: guard.fingerprint };
  }

  /**
   * Runs one query and audits it, success or failure: the door of async jobs, which run
   * outside any request. An answer whose record cannot be written is withheld. The answer names
   * the entitlements it was read under, so a stored answer is only handed back under the same.
   */
  async run(input: QueryInput): Promise<GuardedAnswer> {
    const audit = (
      fields: { tables: string[]; rows: number | null; status: number; errorCode: string | null },
    ) =>
      (this.#options.appendAudit ?? ((r: AuditRecord) => this.#options.catalog.appendAudit(r)))({
        tenantId: input.user.tenant,
        userEmail: input.user.sub,
        zone: this.zone,
        traceId: input.traceId,
        sql: input.request.sql,
        kind: "query",
        door: input.door ?? null,
        ...fields,
      });
    let answer: GuardedAnswer;
    try {
      const tenant = await this.#admitTenant(input.user);
      answer = await this.#execute({ ...input, tenant });
    } catch (err) {
      const error = toOmniError(err);
      // An unknown tenant has no chain to record in.
      if (error.code !== "UNAUTHENTICATED") {
        await audit({ tables: [], rows: null, status: error.status, errorCode: error.code })
          .catch((auditErr) => logAuditFailure(input.traceId, auditErr));
      }
      throw error;
    }
    const { result } = answer;
    try {
      await audit({
        tables: result.sources.map((s) => s.table),
        rows: "rows" in result ? result.rows.length : null,
        status: 200,
        errorCode: null,
      });
    } catch (err) {
      throw auditWithheld(input.traceId, err);
    }
    return answer;
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
  processLog.error("audit write failed", { trace_id: traceId, error: loggableError(err) });
}
