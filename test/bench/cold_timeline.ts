/**
 * Cold seed joins one at a time after a quiet spell, as the bench's federated scenario meets
 * them: the bench stack (sandboxes at 100 ms), each join twice to warm up, then `rounds` cold runs
 * of each, and per join the P50 of the overhead over the fetch path, of the time between the
 * zone's answer and the client's, and of the zone's `duckdb_ms`. Run it on two checkouts in turn
 * to compare them on the same machine state.
 *
 * ```sh
 * deno run -A test/bench/cold_timeline.ts                 # 3 s of quiet, 12 runs per join
 * deno run -A test/bench/cold_timeline.ts 3000 12 cross_app_join
 * ```
 *
 * @module
 */
import { postQuery, startBenchStack } from "./_stack.ts";
import { SEED_QUERIES } from "./queries.ts";
import { type FetchInterval, fetchPathMs } from "./floor.ts";

const quietMs = Number(Deno.args[0] ?? 3000);
const rounds = Number(Deno.args[1] ?? 12);
const only = Deno.args[2];

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const median = (values: number[]) => [...values].sort((a, b) => a - b)[values.length >> 1];

const bench = await startBenchStack({ scale: 4, latencyMs: 100 });
try {
  const joins = SEED_QUERIES.filter((q) => q.join && (!only || q.id === only));
  const run = (sql: string) =>
    postQuery(bench.edgeUrl, bench.tokens.bench, { sql, metadata: { max_staleness_ms: 0 } });
  for (const q of joins) for (let i = 0; i < 2; i++) await run(q.sql);
  for (const q of joins) {
    const overhead: number[] = [], relay: number[] = [], duck: number[] = [];
    for (let r = 0; r < rounds; r++) {
      await sleep(quietMs);
      const res = await run(q.sql);
      if (res.status !== 200) throw new Error(`${q.id}: HTTP ${res.status}`);
      const timing = res.body.timing as { total_ms: number; duckdb_ms: number };
      overhead.push(res.ms - fetchPathMs(res.body.sources as FetchInterval[]));
      relay.push(res.ms - timing.total_ms);
      duck.push(timing.duckdb_ms);
    }
    console.log(
      `${q.id}: overhead P50 ${median(overhead).toFixed(1)} ms, client minus zone ` +
        `${median(relay).toFixed(1)} ms, DuckDB step ${median(duck).toFixed(1)} ms ` +
        `(${rounds} runs, ${quietMs} ms of quiet before each)`,
    );
  }
} finally {
  await bench.close();
}
