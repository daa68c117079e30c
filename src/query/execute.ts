/**
 * The worker's half of a query's path: plan, fetch every source in parallel through its
 * connector, load the rows into DuckDB and run the user's SQL there, unchanged.
 *
 * @module
 */
import { OmniError } from "../errors.ts";
import {
  connectionTables,
  type ConnectorDef,
  type RateLimitInfo,
} from "../../connectors/sdk/connector.ts";
import type { ColumnDef, Connection, Row } from "../../connectors/sdk/table.ts";
import type { UserClaims } from "../auth/user_token.ts";
import { OPEN_GUARD, type QueryGuard } from "../policy/guard.ts";
import { fetchFromApp, type SourceFetchContext, type SourceFetcher } from "../source/fetch.ts";
import { type ParsedQuery, parseQuery } from "../sql/parse.ts";
import {
  planQuery,
  type PushdownSummary,
  type QueryPlan,
  type SourcePlan,
  summarisePlan,
} from "../sql/plan.ts";
import { type RowEstimates, SHARED_ESTIMATES } from "./estimates.ts";
import { fetchSources, type SourceScan } from "./fetch_sources.ts";
import { requestRedactor, seesCallCounts, visibleRequests } from "../policy/visible_requests.ts";
import { refuseWithoutPassthroughToken } from "../policy/passthrough.ts";
import { type QueryEngine, RowPieces } from "../duckdb/engine.ts";
import type { QueryRequest } from "./request.ts";
import { phaseDone } from "../telemetry/tracing.ts";
import {
  checkNesting,
  checkTableCount,
  DEFAULT_LIMITS,
  effectiveTimeoutMs,
  type QueryLimits,
} from "./limits.ts";

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
  /**
   * Pages, calls and revalidations are absent for a source whose requests would count rows or
   * values the user may not see (`visibleRequests`).
   */
  pages?: number;
  /** Requests the app charged. */
  calls?: number;
  /** Requests the app answered 304 (not charged): pages rebuilt from stored validators. */
  revalidated?: number;
  from_cache: boolean;
  freshness_ms: number;
  fetch_ms: number;
  /**
   * When its fetch started, in ms from the query's start (a dependent join's probe starts once
   * its build side is fetched). Absent when the answer came from the result cache.
   */
  started_ms?: number;
  /**
   * Of `fetch_ms`, the time the calls to the app ran, from `app_started_ms` (from the query's
   * start): the rest went to reading and writing caches. Absent when no call was made.
   */
  app_ms?: number;
  app_started_ms?: number;
  /** Rows the planner expected before fetching. */
  estimated_rows?: number;
  pushdown: SourcePushdown;
}

/**
 * A source's pushdown as reported: in a response, `native` lists the requests actually sent
 * (when any were: a cached source shows the planned ones); `dependent` says how a dependent join
 * fetched it.
 */
export interface SourcePushdown extends PushdownSummary {
  dependent?: string;
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
  sources: {
    table: string;
    pushdown: SourcePushdown;
    offered_columns: string[];
    estimated_rows?: number;
  }[];
}

