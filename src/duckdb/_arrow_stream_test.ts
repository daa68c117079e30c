import assert from "node:assert/strict";
import {
  Bool,
  DateDay,
  Field,
  Float32,
  Float64,
  Int16,
  Int32,
  Int64,
  Int8,
  List,
  Table,
  tableFromIPC,
  tableToIPC,
  TimestampMicrosecond,
  TimestampMillisecond,
  Uint64,
  Uint8,
  Utf8,
  vectorFromArray,
} from "apache-arrow";
import type { ArrowTableLike } from "./_bindings.ts";
import { streamToRows, tableToRows, valueAt } from "./_convert.ts";
import { joinArrowStreams, readArrowStream } from "./_arrow_stream.ts";
import { rowsToArrowIPC } from "./_ingest.ts";
import type { ColumnDef } from "../../connectors/sdk/table.ts";
import { instantiateDuckDB, queryIPC } from "./_bindings.ts";

/** The rows as the general path (`valueAt`, value by value, through Arrow JS) reads them. */
function referenceRows(ipc: Uint8Array) {
  const table = tableFromIPC(ipc) as unknown as ArrowTableLike;
  const fields = table.schema.fields;
  return Array.from(
    { length: table.numRows },
    (_, r) => Object.fromEntries(fields.map((f, c) => [f.name, valueAt(table.getChildAt(c)!, r)])),
  );
}

function directRows(ipc: Uint8Array, maxRows = 1_000) {
  const stream = readArrowStream(ipc);
  assert.ok(stream, "read directly");
  return streamToRows(stream, maxRows);
}

/**
 * A stream framed as a file the way Arrow C++ (DuckDB) writes one: magic, padding, the stream
 * with its schema, a footer (left unread), its length, magic. Arrow JS's own files leave the
 * schema to the footer, so they are read by Arrow JS.
 */
function asFile(stream: Uint8Array): Uint8Array {
  const footer = new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8]);
  const magic = new TextEncoder().encode("ARROW1");
  const out = new Uint8Array(8 + stream.length + footer.length + 4 + 6);
  out.set(magic, 0);
  out.set(stream, 8);
  out.set(footer, 8 + stream.length);
  new DataView(out.buffer).setInt32(8 + stream.length + footer.length, footer.length, true);
  out.set(magic, out.length - 6);
  return out;
}

const numbers = (n: number) => Array.from({ length: n }, (_, i) => (i % 5 === 3 ? null : i - 7));

/** Every type read directly, with nulls, in two record batches. */
function mixedTable(): Table {
  const part = (from: number) => {
    const n = numbers(40).map((v) => v === null ? null : v + from);
    return new Table({
      i8: vectorFromArray(n, new Int8()),
      i16: vectorFromArray(n, new Int16()),
      i32: vectorFromArray(n, new Int32()),
      i64: vectorFromArray(n.map((v) => v === null ? null : BigInt(v) * 2n ** 40n), new Int64()),
      u8: vectorFromArray(n.map((v) => v === null ? null : Math.abs(v)), new Uint8()),
      u64: vectorFromArray(
        n.map((v) => v === null ? null : 2n ** 63n + BigInt(Math.abs(v))),
        new Uint64(),
      ),
      f32: vectorFromArray(n.map((v) => v === null ? null : v / 4), new Float32()),
      f64: vectorFromArray(
        n.map((v, i) => v === null ? null : i === 1 ? NaN : i === 2 ? -Infinity : v / 3),
        new Float64(),
      ),
      b: vectorFromArray(n.map((v) => v === null ? null : v % 2 === 0), new Bool()),
      t: vectorFromArray(n.map((v) => v === null ? null : v % 7 === 0 ? "" : `é${v}`), new Utf8()),
      ts: vectorFromArray(
        n.map((v) => v === null ? null : Date.UTC(2024, 0, 1) + v * 1_000),
        new TimestampMicrosecond(),
      ),
    });
  };
  return part(0).concat(part(1_000));
}

Deno.test("results read from their buffers equal Arrow JS's reading, type by type", () => {
  const table = mixedTable();
  const stream = tableToIPC(table, "stream");
  for (const ipc of [stream, asFile(stream)]) {
    const rows = directRows(ipc)!;
    assert.equal(rows.rows.length, 80);
    assert.deepEqual(rows.rows, referenceRows(stream));
    assert.deepEqual(rows, tableToRows(tableFromIPC(stream) as unknown as ArrowTableLike, 1_000));
  }
  // The spot values behind the comparison: 64-bit beyond 2^53 as text, NaN as text.
  const first = directRows(tableToIPC(table, "stream"))!.rows;
  assert.equal(first[0].i64, -7 * 2 ** 40);
  assert.equal(first[0].u64, (2n ** 63n + 7n).toString());
  assert.equal(first[1].f64, "NaN");
  assert.equal(first[3].i32, null);
  assert.equal(first[4].b, false);
});

