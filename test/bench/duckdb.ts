/**
 * Scenario 5: DuckDB-WASM as the worker uses it (`EnginePool.run`, an engine process: ingest two 100k-row tables,
 * hash join, GROUP BY of 1,000 groups) against native DuckDB (`@duckdb/node-api`) doing the same
 * from the same JS rows, when it loads here.
 *
 * @module
 */
import { EnginePool } from "../../src/duckdb/pool.ts";
import { type Spread, spread } from "./_stats.ts";

/** Scenario 5's result. */
export interface DuckResult {
  rows: number;
  wasm: { ingestMs: Spread; queryMs: Spread; totalMs: Spread };
  native?: { ingestMs: Spread; queryMs: Spread; totalMs: Spread; version: string };
  nativeError?: string;
}

const SQL = `SELECT a.grp, count(*) AS n, sum(a.v * b.w) AS s
FROM bench.a a JOIN bench.b b ON a.id = b.id GROUP BY a.grp ORDER BY a.grp`;

/** Runs scenario 5. */
export async function runDuck(options: { rows: number; repeats: number }): Promise<DuckResult> {
  const n = options.rows;
  const a = Array.from({ length: n }, (_, i) => ({ id: i, grp: i % 1000, v: (i % 97) / 7 }));
  const b = Array.from({ length: n }, (_, i) => ({ id: n - 1 - i, w: (i % 89) / 3 }));
  const engine = new EnginePool({ size: 1, memoryLimitMb: 2048 });
  await engine.warm();
  const wasm = { ingest: [] as number[], query: [] as number[], total: [] as number[] };
  for (let r = 0; r < options.repeats; r++) {
    const t0 = performance.now();
    const result = await engine.run({
      maxRows: 10_000,
      sql: SQL,
      tables: [
        {
          schema: "bench",
          name: "a",
          columns: [
            { name: "id", type: "integer", description: "" },
            { name: "grp", type: "integer", description: "" },
            { name: "v", type: "double", description: "" },
          ],
          rows: a,
        },
        {
          schema: "bench",
          name: "b",
          columns: [
            { name: "id", type: "integer", description: "" },
            { name: "w", type: "double", description: "" },
          ],
          rows: b,
        },
      ],
    }, { tenantId: "bench" });
    wasm.total.push(performance.now() - t0);
    wasm.ingest.push(result.timing.ingest_ms);
    wasm.query.push(result.timing.query_ms);
    if (result.rows.length !== 1000) throw new Error(`wasm gave ${result.rows.length} groups`);
  }
  await engine.close();
  const out: DuckResult = {
    rows: n,
    wasm: {
      ingestMs: spread(wasm.ingest),
      queryMs: spread(wasm.query),
      totalMs: spread(wasm.total),
    },
  };
  try {
    out.native = await native(a, b, options.repeats);
  } catch (err) {
    out.nativeError = err instanceof Error ? err.message.split("\n")[0] : String(err);
  }
  return out;
}

type NodeApi = typeof import("@duckdb/node-api");
type DuckType = import("@duckdb/node-api").DuckDBType;
type DuckValue = import("@duckdb/node-api").DuckDBValue;

async function native(
  a: { id: number; grp: number; v: number }[],
  b: { id: number; w: number }[],
  repeats: number,
): Promise<NonNullable<DuckResult["native"]>> {
  const api: NodeApi = await import("@duckdb/node-api");
  const times = { ingest: [] as number[], query: [] as number[], total: [] as number[] };
  for (let r = 0; r < repeats; r++) {
    const instance = await api.DuckDBInstance.create(":memory:");
    const con = await instance.connect();
    try {
      const t0 = performance.now();
      await con.run("CREATE SCHEMA bench");
      await con.run("CREATE TABLE bench.a (id BIGINT, grp BIGINT, v DOUBLE)");
      await con.run("CREATE TABLE bench.b (id BIGINT, w DOUBLE)");
      // DuckDB's own fast path from JS: column vectors in data chunks of 2,048 rows.
      const append = async (table: string, types: DuckType[], columns: DuckValue[][]) => {
        const appender = await con.createAppender(table, "bench");
        for (let off = 0; off < columns[0].length; off += 2048) {
          const slice = columns.map((c) => c.slice(off, off + 2048));
          const chunk = api.DuckDBDataChunk.create(types, slice[0].length);
          chunk.setColumns(slice);
          appender.appendDataChunk(chunk);
        }
        appender.closeSync();
      };
      const { BIGINT, DOUBLE } = api;
      await append("a", [BIGINT, BIGINT, DOUBLE], [
        a.map((r) => BigInt(r.id)),
        a.map((r) => BigInt(r.grp)),
        a.map((r) => r.v),
      ]);
      await append("b", [BIGINT, DOUBLE], [b.map((r) => BigInt(r.id)), b.map((r) => r.w)]);
      const t1 = performance.now();
      const reader = await con.runAndReadAll(SQL);
      const rows = reader.getRowObjects();
      const t2 = performance.now();
      if (rows.length !== 1000) throw new Error(`native gave ${rows.length} groups`);
      times.ingest.push(t1 - t0);
      times.query.push(t2 - t1);
      times.total.push(t2 - t0);
    } finally {
      con.closeSync();
      instance.closeSync();
    }
  }
  return {
    ingestMs: spread(times.ingest),
    queryMs: spread(times.query),
    totalMs: spread(times.total),
    version: api.version(),
  };
}