/** What the executor needs. */
export interface ExecuteDeps {
  engine: QueryEngine;
  connectors: Record<string, ConnectorDef>;
  /** Used for every call to the apps (tests inject one). @default globalThis.fetch */
  fetch?: typeof fetch;
  /** How each source is fetched (caches, breakers, budgets around the app). @default fetchFromApp */
  fetchSource?: SourceFetcher;
  /** Offer predicates, order and limit to the sources (off only to compare results). @default true */
  pushdown?: boolean;
  /** Row estimates the planner learns from and plans with. @default SHARED_ESTIMATES */
  estimates?: RowEstimates;
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
  /** The tenant's limits (deadline cap, rows, tables, nesting). @default DEFAULT_LIMITS */
  limits?: QueryLimits;
  /**
   * `request.sql` as the door already parsed and analysed it (for its cache key, say), so the
   * text is not parsed twice. @default parseQuery(request.sql)
   */
  parsed?: ParsedQuery;
  /**
   * Settles once the answer has left the process (its HTTP response sent). Work the fetches
   * leave behind (source-cache writes) waits for it as well as for the engine step: sealing an
   * entry takes milliseconds of the only thread, which the response needs to get out.
   * @default the answer is out when this function returns
   */
  delivered?: Promise<void>;
}

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
  const limits = ctx.limits ?? DEFAULT_LIMITS;
  checkNesting(request.sql, limits);
  const parsed = ctx.parsed ?? parseQuery(request.sql);
  checkTableCount(parsed.analysis.tables.length, limits);
  const estimates = deps.estimates ?? SHARED_ESTIMATES;
  const plan = planQuery(parsed, ctx.connections, deps.connectors, {
    rowFilters: (key) => guard.rowFilters(key),
    mayName: (key, column) => {
      try {
        guard.check([{ key, columns: column === undefined ? [] : [column] }]);
        return true;
      } catch {
        return false;
      }
    },
    pushdownLimits: (key) => guard.pushdown?.(key),
    pushdown: deps.pushdown,
    estimate: (s) =>
      estimates.estimate({
        scope: guard.fingerprint,
        connectionId: s.connection.id,
        table: s.table,
        plan: s.plan,
      }),
  });
  guard.check(plan.sources.map((s) => ({ key: s.key, columns: s.offer.columns })));
  for (const source of plan.sources) refuseWithoutPassthroughToken(source.connection);
  const planningMs = performance.now() - started;
  phaseDone("plan", started, { "omnisql.sources": plan.sources.length });

  if (parsed.explain) {
    return {
      explain: true,
      trace_id: ctx.traceId,
      region: ctx.zone,
      sql: parsed.sql,
      sources: plan.sources.map((s) => ({
        table: s.key,
        pushdown: plannedPushdown(plan, s),
        offered_columns: s.offer.columns,
        estimated_rows: s.estimatedRows,
      })),
    };
  }

  const timeoutMs = effectiveTimeoutMs(request.metadata.timeout_ms, limits);
  // The deadline runs from the query's start: planning, fetching, the wait for an engine and
  // DuckDB all count.
  const deadline = AbortSignal.timeout(Math.max(1, timeoutMs - (performance.now() - started)));
  // One failing source fails the query: the others' in-flight calls are aborted, not left running.
  const failed = new AbortController();
  const signal = AbortSignal.any([failed.signal, deadline, ...(ctx.signal ? [ctx.signal] : [])]);
  const fetchSource = deps.fetchSource ?? fetchFromApp;
  // Work the fetches leave behind (source cache writes) waits for this query's answer.
  const answered = Promise.withResolvers<void>();
  const fetchCtx: SourceFetchContext = {
    tenantId: ctx.tenantId,
    user: ctx.user,
    traceId: ctx.traceId,
    zone: ctx.zone,
    metadata: request.metadata,
    signal,
    deadline: Date.now() + timeoutMs,
    fetch: deps.fetch,
    visibleRows: async (key, rows) => (await guard.apply(key, rows)).length,
    answered: answered.promise,
  };
  try {
    const fetchStarted = performance.now();
    // The engine step starts with the fetches: each source's rows, once the row rules have
    // secured them, go to the engine as they arrive, so little of its work is left after the last.
    const arrivals = plan.sources.map(() => Promise.withResolvers<Row[]>());
    for (const arrival of arrivals) arrival.promise.catch(() => {}); // read by the engine and below
    // Each page's rows, secured as they come, go to the engine as pieces of their table: only the
    // last page is left to prepare once the table is in.
    const pieces = plan.sources.map((source) => new SecuredPieces(source.key, guard));
    const piecesOf = new Map(plan.sources.map((source, i) => [source.key, pieces[i]]));
    let lastArrival = fetchStarted;
    const engineRun = deps.engine.run({
      maxRows: limits.maxRows,
      sql: parsed.sql,
      tables: plan.sources.map((source, i) => ({
        schema: source.schema,
        name: source.table.name,
        columns: columnsRead(source),
        rows: arrivals[i].promise,
        pieces: pieces[i].secured,
      })),
    }, {
      tenantId: ctx.tenantId,
      userId: ctx.user.sub,
      signal: AbortSignal.any([deadline, ...(ctx.signal ? [ctx.signal] : [])]),
      memoryLimitMb: request.metadata.async ? limits.jobMemoryLimitMb : limits.memoryLimitMb,
    });
    engineRun.catch(() => {}); // awaited below, after the fetches' own failure if any
    const scans = await fetchSources(plan, async (source, fetch) => {
      try {
        const onRows = (rows: Row[]) => piecesOf.get(source.key)?.add(rows);
        return await fetchSource(source, { ...fetchCtx, fetch, onRows });
      } catch (caught) {
        const err = withheldUnderRowRules(caught, source.key, guard);
        if (!failed.signal.aborted) failed.abort(err);
        if (err instanceof OmniError && err.code === "SOURCE_TIMEOUT") {
          throw new OmniError(
            "SOURCE_TIMEOUT",
            `${source.key} did not answer within ${timeoutMs} ms; a query this slow can run as ` +
              "a job: send it with metadata.async = true and poll GET /v1/jobs/{id}",
            { details: { source: source.key, timeout_ms: timeoutMs, async_available: true } },
          );
        }
        throw err;
      }
    }, {
      fetch: deps.fetch,
      onFetched: async ({ result }, i) => {
        try {
          const rows = await pieces[i].whole(result.rows);
          lastArrival = performance.now();
          arrivals[i].resolve(rows);
        } catch (err) {
          arrivals[i].reject(err);
        }
      },
    }).catch((err: unknown) => {
      for (const arrival of arrivals) arrival.reject(err);
      throw err;
    });
    const fetchMs = performance.now() - fetchStarted;

    // What the row rules still had to do once the last source was in.
    const securityStarted = performance.now();
    const secured = await Promise.all(arrivals.map((a) => a.promise));
    // Learned from what the row rules left, under this user's entitlements only: EXPLAIN shows
    // estimates, which must not count rows the user may not see.
    scans.forEach(({ source, keyed }, i) =>
      !keyed && estimates.record({
        scope: guard.fingerprint,
        connectionId: source.connection.id,
        table: source.table,
        plan: source.plan,
      }, secured[i].length)
    );
    const securityMs = performance.now() - securityStarted;
    phaseDone("security", securityStarted);

    // The engine's time on the answer's path: from the last table's arrival to the result.
    const duckStarted = lastArrival;
    const result = await engineRun.catch((err: unknown) => {
      if (err instanceof OmniError && err.code === "QUERY_TIMEOUT") {
        throw queryTimeout(timeoutMs, performance.now() - started);
      }
      throw err;
    });
    const duckMs = performance.now() - duckStarted;
    const pushdowns: SourcePushdown[] = scans.map(({ result, requests, dependent }) => ({
      ...summarisePlan(result.plan),
      ...(requests.length > 0 ? { native: requests } : {}),
      ...(dependent ? { dependent } : {}),
    }));
    const redact = requestRedactor(
      guard,
      scans.map(({ source, result }, i) => ({
        key: source.key,
        fetched: result.rows,
        visible: secured[i],
      })),
      [
        ...pushdowns.flatMap((p) => [...p.native, ...p.pushed, ...p.residual]),
        ...scans.flatMap((s) => s.sentInFull),
      ],
    );
    // A source whose requests would say how many rows or values the user may not see exist shows
    // its planned requests, and no request counts; so does one whose keys came from it.
    const shown = new Map<string, { pushdown: SourcePushdown; conceals: boolean }>();
    const show = (i: number): { pushdown: SourcePushdown; conceals: boolean } => {
      const { source, result, sentInFull, cached } = scans[i];
      const known = shown.get(source.key);
      if (known) return known;
      const build = plan.dependent.find((d) => d.probe === source.key)?.build;
      const buildIndex = scans.findIndex((s) => s.source.key === build);
      const seen = visibleRequests({
        sent: pushdowns[i],
        sentInFull,
        planned: plannedPushdown(plan, source),
        rowsHidden: secured[i].length < result.rows.length,
        fromConcealing: buildIndex >= 0 && show(buildIndex).conceals,
        // What the fetch behind a cached entry sent is not known here.
        unknownRequests: cached && !seesCallCounts(guard, [source.key]),
      }, redact);
      shown.set(source.key, seen);
      return seen;
    };
    phaseDone("duckdb", duckStarted, { "omnisql.rows": result.rows.length });
    const now = Date.now();
    const oldest = Math.min(now, ...scans.map(({ result }) => result.fetchedAt));

    return {
      columns: result.columns,
      rows: result.rows,
      freshness_ms: now - oldest,
      from_cache: scans.length > 0 && scans.every(({ result }) => result.fromCache),
      ...(scans.some(({ result }) => result.stale) ? { stale: true } : {}),
      // A connection's budget counts every query's calls: shown only where nothing is hidden.
      rate_limit_status: tightestSourceBudget(
        scans
          .filter(({ source }) => seesCallCounts(guard, connectionKeys(source)))
          .map((s) => ({ key: s.source.key, info: s.result.rateLimit })),
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
      sources: scans.map(({ source, result, ms, startedAt }: SourceScan, i) => ({
        table: source.key,
        // The rows the user may see: a count of the rows a row rule hid would say how many exist.
        rows: secured[i].length,
        ...(show(i).conceals ? {} : {
          pages: result.pages,
          calls: result.calls,
          revalidated: result.revalidated ?? 0,
        }),
        from_cache: result.fromCache,
        freshness_ms: now - result.fetchedAt,
        fetch_ms: round(ms),
        started_ms: round(startedAt - started),
        ...(result.scan
          ? {
            app_started_ms: round(result.scan.startedAt - started),
            app_ms: round(result.scan.ms),
          }
          : {}),
        estimated_rows: source.estimatedRows,
        // Requests and predicates can carry values the user may not read: shown templated.
        pushdown: show(i).pushdown,
      })),
    };
  } finally {
    answered.resolve(ctx.delivered);
  }
}

