import assert from "node:assert/strict";
import { tableFromIPC } from "apache-arrow";
import type { ColumnDef } from "../../connectors/sdk/table.ts";
import { deepFreeze } from "../deep_freeze.ts";
import { encodeRows, rowsToArrowIPC, toEpochMicros } from "./_ingest.ts";

const column = (type: "timestamp" | "text" | "integer") => [{ name: "v", type, description: "" }];
const decode = (ipc: Uint8Array): unknown[] =>
  [...tableFromIPC(ipc).getChildAt(0)!].map((v) => v ?? null);

Deno.test("timestamps encode to the microseconds the general parser reads, fast path or not", () => {
  const values: unknown[] = [
    "2024-03-01T10:00:00Z",
    "2024-03-01T10:00:00.5Z",
    "2024-03-01T10:00:00.123456Z",
    "2024-03-01T10:00:00.1234567Z", // beyond microseconds: cut, not rounded
    "1969-12-31T23:59:59.999999Z", // before the epoch: negative
    "1900-02-29T00:00:00Z", // no such day: rolls over like the general path
    "2024-03-01T24:00:00Z",
    "0050-01-01T00:00:00Z", // a two-digit year is not 1950
    "2024-03-01T10:00:00+02:00",
    "2024-03-01 10:00:00",
    "2024-03-01T10:00:00.Z",
    "2024-13-01T10:00:00Z",
    "not a time",
    1_709_287_200_123.4,
    new Date("2024-03-01T10:00:00.250Z"),
    null,
  ];
  for (let i = 0; i < 200; i++) {
    const ms = Math.round((Math.random() - 0.3) * 4e12);
    const iso = new Date(ms).toISOString();
    values.push(iso, iso.replace(".", ".9").replace("Z", "1Z"));
  }
  const got = decode(rowsToArrowIPC(column("timestamp"), values.map((v) => ({ v }))));
  // Arrow JS reads TIMESTAMP(µs) as epoch milliseconds (a double): compare at that precision.
  values.forEach((v, i) => {
    const want = toEpochMicros(v);
    assert.equal(got[i], want === null ? null : Number(want) / 1000, `value ${String(v)}`);
  });
});

Deno.test("text keeps every character, ASCII or not", () => {
  const values = ["plain", "", "é", "naïve café", "emoji 🎉 ok", "中文", "x".repeat(300), null];
  const got = decode(rowsToArrowIPC(column("text"), values.map((v) => ({ v }))));
  assert.deepEqual(got, values);
});

Deno.test("integers keep their value through the 64-bit encoding", () => {
  const values = [0, -1, 2 ** 53 - 1, -(2 ** 53), "9007199254740993", 42.6, null];
  const got = decode(rowsToArrowIPC(column("integer"), values.map((v) => ({ v }))));
  assert.deepEqual(got, [0n, -1n, 2n ** 53n - 1n, -(2n ** 53n), 9007199254740993n, 43n, null]);
});

Deno.test("JSON values keep BigInts as their digits", () => {
  const columns = [{ name: "v", type: "json" as const, description: "" }];
  const values = [{ a: [1, "x"] }, { big: 9007199254740993n }, ["l1", "l2"], "text", null];
  const got = decode(rowsToArrowIPC(columns, values.map((v) => ({ v }))));
  assert.deepEqual(got, [
    '{"a":[1,"x"]}',
    '{"big":"9007199254740993"}',
    '["l1","l2"]',
    '"text"',
    null,
  ]);
});

Deno.test("encodeRows remembers the encoding of frozen rows per column set, and only theirs", () => {
  const columns: ColumnDef[] = [
    { name: "id", type: "integer", description: "" },
    { name: "author", type: "text", description: "" },
  ];
  const frozen = deepFreeze([{ id: 1, author: "ana" }, { id: 2, author: "ivan" }]);
  const first = encodeRows(columns, frozen);
  assert.deepEqual(encodeRows(columns, frozen) === first, true);
  assert.deepEqual([...first], [...rowsToArrowIPC(columns, frozen)]);
  // Another column set is its own encoding.
  const idOnly = encodeRows(columns.slice(0, 1), frozen);
  assert.deepEqual([...idOnly], [...rowsToArrowIPC(columns.slice(0, 1), frozen)]);
  // Rows a policy masked are a new array: encoded afresh, never the remembered bytes.
  const masked = frozen.map((r) => ({ ...r, author: "[HIDDEN]" }));
  assert.deepEqual(encodeRows(columns, masked) === first, false);
  assert.deepEqual([...encodeRows(columns, masked)], [...rowsToArrowIPC(columns, masked)]);
});

Deno.test("every column type reads back as written, nulls anywhere, zero rows or many", () => {
  const types = { n: "integer", d: "double", b: "boolean", t: "text", ts: "timestamp", j: "json" };
  const columns = Object.entries(types).map(([name, type]) =>
    ({ name, type, description: "" }) as ColumnDef
  );
  const sample = (i: number) => ({
    n: i % 7 === 0 ? null : i * 3 - 50,
    d: i % 5 === 0 ? null : i / 4,
    b: i % 3 === 0 ? null : i % 2 === 0,
    t: i % 4 === 0 ? null : i % 9 === 0 ? "" : `v${i}é`,
    ts: i % 6 === 0 ? null : new Date(Date.UTC(2024, 0, 1, 0, 0, i)).toISOString(),
    j: i % 8 === 0 ? null : { i },
  });
  for (const count of [0, 1, 8, 9, 100]) {
    const rows = Array.from({ length: count }, (_, i) => sample(i));
    const table = tableFromIPC(rowsToArrowIPC(columns, rows));
    assert.equal(table.numRows, count);
    assert.deepEqual(
      table.schema.fields.map((f) => [f.name, String(f.type), f.nullable]),
      [
        ["c0", "Int64", true],
        ["c1", "Float64", true],
        ["c2", "Bool", true],
        ["c3", "Utf8", true],
        ["c4", "Timestamp<MICROSECOND>", true],
        ["c5", "Utf8", true],
      ],
    );
    const read = (i: number) => [...table.getChildAt(i)!].map((v) => v ?? null);
    assert.deepEqual(read(0), rows.map((r) => r.n === null ? null : BigInt(r.n)));
    assert.deepEqual(read(1), rows.map((r) => r.d));
    assert.deepEqual(read(2), rows.map((r) => r.b));
    assert.deepEqual(read(3), rows.map((r) => r.t));
    assert.deepEqual(read(4), rows.map((r) => r.ts === null ? null : Date.parse(r.ts)));
    assert.deepEqual(read(5), rows.map((r) => r.j === null ? null : JSON.stringify(r.j)));
  }
});
