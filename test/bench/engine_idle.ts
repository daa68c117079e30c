/**
 * How idleness slows the engine step: a pool warmed as servers warm it replays the seed joins
 * (captured as `engine_step.ts` does) one at a time with a pause before each, optionally keeping
 * the engines busy meanwhile with a small join every `tick` ms, and prints the step's P50 with
 * the rows' Arrow encoding in this process timed alike (same pause, no engine).
 *
 * ```sh
 * deno run -A test/bench/engine_idle.ts 3000        # 3 s of idleness before each query
 * deno run -A test/bench/engine_idle.ts 3000 250    # the same, a small join every 250 ms meanwhile
 * deno run -A test/bench/engine_idle.ts 0           # back to back
 * ```
 *
 * @module
 */
import { captureJoins } from "./_stack.ts";
import { EnginePool } from "../../src/duckdb/pool.ts";
import { rowsToArrowIPC } from "../../src/duckdb/_ingest.ts";
import type { RunInput } from "../../src/duckdb/engine.ts";

const pauseMs = Number(Deno.args[0] ?? 3000);
const tickMs = Number(Deno.args[1] ?? 0);
const queries = Number(Deno.args[2] ?? 15);

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const median = (values: number[]) => [...values].sort((a, b) => a - b)[values.length >> 1];

const joins = [...(await captureJoins()).values()];
// The tick: the first join on its first 50 rows of each table.
const tick: RunInput = {
  sql: joins[0].sql,
  tables: joins[0].tables.map((t) => ({ ...t, rows: t.rows.slice(0, 50) })),
};
const pool = new EnginePool({ size: 2, spares: 1 });
try {
  await pool.warm("all");
  const steps: number[] = [];
  const encodes: number[] = [];
  for (let i = 0; i < queries; i++) {
    const until = performance.now() + pauseMs;
    for (let left = pauseMs; left > 0; left = until - performance.now()) {
      await sleep(tickMs > 0 ? Math.min(tickMs, left) : left);
      if (tickMs > 0 && performance.now() < until) await pool.run(tick, { tenantId: "bench" });
    }
    const input = joins[i % joins.length];
    const started = performance.now();
    await pool.run(input, { tenantId: "bench" });
    steps.push(performance.now() - started);
    await sleep(pauseMs);
    const encodeStarted = performance.now();
    for (const table of input.tables) rowsToArrowIPC(table.columns, table.rows);
    encodes.push(performance.now() - encodeStarted);
  }
  console.log(
    `pause ${pauseMs} ms, tick ${tickMs || "none"}: step P50 ${median(steps).toFixed(1)} ms ` +
      `(${steps.map((s) => s.toFixed(0)).join(" ")}); encoding the same rows in this process ` +
      `after the same pause: P50 ${median(encodes).toFixed(2)} ms`,
  );
} finally {
  await pool.close();
}