/**
 * A source's pages secured by the row rules one by one as they arrive, handed on as pieces of its
 * table. The rules are row by row, so the pieces secured make the table secured, when the fetch's
 * rows are exactly the pages handed here (a retried or merged fetch may not be).
 */
class SecuredPieces {
  readonly secured = new RowPieces();
  readonly #fetched: Row[][] = [];
  readonly #securedRows: Row[][] = [];
  #queue: Promise<void> = Promise.resolve();
  #broken = false;

  constructor(readonly key: string, readonly guard: QueryGuard) {}

  /** The next page's rows, as fetched. */
  add(rows: Row[]): void {
    this.#fetched.push(rows);
    this.#queue = this.#queue.then(async () => {
      if (this.#broken) return;
      const secured = await this.guard.apply(this.key, rows);
      this.#securedRows.push(secured);
      this.secured.add(secured);
    }).catch(() => void (this.#broken = true));
  }

  /** The table secured: from its pieces when `fetched` is exactly theirs, else afresh. */
  async whole(fetched: Row[]): Promise<Row[]> {
    await this.#queue;
    if (!this.#broken && sameRows(fetched, this.#fetched)) {
      // Rules that left every page as it was leave the table as it was: the same array, which
      // tells later steps that nothing was hidden.
      const untouched = this.#securedRows.every((rows, i) => rows === this.#fetched[i]);
      return untouched ? fetched : this.#securedRows.flat();
    }
    return await this.guard.apply(this.key, fetched);
  }
}

/** Whether `rows` are the rows of `pieces`, one after another: the same objects, in order. */
function sameRows(rows: readonly Row[], pieces: readonly Row[][]): boolean {
  let at = 0;
  for (const piece of pieces) {
    for (const row of piece) if (rows[at++] !== row) return false;
  }
  return at === rows.length;
}

/**
 * The answer to a query its deadline stopped (queued for an engine or running in DuckDB).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { queryTimeout } from "./execute.ts";
 * const err = queryTimeout(3000, 3012.4);
 * assert.deepEqual([err.status, err.details?.elapsed_ms], [504, 3012]);
 * ```
 */
export function queryTimeout(timeoutMs: number, elapsedMs: number): OmniError {
  const elapsed = Math.round(elapsedMs);
  return new OmniError(
    "QUERY_TIMEOUT",
    `the query was stopped after ${elapsed} ms: its deadline is ${timeoutMs} ms ` +
      "(metadata.timeout_ms, capped by the tenant's limit); narrow it, or run it as a job with " +
      "metadata.async = true and poll GET /v1/jobs/{id}",
    { details: { timeout_ms: timeoutMs, elapsed_ms: elapsed, async_available: true } },
  );
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

/**
 * An app's own error text can describe rows the user's row rules hide (Jira names the issue keys
 * of a list that do not exist, so the rest are known to): under a row rule it is withheld, and
 * only the status stays.
 */
function withheldUnderRowRules(err: unknown, key: string, guard: QueryGuard): unknown {
  if (!(err instanceof OmniError) || err.code !== "SOURCE_ERROR") return err;
  if (guard.rowFilters(key).length === 0) return err;
  const { upstream_message: _withheld, ...details } = err.details ?? {};
  const status = typeof details.status === "number" ? ` (HTTP ${details.status})` : "";
  return new OmniError(
    "SOURCE_ERROR",
    `${key}: the app refused the request${status}; its message is withheld because row rules ` +
      "restrict what you may read of this table",
    { details, cause: err },
  );
}

/**
 * The columns of a source's table the query reads (the planner's offer: every column it names
 * anywhere, all of them for `*`), in the table's order: DuckDB loads only these, which is most of
 * its work. A query that reads none (`count(*)`) gets the first, as a table needs one.
 */
function columnsRead(source: SourcePlan): ColumnDef[] {
  const read = new Set(source.offer.columns.map((c) => c.toLowerCase()));
  const columns = source.table.columns.filter((c) => read.has(c.name.toLowerCase()));
  return columns.length > 0 ? columns : source.table.columns.slice(0, 1);
}

/**
 * A source's pushdown as planned from the query alone, before any row was fetched: what EXPLAIN
 * shows, and what a source that conceals shows instead of the requests it sent.
 */
function plannedPushdown(plan: QueryPlan, source: SourcePlan): SourcePushdown {
  const dep = plan.dependent.find((d) => d.probe === source.key);
  return {
    ...summarisePlan(source.plan),
    ...(dep
      ? {
        dependent: `${dep.probeColumn} ${dep.chunk === 1 ? "=" : "IN"} (distinct keys ` +
          `of ${dep.build}.${dep.buildColumn}, fetched first; ${dep.chunk} per request)`,
      }
      : {}),
  };
}

/** The keys of every table of a source's connection (its budget is the connection's). */
function connectionKeys(source: SourcePlan): string[] {
  return connectionTables(source.connector, source.connection)
    .map((table) => `${source.connection.name}.${table.name}`.toLowerCase());
}
