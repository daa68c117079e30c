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
  // SQLSTATE 25006 (read_only_sql_transaction) for writes and utility statements, 42501
  // (insufficient_privilege) for denied functions.
  const refused: Record<string, string[]> = {
    "25006": [
      "WITH i AS (INSERT INTO pg_description VALUES (1,1,0,'x') RETURNING 1) SELECT 1",
      "WITH u AS (UPDATE pg_class SET relname = 'x' RETURNING 1) SELECT 1",
      "SELECT 1 INTO t",
      "WITH d AS (DELETE FROM pg_description RETURNING 1) SELECT 1",
      "WITH m AS (MERGE INTO t USING s ON true WHEN MATCHED THEN DO NOTHING) SELECT 1",
      "WITH u AS (UPDATE ONLY pg_catalog.pg_class AS c SET relname = 'x') SELECT 1",
      "COMMIT",
      "DO $$ BEGIN END $$",
      "SELECT $$'$$; INSERT INTO pg_description VALUES (1,1,0,'x')",
      "SELECT E'\\'' ; DELETE FROM pg_description --'",
      'SELECT 1 AS "\'"; DELETE FROM pg_description',
    ],
    "42501": [
      "SELECT pg_sleep(1)",
      "SELECT pg_catalog.\"pg_sleep_until\"('tomorrow')",
      "SELECT pg_sleep/**/(1)",
      "SELECT 'x' /* pg_sleep(1) */",
      'SELECT U&"pg\\005fsleep"(1)',
      "SELECT repeat('x', 100000000)",
      "SELECT format('%800000000s', 'x')",
      "SELECT set_config('role', 'postgres', true)",
      // SQL from a string, its function names built by concat (a review found ts_stat ran them).
      "SELECT ts_stat(concat('SELECT to_tsvector(set_', 'config(''a.b'',''x'',false))'))",
      "SELECT ts_rewrite('a'::tsquery, concat('SELECT ', 'pg_', 'sleep(30)'))",
      "SELECT pg_read_file('/etc/passwd')",
      "SELECT lo_import('/etc/passwd')",
      "SELECT query_to_xml('SELECT 1', true, true, '')",
      "SELECT pg_advisory_lock(1)",
    ],
  };
  for (const [code, statements] of Object.entries(refused)) {
    for (const sql of statements) assert.equal(catalogRefusal(sql)?.code, code, sql);
  }
});
