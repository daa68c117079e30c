/**
 * How a fresh engine's step falls as V8 optimises DuckDB's wasm: one engine, warmed as servers
 * warm them, replays the seed joins (captured as `engine_step.ts` does) in turn, and prints per
 * block of queries the step's P50 and the engine's CPU per query by thread (`/proc/<pid>/task`):
 * its main thread, and V8's worker threads, which compile optimised code (and mark for the GC).
 *
 * ```sh
 * deno run -A test/bench/engine_tierup.ts          # 8 blocks of 50 queries
 * deno run -A test/bench/engine_tierup.ts 12 50
 * ```
 *
 * @module
 */
import { captureJoins } from "./_stack.ts";
import { statCpu } from "./_cpu.ts";
import { EnginePool } from "../../src/duckdb/pool.ts";

const blocks = Number(Deno.args[0] ?? 8);
const perBlock = Number(Deno.args[1] ?? 50);

/** CPU time (user + system) so far of each of a process's threads, summed by thread name, ms. */
function cpuByThread(pid: number): Map<string, number> {
  const byName = new Map<string, number>();
  for (const task of Deno.readDirSync(`/proc/${pid}/task`)) {
    const thread = statCpu(`/proc/${pid}/task/${task.name}/stat`);
    if (thread) byName.set(thread.name, (byName.get(thread.name) ?? 0) + thread.ms);
  }
  return byName;
}

const joins = [...(await captureJoins()).values()];
const pool = new EnginePool({ size: 1, spares: 0 });
try {
  const warmStart = performance.now();
  await pool.warm();
  console.log(`engine started and warmed up in ${Math.round(performance.now() - warmStart)} ms`);
  const [pid] = pool.processIds();
  let next = 0;
  for (let block = 0; block < blocks; block++) {
    const before = cpuByThread(pid);
    const steps: number[] = [];
    for (let i = 0; i < perBlock; i++) {
      const started = performance.now();
      await pool.run(joins[next++ % joins.length], { tenantId: "bench" });
      steps.push(performance.now() - started);
    }
    const threads = [...cpuByThread(pid)]
      .map(([name, ms]) => `${name} ${((ms - (before.get(name) ?? 0)) / perBlock).toFixed(1)}`)
      .join(", ");
    steps.sort((a, b) => a - b);
    console.log(
      `queries ${block * perBlock + 1}–${(block + 1) * perBlock}: step P50 ` +
        `${steps[perBlock >> 1].toFixed(1)} ms; engine CPU per query, ms: ${threads}`,
    );
  }
} finally {
  await pool.close();
}
console.log(`load average ${Deno.loadavg().map((x) => x.toFixed(1)).join(" ")}`);