Deno.test("maxRows stops the direct reading across batches and says so", () => {
  const rows = directRows(tableToIPC(mixedTable(), "stream"), 45)!;
  assert.equal(rows.rows.length, 45);
  assert.equal(rows.truncated, true);
  assert.equal(rows.rows[44].i32, 1_000 + 4 - 7);
});

Deno.test("other types, units and layouts are left to Arrow JS", () => {
  const others = [
    new Table({ d: vectorFromArray([19_000, null], new DateDay()) }),
    new Table({ ms: vectorFromArray([Date.UTC(2024, 0, 1), null], new TimestampMillisecond()) }),
    new Table({
      l: vectorFromArray([[1, 2], null], new List(new Field("item", new Int32(), true))),
    }),
    new Table({ dict: vectorFromArray(["a", "b", "a"]) }), // a dictionary of text
    new Table({ ok: vectorFromArray([1], new Int32()), d: vectorFromArray([1], new DateDay()) }),
  ];
  for (const table of others) {
    assert.equal(readArrowStream(tableToIPC(table, "stream")), undefined, String(table.schema));
  }
  assert.equal(readArrowStream(tableToIPC(others[0], "file")), undefined);
  assert.equal(readArrowStream(new Uint8Array([1, 2, 3])), undefined);
  assert.equal(readArrowStream(new Uint8Array(0)), undefined);
});

Deno.test("DuckDB's own results read directly as Arrow JS reads them", async () => {
  const conn = (await instantiateDuckDB()).connect();
  try {
    const ipc = queryIPC(
      conn,
      `SELECT (i % 100)::TINYINT AS i8, i::SMALLINT AS i16, i::INTEGER AS i32, i * 3000000000 AS i64,
         (i % 200)::UTINYINT AS u8, i::UBIGINT * 4000000000000000 AS u64, i / 3 AS f64,
         (i / 4)::FLOAT AS f32, i % 2 = 0 AS b, 'é' || i AS t,
         TIMESTAMP '2024-01-01' + INTERVAL (i) SECOND + INTERVAL (i) MICROSECOND AS ts,
         (TIMESTAMP '2024-01-01' + INTERVAL (i) MINUTE)::TIMESTAMPTZ AS tstz
       FROM (SELECT CASE WHEN r % 7 = 3 THEN NULL ELSE r END AS i FROM range(3000) t(r))`,
    );
    const stream = readArrowStream(ipc);
    assert.ok(stream, "read directly");
    assert.equal(stream.numRows, 3_000);
    assert.ok(stream.columns[0].data.length > 1, "several record batches");
    const direct = streamToRows(stream, 5_000);
    assert.deepEqual(direct, tableToRows(tableFromIPC(ipc) as unknown as ArrowTableLike, 5_000));
    assert.deepEqual(direct!.rows.slice(3, 5), referenceRows(ipc).slice(3, 5));
    // DuckDB keeps duplicate names (`a.id, b.id`): made unique as on Arrow JS's path.
    const twice = queryIPC(conn, "SELECT 1 AS id, 2 AS id, 3 AS id_1");
    const dup = streamToRows(readArrowStream(twice)!, 10);
    assert.deepEqual(dup, tableToRows(tableFromIPC(twice) as unknown as ArrowTableLike, 10));
    assert.deepEqual(dup!.columns, ["id", "id_2", "id_1"]);
  } finally {
    conn.close();
  }
});

Deno.test("streams of one schema join into one, every row in order; any other is refused", () => {
  const columns: ColumnDef[] = [
    { name: "n", type: "integer", description: "" },
    { name: "label", type: "text", description: "" },
    { name: "at", type: "timestamp", description: "" },
  ];
  const pieces = [
    [{ n: 1, label: "ä", at: "2024-01-02T03:04:05Z" }, { n: null, label: null }],
    [{ n: 3, label: "c" }],
    [{ n: 4, label: "d", at: "2024-02-01T00:00:00Z" }, { n: 5 }, { label: "f" }],
  ];
  const joined = joinArrowStreams(pieces.map((rows) => rowsToArrowIPC(columns, rows)))!;
  assert.deepEqual(referenceRows(joined), referenceRows(rowsToArrowIPC(columns, pieces.flat())));
  const other = rowsToArrowIPC([columns[1]], [{ label: "x" }]);
  assert.equal(joinArrowStreams([rowsToArrowIPC(columns, pieces[0]), other]), undefined);
  // Arrow JS writes other layouts (here, a file): refused too, never misread.
  const file = tableToIPC(new Table({ n: vectorFromArray([1n], new Int64()) }), "file");
  assert.equal(joinArrowStreams([file, file]), undefined);
});
