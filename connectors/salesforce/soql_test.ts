import assert from "node:assert/strict";
import { planSoql, renderSoql, soqlCondition, type SoqlField, soqlString } from "./soql.ts";
import { parseSoql } from "./sandbox/_soql_eval.ts";
import { SANDBOX_SCHEMA } from "./sandbox/mod.ts";

const NAME: SoqlField = { column: "name", field: "Name", kind: "text" };
const AMOUNT: SoqlField = { column: "amount", field: "Amount", kind: "number" };
const CREATED: SoqlField = { column: "created", field: "CreatedDate", kind: "datetime" };
const CLOSE: SoqlField = { column: "close", field: "CloseDate", kind: "date" };

Deno.test("soqlString() escapes quotes and backslashes with backslashes", () => {
  assert.equal(soqlString("plain"), "'plain'");
  assert.equal(soqlString("O'Brien"), "'O\\'Brien'");
  assert.equal(soqlString("a\\b"), "'a\\\\b'");
  assert.equal(soqlString("\\'"), "'\\\\\\''");
  assert.equal(soqlString('say "hi"\n'), "'say \\\"hi\\\"\\n'");
});

Deno.test("hostile values stay one literal: the sandbox's parser reads them back exactly", () => {
  const hostile = [
    "x' OR Name != '",
    "\\' OR Id != null --",
    "'; DELETE FROM Account",
    "\\\\' OR '1'='1",
    "tab\tnew\nline\r",
    "%_ wildcard",
  ];
  for (const value of hostile) {
    const cond = soqlCondition(NAME, { column: "name", op: "=", value })!;
    const q = parseSoql(`SELECT Id FROM Account WHERE ${cond.soql}`, SANDBOX_SCHEMA);
    assert.equal(q.where?.k, "cmp", value);
    assert.deepEqual((q.where as { value: { v: string } }).value.v, value);
  }
});

Deno.test("soqlCondition(): text pushes = and IN as supersets, never != (SOQL ignores case)", () => {
  assert.deepEqual(soqlCondition(NAME, { column: "name", op: "=", value: "a" }), {
    soql: "Name = 'a'",
    exact: false,
  });
  assert.equal(soqlCondition(NAME, { column: "name", op: "!=", value: "a" }), null);
  assert.equal(soqlCondition(NAME, { column: "name", op: "not in", values: ["a"] }), null);
  assert.equal(soqlCondition(NAME, { column: "name", op: "=", value: 5 }), null);
  assert.deepEqual(soqlCondition(NAME, { column: "name", op: "like", pattern: "A%" }), {
    soql: "Name LIKE 'A%'",
    exact: false,
  });
  assert.deepEqual(soqlCondition(NAME, { column: "name", op: "is null" }), {
    soql: "Name = null",
    exact: true,
  });
});

Deno.test("soqlCondition(): numbers, datetimes and dates", () => {
  assert.equal(
    soqlCondition(AMOUNT, { column: "amount", op: ">=", value: 10 })?.soql,
    "Amount >= 10",
  );
  assert.equal(soqlCondition(AMOUNT, { column: "amount", op: "!=", value: 10 })?.exact, false);
  assert.equal(
    soqlCondition(CREATED, { column: "created", op: ">", value: "2026-01-02T03:04:05Z" })?.soql,
    "CreatedDate > 2026-01-02T03:04:05Z",
  );
  // Milliseconds widen to the enclosing second (Salesforce keeps whole seconds).
  assert.deepEqual(
    soqlCondition(CREATED, { column: "created", op: "<", value: "2026-01-02T03:04:05.500Z" }),
    { soql: "CreatedDate <= 2026-01-02T03:04:06Z", exact: false },
  );
  assert.equal(
    soqlCondition(CLOSE, { column: "close", op: ">=", value: "2026-01-02" })?.soql,
    "CloseDate >= 2026-01-02",
  );
  assert.equal(
    soqlCondition(CLOSE, { column: "close", op: ">=", value: "2026-01-02T12:00:00Z" })?.soql,
    "CloseDate > 2026-01-02",
  );
  assert.equal(
    soqlCondition(CLOSE, { column: "close", op: "=", value: "2026-01-02T12:00:00Z" }),
    null,
  );
  assert.equal(soqlCondition(CREATED, { column: "created", op: ">", value: "not a date" }), null);
});

Deno.test("planSoql(): ORDER BY + LIMIT only when SOQL sorts like DuckDB and all is exact", () => {
  const fields = [{ column: "id", field: "Id", kind: "id" as const }, NAME, AMOUNT];
  const top = planSoql(fields, {
    predicates: [{ column: "amount", op: ">", value: 5 }],
    columns: ["id"],
    orderBy: [{ column: "amount", direction: "desc" }],
    limit: 3,
  });
  assert.equal(
    renderSoql("Opportunity", top),
    "SELECT Id, Amount FROM Opportunity WHERE Amount > 5 ORDER BY Amount DESC NULLS LAST LIMIT 3",
  );
  const byName = planSoql(fields, {
    predicates: [],
    columns: ["id"],
    orderBy: [{ column: "name", direction: "asc" }],
    limit: 3,
  });
  assert.equal(byName.limit, undefined);
  assert.deepEqual(byName.orderBy, []);
  const inexact = planSoql(fields, {
    predicates: [{ column: "name", op: "=", value: "x" }],
    columns: ["id"],
    limit: 3,
  });
  assert.equal(inexact.limit, undefined);
  const residual = planSoql(fields, {
    predicates: [{ column: "name", op: "!=", value: "x" }],
    columns: ["id"],
  });
  assert.deepEqual(residual.residual.length, 1);
  assert.deepEqual(residual.fields, ["Id", "Name"]);
});
