/**
 * Scenarios 2–4 on the bench tenant's scaled sandboxes (fixed latency): each seed query through
 * OmniSQL cold (`max_staleness_ms: 0`) and by the naive script, interleaved in the same run;
 * OmniSQL's overhead over its slowest source, its fetch time against the physical floor of the
 * calls it made, API calls and rows against the naive script's, and warm repeats (sources cached,
 * the join run in DuckDB each time).
 *
 * @module
 */
import { BENCH, type BenchStack, postQuery } from "./_stack.ts";
import { drive, type LoadResult } from "./_drivers.ts";
import { type Spread, spread } from "./_stats.ts";
import { type NaiveRun, type NaiveTarget, runNaive } from "./naive.ts";
import { SEED_QUERIES } from "./queries.ts";
import { DEMO_GITHUB, DEMO_JIRA } from "../../src/catalog/demo.ts";

/** Parallel calls the GitHub connector keeps in flight (its `IN_FLIGHT`): the floor's width. */
export const GITHUB_IN_FLIGHT = 8;

/** One seed query's figures. */
export interface FederatedResult {
  id: string;
  title: string;
  join: boolean;
  error?: string;
  omni: {
    ms: Spread;
    /** Client wall time minus the slowest source's fetch time. */
    overheadMs: Spread;
    slowestSourceMs: Spread;
    /** The physical floor of the calls made: Jira's page chain; GitHub's calls 8 at a time. */
    floorMs: Spread;
    duckdbMs: Spread;
    planningMs: Spread;
    calls: Spread;
    rowsFetched: Spread;
    resultRows: number;
    sources: {
      table: string;
      rows: number;
      pages: number;
      calls: number;
      fetch_ms: number;
      /** Predicates the source took (`pushdown.pushed`). */
      pushed: string[];
    }[];
  };
  naive: { ms: Spread; calls: Spread; rowsFetched: Spread; rowsNeeded: number; resultRows: number };
  /** Naive ÷ OmniSQL, medians of the same run. */
  ratio: { time: number; calls: number; rows: number };
  /**
   * Repeats with the sources in the source cache and the result cache bypassed (`fromCache`: every
   * source came from the source cache; `engineRan`: DuckDB ran each time).
   */
  warm?: {
    fromCache: boolean;
    engineRan: boolean;
    ms: Spread;
    duckdbMs: Spread;
    load?: LoadResult & { concurrency: number };
  };
}

