/**
 * Scenario 1: one small single-source query through the edge, repeated with a generous
 * `max_staleness_ms` so a result cache (when one is wired) serves it; throughput and latency
 * percentiles at a few concurrency levels, with each load driver.
 *
 * @module
 */
import { type BenchStack, postQuery } from "./_stack.ts";
import { drive, type Driver } from "./_drivers.ts";
import { type Spread, spread } from "./_stats.ts";
import { CACHED_SQL } from "./queries.ts";

/** Figures at one concurrency level with one driver. */
export interface CachedLevel {
  driver: Driver;
  concurrency: number;
  qps: Spread;
  p50: Spread;
  p95: Spread;
  p99: Spread;
  errors: number;
  statuses: Record<string, number>;
}

/** Scenario 1's result. */
export interface CachedResult {
  sql: string;
  /** Whether the repeated query was answered from a cache. */
  fromCache: boolean;
  rows: number;
  levels: CachedLevel[];
}

/** Runs scenario 1. */
export async function runCached(
  bench: BenchStack,
  options: {
    levels: number[];
    drivers: Driver[];
    durationMs: number;
    repeats: number;
    log: (s: string) => void;
  },
): Promise<CachedResult> {
  const body = { sql: CACHED_SQL, metadata: { max_staleness_ms: 600_000 } };
  await postQuery(bench.edgeUrl, bench.tokens.dev, body);
  const probe = await postQuery(bench.edgeUrl, bench.tokens.dev, body);
  if (probe.status !== 200) {
    throw new Error(`scenario 1 query failed: HTTP ${probe.status} ${JSON.stringify(probe.body)}`);
  }
  const levels: CachedLevel[] = [];
  for (const concurrency of options.levels) {
    for (const driver of options.drivers) {
      options.log(`  ${driver} c=${concurrency}`);
      const runs = [];
      for (let r = 0; r < options.repeats; r++) {
        runs.push(
          await drive(driver, {
            url: `${bench.edgeUrl}/v1/query`,
            headers: {
              "content-type": "application/json",
              authorization: `Bearer ${bench.tokens.dev}`,
            },
            body: JSON.stringify(body),
            concurrency,
            durationMs: options.durationMs,
            maxRequests: 10_000_000,
          }),
        );
      }
      const statuses: Record<string, number> = {};
      for (const run of runs) {
        for (const [k, v] of Object.entries(run.statuses)) statuses[k] = (statuses[k] ?? 0) + v;
      }
      levels.push({
        driver,
        concurrency,
        qps: spread(runs.map((r) => r.qps)),
        p50: spread(runs.map((r) => r.p50_ms)),
        p95: spread(runs.map((r) => r.p95_ms)),
        p99: spread(runs.map((r) => r.p99_ms)),
        errors: runs.reduce((n, r) => n + r.errors, 0),
        statuses,
      });
    }
  }
  return {
    sql: CACHED_SQL,
    fromCache: probe.body.from_cache === true,
    rows: (probe.body.rows as unknown[]).length,
    levels,
  };
}
