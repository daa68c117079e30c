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
 * deno run -A test/bench/cold_timeline.ts 3000 12 --redis  # caches and budgets on Redis
 * deno run -A test/bench/cold_timeline.ts 3000 12 --redis=2  # … each answer 2 ms later
 * ```
 *
 * With `--redis` the zone's caches, leases, breakers and budgets live in the local Redis
 * (127.0.0.1:6379) behind the Upstash REST bridge, which runs in a process of its own as Upstash
 * runs apart from a zone: the store's round trips on a query's path are then counted, as in
 * production. `--redis=N` answers each of them N ms later, as a store across a network would.
 *
 * @module
 */
import { postQuery, startBenchStack } from "./_stack.ts";
import { SEED_QUERIES } from "./queries.ts";
import { type FetchInterval, fetchPathMs } from "./floor.ts";

const redisFlag = Deno.args.find((a) => /^--redis(=\d+)?$/.test(a));
const args = Deno.args.filter((a) => a !== redisFlag);
const quietMs = Number(args[0] ?? 3000);
const rounds = Number(args[1] ?? 12);
const only = args[2];

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const median = (values: number[]) => [...values].sort((a, b) => a - b)[values.length >> 1];

const bridge = redisFlag ? await startBridge(Number(redisFlag.split("=")[1] ?? 0)) : undefined;
const bench = await startBenchStack({ scale: 4, latencyMs: 100, upstash: bridge?.upstash });
try {
  const joins = SEED_QUERIES.filter((q) => q.join && (!only || q.id === only));
  const run = (sql: string) =>
    postQuery(bench.edgeUrl, bench.tokens.bench, { sql, metadata: { max_staleness_ms: 0 } });
  for (const q of joins) for (let i = 0; i < 2; i++) await run(q.sql);
  for (const q of joins) {
    const overhead: number[] = [], relay: number[] = [], duck: number[] = [], first: number[] = [];
    for (let r = 0; r < rounds; r++) {
      await sleep(quietMs);
      const res = await run(q.sql);
      if (res.status !== 200) throw new Error(`${q.id}: HTTP ${res.status}`);
      const timing = res.body.timing as { total_ms: number; duckdb_ms: number };
      overhead.push(res.ms - fetchPathMs(res.body.sources as FetchInterval[]));
      relay.push(res.ms - timing.total_ms);
      duck.push(timing.duckdb_ms);
      const sources = res.body.sources as { app_started_ms?: number }[];
      first.push(Math.min(...sources.map((s) => s.app_started_ms ?? Infinity)));
    }
    console.log(
      `${q.id}: overhead P50 ${median(overhead).toFixed(1)} ms, client minus zone ` +
        `${median(relay).toFixed(1)} ms, DuckDB step ${median(duck).toFixed(1)} ms, first app ` +
        `call ${median(first).toFixed(1)} ms into the zone's query ` +
        `(${rounds} runs, ${quietMs} ms of quiet before each)`,
    );
  }
} finally {
  await bench.close();
  await bridge?.close();
}

/** The Upstash REST bridge in a process of its own (`_store_bridge.ts`), on a free port. */
async function startBridge(delayMs: number) {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close();
  const token = crypto.randomUUID();
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-A",
      new URL("./_store_bridge.ts", import.meta.url).pathname,
      String(port),
      token,
      String(delayMs),
    ],
    stdout: "null",
  }).spawn();
  const url = `http://127.0.0.1:${port}`;
  for (let i = 0;; i++) {
    const ok = await fetch(url, {
      method: "POST",
      headers: { authorization: `Bearer ${token}` },
      body: '["PING"]',
    })
      .then(async (r) => (await r.text(), r.ok), () => false);
    if (ok) break;
    if (i > 200) throw new Error("the Redis bridge did not start");
    await sleep(50);
  }
  return {
    upstash: { url, token },
    async close() {
      child.kill("SIGTERM");
      await child.status;
    },
  };
}
