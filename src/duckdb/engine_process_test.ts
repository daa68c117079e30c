import assert from "node:assert/strict";
import { encodeFrame, spawnFramed } from "../frames.ts";
import { encodeRows } from "./_ingest.ts";
import { readArrowStream } from "./_arrow_stream.ts";
import { streamToRows } from "./_convert.ts";
import type { TableShape } from "./_instance.ts";
import type { EngineReply, EngineRequest } from "./engine_process.ts";
import type { ColumnDef } from "../../connectors/sdk/table.ts";

const ENTRY = new URL("./engine_process.ts", import.meta.url);
const COLUMNS: ColumnDef[] = [{ name: "n", type: "integer", description: "" }];
const TABLES: TableShape[] = [
  { schema: "demo", name: "a", columns: [{ name: "n", duckType: "BIGINT" }] },
  { schema: "demo", name: "b", columns: [{ name: "n", duckType: "BIGINT" }] },
];
const SQL = "SELECT count(*) AS c FROM demo.a JOIN demo.b USING (n)";
const rows = (n: number) => encodeRows(COLUMNS, Array.from({ length: n }, (_, i) => ({ n: i })));
const NONE = new Uint8Array(0);
/** The join's query frame; `after`: the loads it follows. */
const query = (after?: number[]): EngineRequest => ({
  type: "query",
  sql: SQL,
  maxResultBytes: 1e6,
  tables: TABLES,
  ...(after ? { after } : {}),
});

/** An engine process driven frame by frame, as the pool drives it. */
async function withEngine(
  fn: (engine: {
    write(request: EngineRequest, blobs?: Uint8Array[]): Promise<void>;
    read(): Promise<EngineReply & { rows?: unknown[] }>;
  }) => Promise<void>,
) {
  const child = spawnFramed<EngineReply>(ENTRY, { flags: ["--allow-sys=cpus"] });
  try {
    assert.equal((await child.output.next())?.header.type, "ready");
    await fn({
      write: (request, blobs = []) => child.input.write(encodeFrame(request, blobs)),
      async read() {
        const frame = await child.output.next();
        assert.ok(frame, "the engine answered");
        const stream = frame.header.type === "result" ? readArrowStream(frame.blobs[0]) : undefined;
        return { ...frame.header, ...(stream ? { rows: streamToRows(stream, 100)?.rows } : {}) };
      },
    });
  } finally {
    await child.input.close();
    await child.process.status;
  }
}

Deno.test("frames written behind a failed load are refused, never run on missing tables", async () => {
  await withEngine(async (engine) => {
    // Written one behind another without waiting, as the pool pipelines a lent engine: the
    // first load's text does not fit its BIGINT column, so it fails and the engine cleans up.
    const text = encodeRows([{ name: "n", type: "text", description: "" }], [{ n: "x" }]);
    await engine.write({ type: "load", tables: TABLES, load: [0] }, [text]);
    await engine.write({ type: "load", tables: TABLES, load: [1], after: [0] }, [rows(3)]);
    await engine.write(query([0, 1]), [NONE, NONE]);
    const failed = await engine.read();
    assert.equal(failed.type, "error");
    assert.equal((await engine.read()).type, "idle");
    // Had the second load run, it would have made the tables afresh and the query counted 0.
    for (const expected of ["load", "query"]) {
      const refused = await engine.read();
      assert.equal(refused.type, "error", expected);
      assert.match(refused.type === "error" ? refused.message : "", /loaded ahead/);
      assert.equal((await engine.read()).type, "idle");
    }
    // The engine is clean: a query of its own, every table in its frame, runs as usual.
    await engine.write(query(), [rows(4), rows(3)]);
    assert.deepEqual((await engine.read()).rows, [{ c: 3 }]);
    assert.equal((await engine.read()).type, "idle");
  });
});

Deno.test("a query written behind its loads runs on exactly what they loaded", async () => {
  await withEngine(async (engine) => {
    await engine.write({ type: "load", tables: TABLES, load: [], sql: SQL });
    await engine.write({ type: "load", tables: TABLES, load: [0], after: [] }, [rows(5)]);
    await engine.write(query([0]), [NONE, rows(2)]);
    assert.equal((await engine.read()).type, "loaded");
    assert.equal((await engine.read()).type, "loaded");
    assert.deepEqual((await engine.read()).rows, [{ c: 2 }]);
    assert.equal((await engine.read()).type, "idle");
    // A frame that claims loads the engine never had is refused.
    await engine.write(query([0]), [NONE, rows(2)]);
    assert.equal((await engine.read()).type, "error");
    assert.equal((await engine.read()).type, "idle");
  });
});
