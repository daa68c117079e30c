/**
 * Fetching one source for a query, as a chain of middleware around the connector's scan — the
 * same shape as Hono's: caches, circuit breakers and source budgets each wrap the next fetcher,
 * and the innermost one calls the app.
 *
 * @module
 */
import type { RateLimitInfo } from "../../connectors/sdk/connector.ts";
import type { Row, ScanPlan } from "../../connectors/sdk/table.ts";
import { runScan } from "../../connectors/sdk/scan.ts";
import type { ConditionalStore } from "../../connectors/sdk/http.ts";
import type { UserClaims } from "../auth/user_token.ts";
import type { SourcePlan } from "../sql/plan.ts";

/** The caller's options a source fetch honours. */
export interface SourceFetchOptions {
  /** Oldest cached data the caller accepts, in ms; 0 = live. @default the tenant's setting */
  max_staleness_ms?: number;
  /** Serve stale cached data rather than fail when the app cannot be reached. @default false */
  allow_stale?: boolean;
}

/** What a fetch hands back for one source. */
export interface FetchedSource {
  plan: ScanPlan;
  rows: Row[];
  pages: number;
  /** Requests the app charged (every answer but a 304). */
  calls: number;
  /** Requests answered 304 and rebuilt from stored validators. @default 0 */
  revalidated?: number;
  /** Served from a cache rather than the app. */
  fromCache: boolean;
  /** When the data was fetched from the app, epoch ms (older than now for cached data). */
  fetchedAt: number;
  /** The source's budget after the fetch, from its rate-limit headers. */
  rateLimit?: RateLimitInfo;
  /** Set when stale data was served because `allow_stale` was asked for. */
  stale?: boolean;
  /**
   * When the scan against the app ran (`performance.now()` start, ms): a fetch's time outside
   * it is spent around the app (cache reads and writes), not waiting on it. Absent when cached.
   */
  scan?: { startedAt: number; ms: number };
}

/** What every fetcher of a query knows. */
export interface SourceFetchContext {
  tenantId: string;
  user: UserClaims;
  traceId: string;
  zone: string;
  /** What of the caller's `metadata` a fetch reads (`QueryMetadata` of `query/request.ts`). */
  metadata: SourceFetchOptions;
  /** The query's deadline and cancellation. */
  signal: AbortSignal;
  /** When the query's deadline passes, epoch ms: retries never wait past it. */
  deadline?: number;
  /** Used for calls to the apps. */
  fetch?: typeof fetch;
  /** Validators per GET URL (and what rebuilds each page), set by the source cache. */
  conditional?: ConditionalStore;
  /**
   * How many of a source's rows the user may see (row rules applied): what a channel that
   * reports counts while the query runs (job progress) must count. @default none: such channels
   * report no row count
   */
  visibleRows?: (key: string, rows: Row[]) => number | Promise<number>;
  /**
   * Settles once the query is answered: its engine step done and, when the door tells, its
   * response sent. A fetch's work behind the answer (storing the source cache entry) waits for
   * it, rather than hold up that step or that response. @default already settled
   */
  answered?: Promise<unknown>;
  /**
   * Called with the rows of each page as the app's answers bring them, when this source is
   * fetched from its app here (not from a cache or another query's fetch): its rows may be put
   * to work before the last page. The result's rows stay what counts: a consumer uses what it
   * was handed only when the result's rows are exactly those pieces, in order (a retried or
   * merged fetch may not be). @default nothing called
   */
  onRows?: (rows: Row[]) => void;
}

/** Fetches one planned source. */
export type SourceFetcher = (
  source: SourcePlan,
  ctx: SourceFetchContext,
) => Promise<FetchedSource>;

/** Wraps a fetcher with one behaviour (caching, breaking, budgeting…). */
export type SourceMiddleware = (next: SourceFetcher) => SourceFetcher;

/**
 * The innermost fetcher: runs the connector's scan against the app.
 *
 * @example
 * ```ts ignore
 * const fetched = await fetchFromApp(source, ctx);
 * ```
 */
export const fetchFromApp: SourceFetcher = async (source, ctx) => {
  const fetchedAt = Date.now();
  const startedAt = performance.now();
  const result = await runScan(source.connector, source.table, source.connection, source.offer, {
    plan: source.plan,
    signal: ctx.signal,
    deadline: ctx.deadline,
    fetch: ctx.fetch,
    conditional: ctx.conditional,
    onRows: ctx.onRows,
  });
  return {
    ...result,
    fromCache: false,
    fetchedAt,
    scan: { startedAt, ms: performance.now() - startedAt },
  };
};

/**
 * Composes middleware around a fetcher; the first middleware is the outermost.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { composeSourceFetch, type SourceFetcher } from "./fetch.ts";
 * const calls: string[] = [];
 * const inner: SourceFetcher = () => { calls.push("app"); return Promise.reject(new Error("x")); };
 * const fetcher = composeSourceFetch([(next) => (s, c) => { calls.push("outer"); return next(s, c); }], inner);
 * await fetcher({} as never, {} as never).catch(() => {});
 * assert.ok(calls.join() === "outer,app");
 * ```
 */
export function composeSourceFetch(
  middleware: readonly SourceMiddleware[],
  inner: SourceFetcher = fetchFromApp,
): SourceFetcher {
  return middleware.reduceRight((next, mw) => mw(next), inner);
}
