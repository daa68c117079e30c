import assert from "node:assert/strict";
import type { Predicate } from "../../connectors/sdk/predicate.ts";
import { filterRows, predicateId, subsetRemainder } from "./_subset.ts";
import type { Row } from "../../connectors/sdk/table.ts";

const open: Predicate = { column: "status", op: "=", value: "open" };
const mobile: Predicate = { column: "team_id", op: "=", value: "mobile" };

Deno.test("subsetRemainder() lets a looser entry with more columns serve, with the rest to filter", () => {
  const entry = { pushed: [predicateId(mobile)], columns: ["pr_id", "status", "team_id"] };
  assert.deepEqual(subsetRemainder(entry, [open, mobile], ["pr_id"]), [open]);
  assert.deepEqual(subsetRemainder(entry, [mobile], ["pr_id", "status"]), []);
});

Deno.test("subsetRemainder() refuses a stricter entry, missing columns, or an unfilterable rest", () => {
  const entry = { pushed: [predicateId(open)], columns: ["pr_id", "status"] };
  assert.equal(subsetRemainder(entry, [], ["pr_id"]), undefined);
  assert.equal(subsetRemainder(entry, [open], ["pr_id", "title"]), undefined);
  assert.equal(subsetRemainder(entry, [open, mobile], ["pr_id"]), undefined);
});

Deno.test("predicateId() ignores the order of IN values; filterRows() applies predicates", () => {
  assert.equal(
    predicateId({ column: "s", op: "in", values: ["a", "b"] }),
    predicateId({ column: "s", op: "in", values: ["b", "a"] }),
  );
  const rows = [{ status: "open" }, { status: "closed" }];
  assert.deepEqual(filterRows(rows, [open], { status: "text" }), [{ status: "open" }]);
});

Deno.test("filterRows() judges as DuckDB does: case, code points, microseconds, offsets", () => {
  const types = { s: "text", t: "timestamp", n: "integer" } as const;
  const keep = (p: Predicate, row: Row) => filterRows([row], [p], types).length === 1;
  // Text is case-sensitive and compared by code point (UTF-16 order would differ here).
  assert.ok(!keep({ column: "s", op: "=", value: "done" }, { s: "Done" }));
  assert.ok(keep({ column: "s", op: "!=", value: "done" }, { s: "Done" }));
  assert.ok(keep({ column: "s", op: ">", value: "\uffff" }, { s: "🚀" }));
  // LIKE has no escape character; `_` is one code point.
  assert.ok(!keep({ column: "s", op: "like", pattern: "a\\_c" }, { s: "a_c" }));
  assert.ok(keep({ column: "s", op: "like", pattern: "_" }, { s: "🚀" }));
  // Timestamps to the microsecond; a row's own offset is applied.
  const at = "2025-01-06T12:39:44.000001Z";
  assert.ok(keep({ column: "t", op: "<", value: at }, { t: "2025-01-06T12:39:44.000Z" }));
  assert.ok(keep({ column: "t", op: "<", value: at }, { t: "2025-01-06T14:39:44.000+02:00" }));
  assert.ok(!keep({ column: "t", op: "=", value: at }, { t: "2025-01-06T12:39:44.000Z" }));
  // NULL: only IS NULL keeps it; NOT IN with a NULL keeps nothing.
  assert.ok(!keep({ column: "n", op: "!=", value: 1 }, { n: null }));
  assert.ok(!keep({ column: "n", op: "not in", values: [1, null] }, { n: 2 }));
  // A value of another type than declared: not judged, kept (DuckDB re-applies the WHERE).
  assert.ok(keep({ column: "n", op: "=", value: 1 }, { n: "2" }));
});
