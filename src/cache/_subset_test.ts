import assert from "node:assert/strict";
import type { Predicate } from "../../connectors/sdk/predicate.ts";
import { filterRows, predicateId, subsetRemainder } from "./_subset.ts";
import { normalizeSql } from "./_normalize_sql.ts";

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
  assert.deepEqual(filterRows(rows, [open]), [{ status: "open" }]);
});

Deno.test("normalizeSql() folds case and spacing but keeps literals exact", () => {
  assert.equal(
    normalizeSql("SELECT  pr_id\nFROM github.pull_requests WHERE title = 'Fix  It';"),
    "select pr_id from github.pull_requests where title = 'Fix  It'",
  );
  assert.notEqual(normalizeSql("SELECT 'A'"), normalizeSql("SELECT 'a'"));
});
