import assert from "node:assert/strict";
import { catalogRefusal } from "./view_guard.ts";

Deno.test("tools' introspection passes the catalog guard", () => {
  for (
    const sql of [
      "SELECT n.nspname, c.relname FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n " +
      "ON n.oid = c.relnamespace WHERE has_table_privilege(c.oid, 'INSERT, UPDATE')",
      "WITH t AS (SELECT table_name FROM information_schema.tables) SELECT * FROM t",
      "SHOW search_path",
      "SELECT a.attname FROM pg_attribute a, generate_series(1, 32) s(i) WHERE a.attnum = s.i",
      'SELECT "update" FROM (VALUES (1)) v("update")',
      "SELECT has_table_privilege('x', 'update') AS update, true AS insert, 1 AS delete FROM t",
    ]
  ) {
    assert.equal(catalogRefusal(sql), undefined, sql);
  }
});

Deno.test("writes, utility statements and denied functions are refused however hidden", () => {
  const cases: [string, string][] = [
    ["WITH i AS (INSERT INTO pg_description VALUES (1,1,0,'x') RETURNING 1) SELECT 1", "25006"],
    ["WITH u AS (UPDATE pg_class SET relname = 'x' RETURNING 1) SELECT 1", "25006"],
    ["SELECT 1 INTO t", "25006"],
    ["WITH d AS (DELETE FROM pg_description RETURNING 1) SELECT 1", "25006"],
    ["WITH m AS (MERGE INTO t USING s ON true WHEN MATCHED THEN DO NOTHING) SELECT 1", "25006"],
    ["WITH u AS (UPDATE ONLY pg_catalog.pg_class AS c SET relname = 'x') SELECT 1", "25006"],
    ["COMMIT", "25006"],
    ["DO $$ BEGIN END $$", "25006"],
    ["SELECT $$'$$; INSERT INTO pg_description VALUES (1,1,0,'x')", "25006"],
    ["SELECT E'\\'' ; DELETE FROM pg_description --'", "25006"],
    ['SELECT 1 AS "\'"; DELETE FROM pg_description', "25006"],
    ["SELECT pg_sleep(1)", "42501"],
    ["SELECT pg_catalog.\"pg_sleep_until\"('tomorrow')", "42501"],
    ["SELECT pg_sleep/**/(1)", "42501"],
    ["SELECT 'x' /* pg_sleep(1) */", "42501"],
    ['SELECT U&"pg\\005fsleep"(1)', "42501"],
    ["SELECT repeat('x', 100000000)", "42501"],
    ["SELECT set_config('role', 'postgres', true)", "42501"],
    // SQL from a string, its function names built by concat (a review found ts_stat ran them).
    ["SELECT ts_stat(concat('SELECT to_tsvector(set_', 'config(''a.b'',''x'',false))'))", "42501"],
    ["SELECT ts_rewrite('a'::tsquery, concat('SELECT ', 'pg_', 'sleep(30)'))", "42501"],
    ["SELECT pg_read_file('/etc/passwd')", "42501"],
    ["SELECT lo_import('/etc/passwd')", "42501"],
    ["SELECT query_to_xml('SELECT 1', true, true, '')", "42501"],
    ["SELECT pg_advisory_lock(1)", "42501"],
  ];
  for (const [sql, code] of cases) assert.equal(catalogRefusal(sql)?.code, code, sql);
});