/** Runs scenarios 2–4. */
export async function runFederated(
  bench: BenchStack,
  options: { repeats: number; warmLoadMs: number; log: (s: string) => void },
): Promise<FederatedResult[]> {
  const gh = DEMO_GITHUB.acme.config as { repos: string[] };
  const jc = DEMO_JIRA.acme.config as {
    projects: string[];
    fields: { branch: string; storyPoints: string };
  };
  const target: NaiveTarget = {
    githubUrl: bench.big.github.url,
    githubToken: BENCH.githubToken,
    owner: BENCH.owner,
    repos: gh.repos,
    jiraUrl: bench.big.jira.url,
    jiraEmail: BENCH.jiraEmail,
    jiraToken: BENCH.jiraToken,
    projects: jc.projects,
    fields: jc.fields,
  };
  const latency = bench.big.latencyMs;
  const results: FederatedResult[] = [];
  for (const q of SEED_QUERIES) {
    options.log(`  ${q.id}`);
    const omni: {
      ms: number;
      overhead: number;
      slowest: number;
      floor: number;
      duck: number;
      plan: number;
      calls: number;
      rows: number;
    }[] = [];
    const naive: NaiveRun[] = [];
    let last: Record<string, unknown> | undefined;
    let error: string | undefined;
    for (let r = 0; r < options.repeats && !error; r++) {
      bench.big.github.reset();
      bench.big.jira.reset();
      const res = await postQuery(bench.edgeUrl, bench.tokens.bench, {
        sql: q.sql,
        metadata: { max_staleness_ms: 0 },
      });
      if (res.status !== 200) {
        error = `HTTP ${res.status}: ${JSON.stringify(res.body).slice(0, 300)}`;
        break;
      }
      last = res.body;
      const sources = res.body.sources as {
        table: string;
        fetch_ms: number;
        calls: number;
        rows: number;
      }[];
      const timing = res.body.timing as Record<string, number>;
      const ghCalls = bench.big.github.requests.length;
      const jiraCalls = bench.big.jira.requests.length;
      const floor = Math.max(Math.ceil(ghCalls / GITHUB_IN_FLIGHT), jiraCalls) * latency;
      const slowest = Math.max(0, ...sources.map((s) => s.fetch_ms));
      omni.push({
        ms: res.ms,
        overhead: res.ms - slowest,
        slowest,
        floor,
        duck: timing.duckdb_ms,
        plan: timing.planning_ms,
        calls: ghCalls + jiraCalls,
        rows: sources.reduce((n, s) => n + s.rows, 0),
      });
      bench.big.github.reset();
      bench.big.jira.reset();
      try {
        naive.push(await runNaive(target, q.id));
      } catch (err) {
        error = `naive script: ${err instanceof Error ? err.message : err}`;
      }
    }
    const result: FederatedResult = {
      id: q.id,
      title: q.title,
      join: q.join,
      ...(error ? { error } : {}),
      omni: {
        ms: spread(omni.map((o) => o.ms)),
        overheadMs: spread(omni.map((o) => o.overhead)),
        slowestSourceMs: spread(omni.map((o) => o.slowest)),
        floorMs: spread(omni.map((o) => o.floor)),
        duckdbMs: spread(omni.map((o) => o.duck)),
        planningMs: spread(omni.map((o) => o.plan)),
        calls: spread(omni.map((o) => o.calls)),
        rowsFetched: spread(omni.map((o) => o.rows)),
        resultRows: (last?.rows as unknown[] | undefined)?.length ?? 0,
        sources:
          ((last?.sources ?? []) as (Omit<FederatedResult["omni"]["sources"][number], "pushed"> & {
            pushdown?: { pushed?: string[] };
          })[]).map((s) => ({
            table: s.table,
            rows: s.rows,
            pages: s.pages,
            calls: s.calls,
            fetch_ms: s.fetch_ms,
            pushed: s.pushdown?.pushed ?? [],
          })),
      },
      naive: {
        ms: spread(naive.map((n) => n.ms)),
        calls: spread(naive.map((n) => n.calls)),
        rowsFetched: spread(naive.map((n) => n.rowsFetched)),
        rowsNeeded: naive[0]?.rowsNeeded ?? NaN,
        resultRows: naive[0]?.resultRows ?? NaN,
      },
      ratio: { time: NaN, calls: NaN, rows: NaN },
    };
    result.ratio = {
      time: result.naive.ms.median / result.omni.ms.median,
      calls: result.naive.calls.median / result.omni.calls.median,
      rows: result.naive.rowsFetched.median / result.omni.rowsFetched.median,
    };
    if (q.join && !error) result.warm = await warm(bench, q.sql, options);
    results.push(result);
  }
  return results;
}

/** The placeholder the load generator replaces with each request's number. */
const VARY = "__N__";

/**
 * Warm repeats that reach the engine: the sources come from the zone's source cache
 * (`max_staleness_ms`), but each request's SQL differs by a constant column, so the result cache
 * never answers and the join runs in DuckDB every time; then a short load at 8 connections the
 * same way (the Deno generator: it numbers each request's SQL).
 */
async function warm(
  bench: BenchStack,
  sql: string,
  options: { repeats: number; warmLoadMs: number },
): Promise<FederatedResult["warm"]> {
  const variant = (tag: string) => ({
    sql: sql.replace(/^SELECT /i, `SELECT '${tag}' AS variant, `),
    metadata: { max_staleness_ms: 600_000 },
  });
  await postQuery(bench.edgeUrl, bench.tokens.bench, variant("fill")); // fills the source cache
  const times: number[] = [];
  const duck: number[] = [];
  let sourcesCached = true;
  let engineRan = true;
  for (let r = 0; r < Math.max(options.repeats, 5); r++) {
    const res = await postQuery(bench.edgeUrl, bench.tokens.bench, variant(`repeat-${r}`));
    times.push(res.ms);
    const sources = (res.body.sources ?? []) as { from_cache?: boolean }[];
    const timing = (res.body.timing ?? {}) as Record<string, number>;
    sourcesCached &&= res.status === 200 && sources.every((s) => s.from_cache === true);
    engineRan &&= res.status === 200 && timing.duckdb_ms > 0;
    duck.push(timing.duckdb_ms);
  }
  const warmed = { fromCache: sourcesCached, engineRan, ms: spread(times), duckdbMs: spread(duck) };
  if (!sourcesCached || !engineRan) return warmed;
  const concurrency = 8;
  const load = await drive("deno", {
    url: `${bench.edgeUrl}/v1/query`,
    headers: { "content-type": "application/json", authorization: `Bearer ${bench.tokens.bench}` },
    body: JSON.stringify(variant(`load-${VARY}`)),
    vary: VARY,
    concurrency,
    durationMs: options.warmLoadMs,
    maxRequests: 1_000_000,
  });
  return { ...warmed, load: { ...load, concurrency } };
}
