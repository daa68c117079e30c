/**
 * The worker's half of a query's path: plan, fetch every source in parallel through its
 * connector, load the rows into DuckDB and run the user's SQL there, unchanged.
 *
 * @module
 */
import { OmniError } from "../errors.ts";
import type { ConnectorDef, RateLimitInfo } from "../../connectors/sdk/connector.ts";
import type { Connection } from "../../connectors/sdk/table.ts";
import type { UserClaims } from "../auth/user_token.ts";
import { OPEN_GUARD, type QueryGuard } from "./guard.ts";
import { fetchFromApp, type SourceFetchContext, type SourceFetcher } from "./source_fetch.ts";
import { parseQuery } from "../sql/parse.ts";
import { planQuery, type PushdownSummary, summarisePlan } from "../sql/plan.ts";
import type { DuckEngine } from "../duckdb/engine.ts";
import type { QueryRequest } from "./request.ts";

/** Rate-limit figures shown to the caller. */
export interface RateLimitStatus {
  remaining: number;
  reset_ms: number;
  /** Which budget these figures belong to: `user`, `tenant` or a source. */
  level?: string;
}

/** What each source contributed. */
export interface SourceReport {
  table: string;
  rows: number;
  pages: number;
  calls: number;
  from_cache: boolean;
  freshness_ms: number;
  fetch_ms: number;
  pushdown: PushdownSummary;
}

/** The 200 answer of `POST /v1/query`. */
export interface QueryResponse {
  columns: string[];
  rows: Record<string, unknown>[];
  freshness_ms: number;
  from_cache: boolean;
  rate_limit_status: RateLimitStatus;
  trace_id: string;
  region: string;
  truncated: boolean;
  /** Present (true) when some source's data is older than `max_staleness_ms` (`allow_stale`). */
  stale?: boolean;
  timing: {
    total_ms: number;
    planning_ms: number;
    fetch_ms: number;
    security_ms: number;
    duckdb_ms: number;
  };
  sources: SourceReport[];
}

/** The answer to `EXPLAIN <query>`: the plan, nothing fetched. */
export interface ExplainResponse {
  explain: true;
  trace_id: string;
  region: string;
  sql: string;
  sources: { table: string; pushdown: PushdownSummary; offered_columns: string[] }[];
}

/** What the executor needs. */
export interface ExecuteDeps {
  engine: DuckEngine;
  connectors: Record<string, ConnectorDef>;
  /** Used for every call to the apps (tests inject one). @default globalThis.fetch */
  fetch?: typeof fetch;
  /** How each source is fetched (caches, breakers, budgets around the app). @default fetchFromApp */
  fetchSource?: SourceFetcher;
}

/** Who runs the query and where. */
export interface ExecuteContext {
  tenantId: string;
  user: UserClaims;
  connections: Connection[];
  traceId: string;
  zone: string;
  /** What the user may read. @default OPEN_GUARD */
  guard?: QueryGuard;
  /** Aborted when the query's deadline passes or the caller goes away. */
  signal?: AbortSignal;
}

/** Default deadline of a query. */
export const DEFAULT_TIMEOUT_MS = 30_000;

/**
 * Runs a validated query request for a tenant.
 *
 * @example
 * ```ts ignore
 * const res = await executeQuery(request, { connections, traceId, zone: "us" }, { engine, connectors });
 * ```
 */
