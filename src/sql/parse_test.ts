import assert from "node:assert/strict";
import { OmniError } from "../errors.ts";
import { MAX_SQL_LENGTH, parseQuery } from "./parse.ts";

function fails(sql: string, code: string, message?: RegExp): OmniError {
  try {
    parseQuery(sql);
  } catch (err) {
    assert.ok(err instanceof OmniError, `expected OmniError, got ${err}`);
    assert.equal(err.code, code, err.message);
    if (message) assert.match(err.message, message);
    return err;
  }
  assert.fail(`expected ${code} for ${sql}`);
}

const names = (sql: string) =>
  parseQuery(sql).analysis.tables.map((t) =>
    `${t.schema ?? "?"}.${t.table}${t.alias ? ` ${t.alias}` : ""}`
  );

Deno.test("parseQuery() lists the tables of the seed join with their aliases", () => {
  const q = parseQuery(`SELECT gh.pr_id, gh.merged_at, jira.issue_key, jira.status
FROM github.pull_requests gh
JOIN jira.issues jira ON gh.branch = jira.branch_name
WHERE gh.status = 'merged' AND jira.status != 'Done'`);
  assert.equal(q.explain, false);
  assert.deepEqual(q.analysis.tables, [
    { schema: "github", table: "pull_requests", alias: "gh" },
    { schema: "jira", table: "issues", alias: "jira" },
  ]);
});

Deno.test("parseQuery() strips EXPLAIN, whitespace and the trailing semicolon", () => {
  const q = parseQuery("  explain SELECT * FROM github.pull_requests ;  ");
  assert.equal(q.explain, true);
  assert.equal(q.sql, "SELECT * FROM github.pull_requests");
  assert.equal(parseQuery("SELECT 1;").sql, "SELECT 1");
});

Deno.test("parseQuery() rejects EXPLAIN ANALYZE", () => {
  fails("EXPLAIN ANALYZE SELECT 1", "INVALID_REQUEST", /EXPLAIN ANALYZE/);
});

Deno.test("parseQuery() rejects empty and oversized SQL as INVALID_REQUEST", () => {
  fails("", "INVALID_REQUEST");
  fails("   \n ", "INVALID_REQUEST");
  fails("-- only a comment", "INVALID_REQUEST");
  fails(`SELECT 1 ${" ".repeat(MAX_SQL_LENGTH)}`, "INVALID_REQUEST", /too long/);
  // deno-lint-ignore no-explicit-any
  fails(42 as any, "INVALID_REQUEST");
});

Deno.test("parseQuery() rejects writes and DDL as INVALID_REQUEST naming the statement", () => {
  fails("DROP TABLE github.pull_requests", "INVALID_REQUEST", /got DROP$/);
  fails("insert into jira.issues values (1)", "INVALID_REQUEST", /got INSERT/);
  fails("UPDATE jira.issues SET status = 'x'", "INVALID_REQUEST", /got UPDATE/);
  fails("DELETE FROM jira.issues", "INVALID_REQUEST", /got DELETE/);
  fails("/* hi */ -- there\n  ATTACH 'x.db' AS x", "INVALID_REQUEST", /got ATTACH/);
  fails("PRAGMA database_list", "INVALID_REQUEST", /got PRAGMA/);
  fails("COPY jira.issues TO '/tmp/x.csv'", "INVALID_REQUEST", /got COPY/);
  fails("INSTALL httpfs", "INVALID_REQUEST", /got INSTALL/);
  fails("SET memory_limit = '1GB'", "INVALID_REQUEST", /got SET/);
  fails("CREATE TABLE t AS SELECT 1", "INVALID_REQUEST", /got CREATE/);
  fails("EXPLAIN DROP TABLE x", "INVALID_REQUEST", /got DROP/);
  // node-sql-parser cannot parse a data-modifying CTE: it never runs.
  fails("WITH x AS (DELETE FROM t RETURNING *) SELECT * FROM x", "PLAN_FAILED");
});

Deno.test("parseQuery() rejects several statements, even read-only ones", () => {
  fails("SELECT 1; SELECT 2", "INVALID_REQUEST", /one statement/);
  fails("SELECT 1; DROP TABLE x", "INVALID_REQUEST", /one statement/);
  fails("SELECT 1; ATTACH 'x'", "INVALID_REQUEST", /one statement/);
  assert.equal(parseQuery("SELECT 1; -- done").sql, "SELECT 1; -- done");
});

