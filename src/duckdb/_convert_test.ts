import assert from "node:assert/strict";
import {
  Field,
  makeData,
  RecordBatch,
  Schema,
  Struct,
  Table,
  tableFromIPC,
  tableToIPC,
  TimestampMicrosecond,
  Utf8,
  vectorFromArray,
} from "apache-arrow";
import type { ArrowTableLike } from "./_bindings.ts";
import { microsToIso, tableToRows, valueAt } from "./_convert.ts";

/** The rows as the general path (`valueAt`, value by value) reads them. */
function referenceRows(table: ArrowTableLike, count: number) {
  const fields = table.schema.fields;
  return Array.from(
    { length: count },
    (_, r) => Object.fromEntries(fields.map((f, c) => [f.name, valueAt(table.getChildAt(c)!, r)])),
  );
}

/** A table through Arrow IPC and back, as results reach the pool. */
function viaIpc(table: Table): ArrowTableLike {
  return tableFromIPC(tableToIPC(table, "stream")) as unknown as ArrowTableLike;
}

Deno.test("text columns read from their buffers equal Arrow's own reading, nulls and all", () => {
  const texts = [
    "plain",
    "",
    null,
    "naïve café",
    "emoji 🚀 and 中文",
    "a".repeat(5000),
    null,
    "tab\tnewline\n",
    "\u0000nul",
  ];
  const ascii = (t: string) => [...t].every((c) => c.charCodeAt(0) < 128);
  for (const values of [texts, texts.filter((t) => t === null || ascii(t))]) {
    const table = viaIpc(new Table({ t: vectorFromArray(values, new Utf8()) }));
    assert.deepEqual(tableToRows(table, 100).rows, referenceRows(table, values.length));
    assert.deepEqual(tableToRows(table, 100).rows.map((r) => r.t), values);
  }
});

Deno.test("microsecond timestamps read from their buffers render as microsToIso does", () => {
  const micros = [
    0n,
    1n,
    999n,
    1_000n,
    -1n,
    -999_999n,
    1_704_067_200_123_456n, // 2024-01-01T00:00:00.123456Z
    951_782_400_000_000n, // 2000-02-29
    -62_135_596_800_000_000n, // 0001-01-01
    253_402_300_799_999_999n, // 9999-12-31T23:59:59.999999Z
    2n ** 62n, // beyond 2^53: the general path
    2n ** 63n - 1n, // infinity
    -(2n ** 63n) + 1n, // -infinity
  ];
  const data = makeData({
    type: new TimestampMicrosecond(),
    length: micros.length + 1,
    nullCount: 1,
    data: new BigInt64Array([...micros, 0n]),
    nullBitmap: new Uint8Array([0xff, 0x1f]), // the last value is null
  });
  const field = new Field("at", data.type, true);
  const schema = new Schema([field]);
  const batch = new RecordBatch(
    schema,
    makeData({ type: new Struct([field]), length: data.length, nullCount: 0, children: [data] }),
  );
  const table = tableFromIPC(
    tableToIPC(new Table(schema, batch), "stream"),
  ) as unknown as ArrowTableLike;
  const rows = tableToRows(table, 100).rows;
  assert.deepEqual(rows, referenceRows(table, data.length));
  assert.deepEqual(rows.map((r) => r.at), [...micros.map(microsToIso), null]);
  assert.equal(rows[6].at, "2024-01-01T00:00:00.123456Z");
  assert.equal(rows[4].at, "1969-12-31T23:59:59.999999Z");
});

Deno.test("tableToRows stops at maxRows across chunks and says so", () => {
  const a = tableFromIPC(tableToIPC(new Table({ t: vectorFromArray(["a", "b"]) }), "stream"));
  const b = tableFromIPC(tableToIPC(new Table({ t: vectorFromArray(["c", null, "e"]) }), "stream"));
  const table = a.concat(b) as unknown as ArrowTableLike;
  assert.deepEqual(tableToRows(table, 4), {
    columns: ["t"],
    rows: [{ t: "a" }, { t: "b" }, { t: "c" }, { t: null }],
    truncated: true,
  });
});
