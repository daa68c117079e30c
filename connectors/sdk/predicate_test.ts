import assert from "node:assert/strict";
import { evaluatePredicate, type Predicate } from "./predicate.ts";

/** DuckDB's order of VARCHARs: their UTF-8 bytes. */
function utf8Compare(a: string, b: string): number {
  const x = new TextEncoder().encode(a), y = new TextEncoder().encode(b);
  for (let i = 0; i < Math.min(x.length, y.length); i++) {
    if (x[i] !== y[i]) return x[i] < y[i] ? -1 : 1;
  }
  return Math.sign(x.length - y.length);
}

Deno.test("text comparisons order by code point, as DuckDB's UTF-8 bytes do", () => {
  const alphabet = ["a", "b", "Z", "é", "\uffff", "\ue000", "🚀", "😀", "𝔸", ""];
  let seed = 7;
  const pick = () => alphabet[(seed = (seed * 1103515245 + 12345) % 2 ** 31) % alphabet.length];
  for (let n = 0; n < 2000; n++) {
    const a = pick() + pick() + pick(), b = pick() + pick();
    const truth = utf8Compare(a, b);
    assert.equal(
      evaluatePredicate({ column: "s", op: "<", value: b }, a, "text"),
      truth < 0,
      a + b,
    );
    assert.equal(evaluatePredicate({ column: "s", op: "=", value: b }, a, "text"), truth === 0);
  }
});

Deno.test("IN and NOT IN over text keys: membership, NULLs as DuckDB treats them", () => {
  const keys = Array.from({ length: 1000 }, (_, i) => `feature/MOB-${i}`);
  const inKeys: Predicate = { column: "branch", op: "in", values: keys };
  assert.equal(evaluatePredicate(inKeys, "feature/MOB-999", "text"), true);
  assert.equal(evaluatePredicate(inKeys, "feature/mob-999", "text"), false); // case-sensitive
  assert.equal(evaluatePredicate(inKeys, null, "text"), false);
  const notIn: Predicate = { column: "branch", op: "not in", values: ["a", "b"] };
  assert.equal(evaluatePredicate(notIn, "c", "text"), true);
  assert.equal(evaluatePredicate(notIn, "a", "text"), false);
  assert.equal(
    evaluatePredicate({ column: "branch", op: "not in", values: ["a", null] }, "c", "text"),
    false,
  );
  assert.equal(
    evaluatePredicate({ column: "branch", op: "in", values: ["a", null] }, "a", "text"),
    true,
  );
  // A literal of another type: no certain verdict, the row is kept for DuckDB to judge.
  assert.equal(
    evaluatePredicate({ column: "b", op: "in", values: ["a", 3] }, "x", "text"),
    undefined,
  );
});