Deno.test("parseQuery() reports parse errors as PLAN_FAILED with line and column", () => {
  const e = fails("SELEC 1", "PLAN_FAILED", /line 1, column 1/);
  assert.deepEqual(e.details, { line: 1, column: 1 });
  const e2 = fails("SELECT a\nFROM t\nWHERE = 3", "PLAN_FAILED", /line 3, column 7/);
  assert.deepEqual(e2.details, { line: 3, column: 7 });
  // EXPLAIN is blanked, not cut: the position is still the user's.
  fails("EXPLAIN SELECT FROM WHERE", "PLAN_FAILED", /line 1, column 21/);
  fails("SELECT 'unterminated", "PLAN_FAILED", /unterminated string/);
  fails("\n\n  SELECT a FROM t WHERE", "PLAN_FAILED", /line 3, column 24/);
  fails("/* c */ SELECT FROM WHERE", "PLAN_FAILED", /line 1, column 21/);
});

Deno.test("parseQuery() refuses a backtick outside strings and comments, where the parsers differ", () => {
  // node-sql-parser would read the backticks as quoting one name; DuckDB would run the UNION.
  const hidden = "SELECT NULL AS x FROM (SELECT 1 AS y) t WHERE false " +
    "WINDOW w AS (ORDER BY ` y) UNION ALL SELECT 42 FROM duckdb_tables() -- `)";
  fails(hidden, "PLAN_FAILED", /line 1, column 75: a backtick is not a quote/);
  fails("SELECT `pr_id` FROM github.pull_requests", "PLAN_FAILED", /backtick/);
  // In a string, a quoted identifier or a comment it is text, as DuckDB reads it.
  assert.deepEqual(
    names("SELECT '`', \"a`b\" FROM github.pull_requests -- `\n/* ` */"),
    ["github.pull_requests"],
  );
});

Deno.test("parseQuery() lists tables in subqueries, CTE bodies, UNION branches and EXISTS", () => {
  assert.deepEqual(
    names(`WITH merged AS (SELECT * FROM github.pull_requests WHERE status = 'merged')
      SELECT m.pr_id, (SELECT count(*) FROM linear.issues li WHERE li.branch_name = m.branch)
      FROM merged m
      WHERE m.branch IN (SELECT branch_name FROM jira.issues)
        AND EXISTS (SELECT 1 FROM salesforce.accounts a)
      UNION ALL SELECT 1, 2 FROM (SELECT * FROM salesforce.opportunities) o`),
    [
      "github.pull_requests",
      "linear.issues li",
      "jira.issues",
      "salesforce.accounts a",
      "salesforce.opportunities",
    ],
  );
});

Deno.test("parseQuery() does not take CTE names for tables, but does take schema-qualified names", () => {
  assert.deepEqual(names("WITH issues AS (SELECT 1 AS x) SELECT * FROM issues"), []);
  assert.deepEqual(
    names("WITH issues AS (SELECT 1 AS x) SELECT * FROM issues, jira.issues"),
    ["jira.issues"],
  );
  assert.deepEqual(
    names(
      "WITH RECURSIVE r(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM r WHERE n < 3) SELECT * FROM r",
    ),
    [],
  );
  // A CTE is visible to later CTEs, not earlier ones.
  assert.deepEqual(
    names("WITH a AS (SELECT * FROM b), b AS (SELECT 1) SELECT * FROM a"),
    ["?.b"],
  );
});

Deno.test("parseQuery() lower-cases quoted and unquoted names; a table without schema has schema null", () => {
  assert.deepEqual(parseQuery('SELECT * FROM "GitHub"."Pull_Requests" AS "GH"').analysis.tables, [
    { schema: "github", table: "pull_requests", alias: "gh" },
  ]);
  assert.deepEqual(parseQuery("select * from PULL_REQUESTS").analysis.tables, [
    { schema: null, table: "pull_requests", alias: null },
  ]);
});

Deno.test("parseQuery() rejects three-part names and table functions as PLAN_FAILED", () => {
  fails("SELECT * FROM memory.github.pull_requests", "PLAN_FAILED", /three-part/);
  fails("SELECT * FROM read_csv('/etc/passwd')", "PLAN_FAILED", /table functions.*read_csv/);
  fails("SELECT * FROM duckdb_tables()", "PLAN_FAILED", /duckdb_tables/);
  fails("SELECT * FROM generate_series(1, 3) g", "PLAN_FAILED", /generate_series/);
  fails(
    "SELECT * FROM github.pull_requests WHERE pr_id IN (SELECT * FROM read_parquet('x'))",
    "PLAN_FAILED",
    /read_parquet/,
  );
});

