import assert from "node:assert/strict";
import { routeOf, splitStatements } from "./statement.ts";

/** Where routeOf() sends statements, whatever their literals and comments hold. */
const ROUTES: Record<"pipeline" | "catalog", string[]> = {
  // Data statements (and what does not parse) go through the pipeline.
  pipeline: [
    "SELECT count(*) FROM github.pull_requests",
    "select 'pg_catalog' as x, title from jira.issues",
    "WITH t AS (SELECT * FROM github.pull_requests) SELECT * FROM t -- version()",
    "DELETE FROM github.pull_requests",
    "SELEC 1 FROM x",
  ],
  // Catalog reads and table-less selects are answered from the catalog view.
  catalog: [
    "SELECT * FROM information_schema.tables",
    "select relname from pg_class",
    "SELECT version()",
    "SELECT current_schema(),session_user",
    "SELECT 1",
    "select oid from pg_namespace where nspname = $1",
  ],
};

for (const [kind, statements] of Object.entries(ROUTES)) {
  Deno.test(`routeOf() routes each ${kind} statement there, whatever its literals hold`, () => {
    for (const sql of statements) assert.equal(routeOf(sql).kind, kind, sql);
  });
}

Deno.test("routeOf() answers session statements itself", () => {
  assert.deepEqual(routeOf("BEGIN"), { kind: "session", tag: "BEGIN", transaction: "begin" });
  assert.deepEqual(routeOf("rollback to savepoint a"), {
    kind: "session",
    tag: "ROLLBACK",
    transaction: "fail-safe",
  });
  assert.deepEqual(routeOf("SET TIME ZONE 'UTC'"), { kind: "set", name: "timezone", value: "UTC" });
  assert.deepEqual(routeOf("SET search_path TO DEFAULT"), {
    kind: "set",
    name: "search_path",
    value: null,
  });
  assert.deepEqual(routeOf("SHOW TRANSACTION ISOLATION LEVEL"), {
    kind: "show",
    name: "transaction",
  });
  assert.equal(routeOf("  -- nothing\n").kind, "empty");
});

Deno.test("splitStatements() splits only at top-level semicolons", () => {
  assert.deepEqual(
    splitStatements("SELECT ';' AS a; SELECT \"x;y\" FROM t; -- ; \nSELECT 2"),
    ["SELECT ';' AS a", ' SELECT "x;y" FROM t', " -- ; \nSELECT 2"],
  );
});