export async function executeQuery(
  request: QueryRequest,
  ctx: ExecuteContext,
  deps: ExecuteDeps,
): Promise<QueryResponse | ExplainResponse> {
  const started = performance.now();
  const guard = ctx.guard ?? OPEN_GUARD;
  const parsed = parseQuery(request.sql);
  const plan = planQuery(parsed, ctx.connections, deps.connectors, {
    rowFilters: (key) => guard.rowFilters(key),
  });
  guard.check(plan.sources.map((s) => ({ key: s.key, columns: s.offer.columns })));
  const planningMs = performance.now() - started;

  if (parsed.explain) {
    return {
      explain: true,
      trace_id: ctx.traceId,
      region: ctx.zone,
      sql: parsed.sql,
      sources: plan.sources.map((s) => ({
        table: s.key,
        pushdown: summarisePlan(s.plan),
        offered_columns: s.offer.columns,
      })),
    };
  }

  const timeoutMs = request.metadata.timeout_ms ?? DEFAULT_TIMEOUT_MS;
  const deadline = AbortSignal.timeout(timeoutMs);
  const signal = ctx.signal ? AbortSignal.any([ctx.signal, deadline]) : deadline;
  const fetchSource = deps.fetchSource ?? fetchFromApp;
  const fetchCtx: SourceFetchContext = {
    tenantId: ctx.tenantId,
    user: ctx.user,
    traceId: ctx.traceId,
    zone: ctx.zone,
    metadata: request.metadata,
    signal,
    fetch: deps.fetch,
  };
  const fetchStarted = performance.now();
  const scans = await Promise.all(plan.sources.map(async (source) => {
    const t0 = performance.now();
    try {
      const result = await fetchSource(source, fetchCtx);
      return { source, result, ms: performance.now() - t0 };
    } catch (err) {
      if (err instanceof OmniError && err.code === "SOURCE_TIMEOUT") {
        throw new OmniError(
          "SOURCE_TIMEOUT",
          `${source.key} did not answer within ${timeoutMs} ms`,
          {
            details: { source: source.key, timeout_ms: timeoutMs },
          },
        );
      }
      throw err;
    }
  }));
  const fetchMs = performance.now() - fetchStarted;

  const securityStarted = performance.now();
  const secured = await Promise.all(
    scans.map(({ source, result }) => guard.apply(source.key, result.rows)),
  );
  const securityMs = performance.now() - securityStarted;

  const duckStarted = performance.now();
  const result = await deps.engine.run({
    sql: parsed.sql,
    tables: scans.map(({ source }, i) => ({
      schema: source.schema,
      name: source.table.name,
      columns: source.table.columns,
      rows: secured[i],
    })),
  });
  const duckMs = performance.now() - duckStarted;
  const now = Date.now();
  const oldest = Math.min(now, ...scans.map(({ result }) => result.fetchedAt));

  return {
    columns: result.columns,
    rows: result.rows,
    freshness_ms: now - oldest,
    from_cache: scans.length > 0 && scans.every(({ result }) => result.fromCache),
    ...(scans.some(({ result }) => result.stale) ? { stale: true } : {}),
    rate_limit_status: tightestSourceBudget(
      scans.map((s) => ({ key: s.source.key, info: s.result.rateLimit })),
    ),
    trace_id: ctx.traceId,
    region: ctx.zone,
    truncated: result.truncated,
    timing: {
      total_ms: round(performance.now() - started),
      planning_ms: round(planningMs),
      fetch_ms: round(fetchMs),
      security_ms: round(securityMs),
      duckdb_ms: round(duckMs),
    },
    sources: scans.map(({ source, result, ms }) => ({
      table: source.key,
      rows: result.rows.length,
      pages: result.pages,
      calls: result.calls,
      from_cache: result.fromCache,
      freshness_ms: now - result.fetchedAt,
      fetch_ms: round(ms),
      pushdown: summarisePlan(result.plan),
    })),
  };
}

/** The source budget closest to running out, as the caller sees it. */
function tightestSourceBudget(
  budgets: { key: string; info?: RateLimitInfo }[],
): RateLimitStatus {
  let best: RateLimitStatus | undefined;
  for (const { key, info } of budgets) {
    if (info?.remaining === undefined) continue;
    if (!best || info.remaining < best.remaining) {
      const reset = info.resetAt ? Math.max(0, info.resetAt - Date.now()) : 0;
      best = { remaining: info.remaining, reset_ms: reset, level: `source:${key}` };
    }
  }
  return best ?? { remaining: -1, reset_ms: 0 };
}

function round(ms: number): number {
  return Math.round(ms * 10) / 10;
}