Deno.test("parseQuery() reads backslashes in strings as DuckDB does: plain characters", () => {
  // DuckDB: a = 'x\' AND b = 1 (the -- starts a comment). A PostgreSQL-style lexer would read
  // one string "x\' -- " instead: the AST must be DuckDB's.
  const q = parseQuery("SELECT * FROM t WHERE a = 'x\\' -- '\n AND b = 1");
  const where = q.ast.where as { left: { right: { value: string } } };
  assert.equal(where.left.right.value, "x\\");
  const q2 = parseQuery("SELECT \"we\\ird\" FROM t WHERE a = 'C:\\dir\\n'");
  assert.match(JSON.stringify(q2.ast), /we\\\\ird/);
});

Deno.test("parseQuery() accepts window functions, casts, ILIKE, FILTER and parenthesised UNIONs", () => {
  assert.equal(
    names(`SELECT pr_id, row_number() OVER (PARTITION BY repo ORDER BY created_at) rn,
      date_trunc('day', created_at::timestamp), count(*) FILTER (WHERE status = 'merged')
      FROM github.pull_requests WHERE title ILIKE '%fix%' GROUP BY 1, 2, 3`).length,
    1,
  );
  assert.deepEqual(
    names("(SELECT pr_id FROM github.pull_requests) UNION (SELECT id FROM linear.issues)"),
    ["github.pull_requests", "linear.issues"],
  );
});

Deno.test("parseQuery() rejects DuckDB joins the parser misreads and file names in FROM", () => {
  fails(
    "SELECT * FROM github.pull_requests ASOF JOIN jira.issues USING (k)",
    "PLAN_FAILED",
    /ASOF/,
  );
  fails("SELECT * FROM github.pull_requests ANTI JOIN jira.issues ON true", "PLAN_FAILED", /ANTI/);
  fails("SELECT * FROM github.pull_requests SEMI JOIN jira.issues ON true", "PLAN_FAILED", /SEMI/);
  fails("SELECT * FROM 'secrets.csv'", "PLAN_FAILED", /not a table name/);
  fails('SELECT * FROM "/etc/passwd"', "PLAN_FAILED", /not a table name/);
});

Deno.test("parseQuery() refuses engine settings, catalog, file and system functions anywhere", () => {
  const PR = "github.pull_requests";
  const refused: [string, string][] = [
    ["SELECT current_setting('secret_directory')", "current_setting"],
    ["SELECT current_setting('memory_limit') AS m", "current_setting"],
    [`SELECT "current_setting"('memory_limit')`, "current_setting"],
    ["SELECT CURRENT_SETTING('memory_limit')", "current_setting"],
    ["SELECT main.current_setting('memory_limit')", "current_setting"],
    ["SELECT 'memory_limit'.current_setting()", "current_setting"],
    ["SELECT getenv('HOME')", "getenv"],
    ["SELECT getvariable('x')", "getvariable"],
    ["SELECT version()", "version"],
    ["SELECT current_database()", "current_database"],
    ["SELECT write_log('x')", "write_log"],
    ["SELECT nextval('s')", "nextval"],
    [`SELECT pr_id FROM ${PR} WHERE title = current_setting('a')`, "current_setting"],
    [`SELECT pr_id FROM ${PR} ORDER BY length(current_setting('a'))`, "current_setting"],
    [`SELECT CAST(current_setting('a') AS VARCHAR) AS s`, "current_setting"],
    [`SELECT (SELECT current_setting('a')) AS s`, "current_setting"],
    [`SELECT * FROM (SELECT current_setting('a') AS s) x`, "current_setting"],
    [`WITH c AS (SELECT current_setting('a') AS s) SELECT * FROM c`, "current_setting"],
    [`SELECT 1 AS a UNION SELECT length(current_setting('a'))`, "current_setting"],
    [`SELECT pr_id FROM ${PR} WHERE EXISTS (SELECT 1 WHERE getenv('x') IS NULL)`, "getenv"],
    [`SELECT CASE WHEN true THEN current_setting('a') END AS c`, "current_setting"],
    [`SELECT count(*) FILTER (WHERE getenv('x') = 'y') AS n FROM ${PR}`, "getenv"],
    [`SELECT sum(pr_id) OVER (PARTITION BY getenv('x')) AS n FROM ${PR}`, "getenv"],
    [`SELECT stats(title) FROM ${PR}`, "stats"],
    ["SELECT current_catalog", "current_catalog"],
    ["SELECT current_schema AS s", "current_schema"],
    ["SELECT current_role", "current_role"],
  ];
  for (const [sql, name] of refused) {
    const err = fails(sql, "PLAN_FAILED", new RegExp(`function ${name}`));
    assert.equal(err.details?.function, name, sql);
  }
  for (
    const sql of [
      "SELECT * FROM duckdb_settings()",
      "SELECT * FROM read_csv('/etc/passwd')",
      "SELECT * FROM glob('*')",
      "SELECT * FROM pragma_database_list()",
      `SELECT * FROM ${PR} g, (SELECT * FROM duckdb_functions()) f`,
    ]
  ) fails(sql, "PLAN_FAILED", /table functions are not allowed|function/);
  // What queries need stays callable.
  parseQuery(
    `SELECT lower(author), coalesce(email, '-'), count(*) AS n, max(merged_at), ` +
      `date_trunc('day', created_at), row_number() OVER (ORDER BY pr_id), ` +
      `trim(both 'x' from title), position('a' in title), extract(year from created_at), ` +
      `CURRENT_TIMESTAMP, string_agg(title, ',') FROM ${PR} GROUP BY 1, 2, 4, 5, 7, 8, 9`,
  );
});

