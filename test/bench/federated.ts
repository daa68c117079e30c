/**
 * Scenarios 2–4 on the bench tenant's scaled sandboxes (fixed latency): each seed query through
 * OmniSQL cold (`max_staleness_ms: 0`) and by the naive script, interleaved in the same run;
 * OmniSQL's overhead over the time its fetches ran (a dependent join's chain counts in full), that
 * fetch path against the physical floor of the calls it made (`floor.ts`), API calls and rows
 * against the naive script's, and warm repeats (sources cached, the join run in DuckDB each
 * time).
 *
 * @module
 */
import { BENCH, type BenchStack, postQuery } from "./_stack.ts";
import { drive, type LoadResult } from "./_drivers.ts";
import { type Spread, spread } from "./_stats.ts";
import { type NaiveRun, type NaiveTarget, runNaive } from "./naive.ts";
import { SEED_QUERIES } from "./queries.ts";
import { DEMO_GITHUB, DEMO_JIRA } from "../../src/catalog/demo.ts";
import { fetchPathMs, githubRounds, type JiraCall, jiraRounds } from "./floor.ts";

/** One seed query's figures. */
export interface FederatedResult {
  id: string;
  title: string;
  join: boolean;
  error?: string;
  omni: {
    ms: Spread;
    /** Client wall time minus the fetch path: the time no fetch ran. */
    overheadMs: Spread;
    slowestSourceMs: Spread;
    /** How long at least one fetch ran (the union of `sources[]`'s fetch intervals). */
    fetchPathMs: Spread;
    /**
     * The physical floor of the calls made (`floor.ts`): each source's least round trips at the
     * latency, summed along a dependent join's chain, else the larger.
     */
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
      started_ms?: number;
      /** Of `fetch_ms`, the time its calls to the app ran. */
      app_ms?: number;
      /** This source's own floor in the last run. */
      floor_ms: number;
      /** Predicates the source took (`pushdown.pushed`). */
      pushed: string[];
      /** How a dependent join fetched it (`pushdown.dependent`). */
      dependent?: string;
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
    githubUrl: bench.big.githubUrl,
    githubToken: BENCH.githubToken,
    owner: BENCH.owner,
    repos: gh.repos,
    jiraUrl: bench.big.jiraUrl,
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
      path: number;
      floor: number;
      duck: number;
      plan: number;
      calls: number;
      rows: number;
    }[] = [];
    const naive: NaiveRun[] = [];
    let last: Record<string, unknown> | undefined;
    let lastFloors: Record<string, number> = {};
    let error: string | undefined;
    for (let r = 0; r < options.repeats && !error; r++) {
      await bench.big.reset();
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
        started_ms?: number;
        app_started_ms?: number;
        app_ms?: number;
        calls: number;
        rows: number;
        pushdown?: { dependent?: string };
      }[];
      const timing = res.body.timing as Record<string, number>;
      const logs = await bench.big.requests();
      const ghCalls = logs.github.length;
      const jiraCalls = logs.jira.length;
      // Each sandbox serves one source of the seed queries.
      lastFloors = {
        "github.pull_requests": githubRounds(logs.github) * latency,
        "jira.issues": jiraRounds(logs.jira as JiraCall[]) * latency,
      };
      const floors = sources.map((s) => lastFloors[s.table] ?? 0);
      const chained = sources.some((s) => isKeyed(s.pushdown?.dependent));
      const floor = chained ? floors.reduce((n, f) => n + f, 0) : Math.max(0, ...floors);
      const slowest = Math.max(0, ...sources.map((s) => s.fetch_ms));
      const path = fetchPathMs(sources);
      omni.push({
        ms: res.ms,
        overhead: res.ms - path,
        slowest,
        path,
        floor,
        duck: timing.duckdb_ms,
        plan: timing.planning_ms,
        calls: ghCalls + jiraCalls,
        rows: sources.reduce((n, s) => n + s.rows, 0),
      });
      await bench.big.reset();
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
        fetchPathMs: spread(omni.map((o) => o.path)),
        floorMs: spread(omni.map((o) => o.floor)),
        duckdbMs: spread(omni.map((o) => o.duck)),
        planningMs: spread(omni.map((o) => o.plan)),
        calls: spread(omni.map((o) => o.calls)),
        rowsFetched: spread(omni.map((o) => o.rows)),
        resultRows: (last?.rows as unknown[] | undefined)?.length ?? 0,
        sources: ((last?.sources ?? []) as (
          & Omit<FederatedResult["omni"]["sources"][number], "pushed" | "floor_ms" | "dependent">
          & { pushdown?: { pushed?: string[]; dependent?: string } }
        )[]).map((s) => ({
          table: s.table,
          rows: s.rows,
          pages: s.pages,
          calls: s.calls,
          fetch_ms: s.fetch_ms,
          ...(s.started_ms !== undefined ? { started_ms: s.started_ms } : {}),
          ...(s.app_ms !== undefined ? { app_ms: s.app_ms } : {}),
          floor_ms: lastFloors[s.table] ?? 0,
          pushed: s.pushdown?.pushed ?? [],
          ...(s.pushdown?.dependent ? { dependent: s.pushdown.dependent } : {}),
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

/** Whether `pushdown.dependent` says the source was fetched with the other side's keys. */
function isKeyed(dependent: string | undefined): boolean {
  return dependent !== undefined && !dependent.startsWith("not used");
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
