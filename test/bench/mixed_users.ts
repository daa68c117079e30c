/**
 * Two users of one tenant at once, as fair share meets them: one runs the seed joins (sources
 * from the source cache, a numbered column so DuckDB runs each), the other tiny queries, four
 * connections each, for `seconds`; then every status seen, with the body of each that is not 200.
 * Preemption kills engines under this load all the time: it is the load that found a killed
 * engine handed to the next query (a 500 in about 8,000 answers, 2026-12-07).
 *
 * ```sh
 * deno run -A test/bench/mixed_users.ts 60
 * ```
 *
 * @module
 */
import { BENCH, startBenchStack } from "./_stack.ts";
import { SEED_QUERIES } from "./queries.ts";

const seconds = Number(Deno.args[0] ?? 60);
const bench = await startBenchStack({ scale: 4, latencyMs: 20 });
try {
  const { catalog, devIssuer } = bench.stack;
  const other = "mixed@bench";
  await catalog.upsertUser({ tenantId: BENCH.tenant, email: other, role: "admin", teamId: null });
  const tokens = {
    joins: bench.tokens.bench,
    tiny: await devIssuer.mint({ sub: other, tenant: BENCH.tenant, role: "admin" }),
  };
  const seen = new Map<string, number>();
  const post = async (token: string, sql: string, metadata: Record<string, unknown>) => {
    const res = await fetch(`${bench.edgeUrl}/v1/query`, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: `Bearer ${token}` },
      body: JSON.stringify({ sql, metadata }),
    });
    const text = await res.text();
    const key = res.status === 200 ? "200" : `${res.status} ${text.slice(0, 200)}`;
    seen.set(key, (seen.get(key) ?? 0) + 1);
  };
  const until = Date.now() + seconds * 1000;
  const joins = SEED_QUERIES.filter((q) => q.join);
  let n = 0;
  const joinLoop = async () => {
    while (Date.now() < until) {
      const q = joins[n++ % joins.length];
      const sql = q.sql.replace("SELECT", `SELECT ${n} AS k,`);
      await post(tokens.joins, sql, { max_staleness_ms: 600_000 });
    }
  };
  let i = 0;
  const tinyLoop = async () => {
    while (Date.now() < until) await post(tokens.tiny, `SELECT ${i++} AS x`, {});
  };
  await Promise.all([
    ...Array.from({ length: 4 }, joinLoop),
    ...Array.from({ length: 4 }, tinyLoop),
  ]);
  for (const [status, count] of seen) console.log(`${count}\t${status}`);
} finally {
  await bench.close();
}