/** Deep shapes of every kind, each far past the limits. */
const DEEP_SHAPES: Record<string, string> = {
  "5000 NOT": "SELECT " + "NOT ".repeat(5000) + "TRUE",
  "8000 NOT": "SELECT " + "NOT ".repeat(8000) + "TRUE",
  "5000 unary minus": "SELECT " + "- ".repeat(5000) + "1",
  "5000 unary plus, no spaces": "SELECT " + "+".repeat(5000) + "1",
  "mixed prefixes": "SELECT " + "NOT -~".repeat(2000) + "1",
  "8000 + terms": "SELECT " + Array(8000).fill("1").join(" + "),
  "8000 ANDs": "SELECT 1 WHERE " + Array(8000).fill("TRUE").join(" AND "),
  "8000 ORs": "SELECT 1 WHERE " + Array(8000).fill("FALSE").join(" OR "),
  "5000 ||": "SELECT " + Array(5000).fill("'a'").join(" || "),
  "2000 CASE": "SELECT " + "CASE WHEN TRUE THEN ".repeat(2000) + "1" + " END".repeat(2000),
  "2000 calls": "SELECT " + "abs(".repeat(2000) + "1" + ")".repeat(2000),
  "3000 brackets": "SELECT " + "[".repeat(3000) + "1" + "]".repeat(3000),
  "3000 braces": "SELECT " + "{'a': ".repeat(3000) + "1" + "}".repeat(3000),
  "NOT (… 5000": "SELECT " + "NOT (".repeat(5000) + "TRUE" + ")".repeat(5000),
  "deep subqueries": "SELECT " + "(SELECT ".repeat(1000) + "1" + ")".repeat(1000),
  "100 CASE × 100 NOT": "SELECT " + ("CASE WHEN " + "NOT ".repeat(100)).repeat(100) + "TRUE" +
    " THEN 1 END".repeat(100),
};

Deno.test("parseQuery() answers every deep shape with INVALID_REQUEST naming the limit", () => {
  for (const [name, sql] of Object.entries(DEEP_SHAPES)) {
    const err = fails(sql, "INVALID_REQUEST", /nest/);
    assert.match(String(err.details?.limit), /^max_(nesting|expression)_depth$/, name);
    assert.equal(typeof err.details?.max, "number", name);
  }
  // Below the limits the same shapes parse.
  parseQuery("SELECT " + "NOT ".repeat(100) + "TRUE");
  parseQuery("SELECT " + "- ".repeat(100) + "1");
  parseQuery("SELECT 1 WHERE " + Array(400).fill("TRUE").join(" AND "));
  parseQuery("SELECT " + "abs(".repeat(120) + "1" + ")".repeat(120));
  parseQuery("SELECT 1 WHERE 1 IN (" + Array(20_000).fill("1").join(",") + ")");
  parseQuery("SELECT 1 - 2 - 3 + " + Array(300).fill("4").join(" - "));
});
