/**
 * Where the DuckDB step of the seed joins goes: runs each seed query once through the bench stack
 * (cold, sandboxes without latency) to capture the tables the worker hands the engine pool, then
 * replays them through a pool of its own, serially, and prints the step's P50 and its parts
 * (`QueryResult.timing`: encode, wait, round trip with the engine's ingest and query, decode)
 * and the CPU time per query of this process and of the engines.
 *
 * ```sh
 * deno run -A test/bench/engine_step.ts            # 40 runs per join
 * deno run -A test/bench/engine_step.ts 100 4      # 100 runs per join, 4 at a time
 * ```
 *
 * @module
 */
import { captureJoins } from "./_stack.ts";
import { statCpu } from "./_cpu.ts";
import { EnginePool } from "../../src/duckdb/pool.ts";
import type { EngineTiming } from "../../src/duckdb/engine.ts";

const runs = Number(Deno.args[0] ?? 40);
const concurrency = Number(Deno.args[1] ?? 1);

/** CPU time (user + system) of a process so far, ms (0 once it is gone). */
const cpuMs = (pid: number) => statCpu(`/proc/${pid}/stat`)?.ms ?? 0;

const p50 = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const ms = (x: number) => x.toFixed(1);

const joins = await captureJoins();
const pool = new EnginePool({ size: 2 });
try {
  await pool.warm();
  for (const [id, input] of joins) {
    for (let i = 0; i < 10; i++) await pool.run(input, { tenantId: "bench" });
    const pids = pool.processIds();
    const engines0 = pids.reduce((sum, pid) => sum + cpuMs(pid), 0);
    const self0 = cpuMs(Deno.pid);
    const steps: number[] = [];
    const timings: EngineTiming[] = [];
    let started = 0;
    const t0 = performance.now();
    await Promise.all(Array.from({ length: concurrency }, async () => {
      while (started < runs) {
        started++;
        const t = performance.now();
        const result = await pool.run(input, { tenantId: "bench" });
        steps.push(performance.now() - t);
        timings.push(result.timing);
      }
    }));
    const wall = performance.now() - t0;
    const engines = pids.reduce((sum, pid) => sum + cpuMs(pid), 0) - engines0;
    const part = (key: keyof EngineTiming) => ms(p50(timings.map((t) => t[key] ?? NaN)));
    console.log(
      `${id} (${input.tables.map((t) => `${t.rows.length}×${t.columns.length}`).join(", ")}): ` +
        `step P50 ${ms(p50(steps))} ms (min ${ms(Math.min(...steps))}) = encode ` +
        `${part("encode_ms")} + wait ${part("wait_ms")} + round trip ${part("round_trip_ms")} ` +
        `[ingest ${part("ingest_ms")}, query ${part("query_ms")}] + decode ${part("decode_ms")}; ` +
        `${Math.round(runs / wall * 1000)} QPS at ${concurrency}; CPU per query: this process ` +
        `${ms((cpuMs(Deno.pid) - self0) / runs)} ms, engines ${ms(engines / runs)} ms`,
    );
  }
} finally {
  await pool.close();
}
console.log(`load average ${Deno.loadavg().map((x) => x.toFixed(1)).join(" ")}`);
