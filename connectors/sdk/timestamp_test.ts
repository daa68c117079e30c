import assert from "node:assert/strict";
import { EnginePool } from "../../src/duckdb/pool.ts";
import {
  canonicalTimestamp,
  literalTimestampMicros,
  millisecondBound,
  rowTimestampMicros,
} from "./timestamp.ts";

const opts = { sanitizeResources: false, sanitizeOps: false };

/** Spellings users write; for each, what DuckDB's cast says is the truth to agree with. */
const SPELLINGS = [
  "2025-01-06T12:39:44Z",
  "2025-01-06T12:39:44.000001Z",
  "2025-01-06 12:39:44.1234567",
  "2025-12-29T09:40:04.142+02:00",
  "2025-01-06T12:39:44-0330",
  "2025-01-06T12:39:44+05",
  "2025-01-06 12:39:44 UTC",
  " 2025-01-06 12:39:44 ",
  "2025-1-6 12:39:44",
  "2025-01-06",
  "2025-01-06T12:39",
  "2024-02-29 23:59:59.999999",
  "2025-01-06 24:00:00",
  "2025-02-30",
  "2025-01-06 12:39 UTC",
  "2025-01-06T12",
  "20250106",
  "epoch",
];

Deno.test(
  "literalTimestampMicros() reads each spelling as DuckDB's TIMESTAMP cast does",
  opts,
  async () => {
    const engine = new EnginePool({ size: 1, spares: 0, warmUpMs: 0 });
    let agreed = 0;
    try {
      for (const text of SPELLINGS) {
        const ours = literalTimestampMicros(text);
        if (ours === undefined) continue; // not pushed: DuckDB decides alone, whatever it says
        const sql = `SELECT CAST('${text}' AS TIMESTAMP) AS t`;
        const res = await engine.run({ tables: [], sql }, { tenantId: "test" });
        const theirs = rowTimestampMicros(res.rows[0].t);
        assert.equal(canonicalTimestamp(ours), canonicalTimestamp(theirs!), text);
        agreed++;
      }
    } finally {
      await engine.close();
    }
    assert.ok(agreed >= 12, `only ${agreed} spellings read`);
    // What DuckDB refuses or reads specially is never pushed.
    for (const text of ["2025-02-30", "2025-01-06 12:39 UTC", "2025-01-06T12", "epoch"]) {
      assert.equal(literalTimestampMicros(text), undefined, text);
    }
  },
);

Deno.test("millisecondBound() keeps exactly the millisecond values the literal selects", () => {
  const at = Date.parse("2025-01-06T12:39:44.000Z");
  const lit = "2025-01-06T12:39:44.000001Z";
  const cases: [Parameters<typeof millisecondBound>[0], number[]][] = [
    ["<", [at - 1, at]],
    ["<=", [at - 1, at]],
    [">", [at + 1]],
    [">=", [at + 1]],
    ["=", []],
  ];
  const micros = literalTimestampMicros(lit)!;
  for (const [op, want] of cases) {
    const bound = millisecondBound(op, lit)!;
    const keeps = (ms: number) => {
      if (bound.kind !== "compare") return bound.kind === "all";
      const d = ms - bound.ms;
      return { "=": d === 0, "!=": d !== 0, "<": d < 0, "<=": d <= 0, ">": d > 0, ">=": d >= 0 }[
        bound.op
      ];
    };
    const got = [at - 1, at, at + 1].filter(keeps);
    assert.deepEqual(got, want, op);
    // And the truth, in microseconds.
    const truth = [at - 1, at, at + 1].filter((ms) => {
      const v = BigInt(ms) * 1000n;
      return {
        "<": v < micros,
        "<=": v <= micros,
        ">": v > micros,
        ">=": v >= micros,
        "=": v === micros,
      }[
        op as "<"
      ];
    });
    assert.deepEqual(got, truth, op);
  }
});
