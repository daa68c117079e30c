import assert from "node:assert/strict";
import type { ColumnDef } from "../../connectors/sdk/table.ts";
import { OmniError } from "../errors.ts";
import { EnginePool, type MaterializedTable } from "./mod.ts";

// One pool for the file: its engine processes outlive each test; the last test closes it.
const opts = { sanitizeResources: false, sanitizeOps: false };
const engine = new EnginePool({ size: 2 });

const col = (name: string, type: ColumnDef["type"]): ColumnDef => ({ name, type, description: "" });

const PULLS: MaterializedTable = {
  schema: "github",
  name: "pull_requests",
  columns: [
    col("pr_id", "integer"),
    col("author", "text"),
    col("branch", "text"),
    col("additions", "integer"),
    col("merged_at", "timestamp"),
  ],
  rows: [
    { pr_id: 1, author: "ana", branch: "feat/a", additions: 10, merged_at: "2024-01-02T10:00:00Z" },
    { pr_id: 2, author: "bo", branch: "feat/b", additions: 5, merged_at: "2024-01-02T23:30:00Z" },
    { pr_id: 3, author: "ana", branch: "fix/c", additions: 1, merged_at: "2023-12-31T08:00:00Z" },
    { pr_id: 4, author: "cy", branch: "feat/d", additions: 7, merged_at: null },
  ],
};

const ISSUES: MaterializedTable = {
  schema: "jira",
  name: "issues",
  columns: [col("key", "text"), col("branch_name", "text"), col("story_points", "double")],
  rows: [
    { key: "MOB-1", branch_name: "feat/a", story_points: 3 },
    { key: "MOB-2", branch_name: "feat/b", story_points: 5.5 },
    { key: "MOB-3", branch_name: "nowhere", story_points: null },
  ],
};

function run(sql: string, tables = [PULLS, ISSUES], maxRows?: number) {
  return engine.run({ tables, sql, maxRows }, { tenantId: "t" });
}

async function rejects(sql: string, codes: string[], tables = [PULLS, ISSUES]) {
  const err = await run(sql, tables).then(
    () => assert.fail(`expected ${sql} to fail`),
    (e: unknown) => e,
  );
  assert.ok(err instanceof OmniError, `not an OmniError: ${err}`);
  assert.ok(codes.includes(err.code), `${sql}: ${err.code} ${err.message}`);
  return err;
}

Deno.test("run() round-trips every column type, nulls and awkward strings", opts, async () => {
  const table: MaterializedTable = {
    schema: "s",
    name: "t",
    columns: [
      col("n", "integer"),
      col("txt", "text"),
      col("d", "double"),
      col("b", "boolean"),
      col("ts", "timestamp"),
      col("j", "json"),
    ],
    rows: [
      {
        n: 1,
        txt: `it's "quoted"\nnew line, tab\t, émoji 🎉, 漢字`,
        d: 1.5,
        b: true,
        ts: "2024-01-02T03:04:05Z",
        j: { labels: ["bug", "p1"], n: 2 },
        extra: "ignored",
      },
      { n: -7, txt: "", d: -0.25, b: false, ts: "2024-01-02T03:04:05.123456+02:00", j: [1, "x"] },
      { n: null, txt: null, d: null, b: null, ts: null, j: null },
      {}, // every key missing → NULL
    ],
  };
  const result = await run("SELECT * FROM s.t", [table]);
  assert.deepEqual(result.columns, ["n", "txt", "d", "b", "ts", "j"]);
  assert.deepEqual(result.rows, [
    {
      n: 1,
      txt: `it's "quoted"\nnew line, tab\t, émoji 🎉, 漢字`,
      d: 1.5,
      b: true,
      ts: "2024-01-02T03:04:05.000Z",
      j: '{"labels":["bug","p1"],"n":2}',
    },
    {
      n: -7,
      txt: "",
      d: -0.25,
      b: false,
      ts: "2024-01-02T01:04:05.123456Z",
      j: '[1,"x"]',
    },
    { n: null, txt: null, d: null, b: null, ts: null, j: null },
    { n: null, txt: null, d: null, b: null, ts: null, j: null },
  ]);
  assert.equal(result.truncated, false);
  assert.ok(result.timing.ingest_ms >= 0 && result.timing.query_ms >= 0);
  JSON.stringify(result); // never throws
});

Deno.test("run() loads columns with their declared DuckDB types", opts, async () => {
  const types = await run(
    "SELECT column_name, data_type FROM information_schema.columns " +
      "WHERE table_name = 'pull_requests' ORDER BY ordinal_position",
  );
  assert.deepEqual(types.rows.map((r) => `${r.column_name}:${r.data_type}`), [
    "pr_id:BIGINT",
    "author:VARCHAR",
    "branch:VARCHAR",
    "additions:BIGINT",
    "merged_at:TIMESTAMP",
  ]);
});

Deno.test("run() coerces loosely typed source values to the declared type", opts, async () => {
  const table: MaterializedTable = {
    schema: "s",
    name: "t",
    columns: [col("n", "integer"), col("d", "double"), col("b", "boolean"), col("txt", "text")],
    rows: [
      { n: "42", d: "2.5", b: "true", txt: 12 },
      { n: 9007199254740993n, d: 3n, b: 0, txt: true },
      { n: "not a number", d: "nope", b: "maybe", txt: { a: 1 } },
    ],
  };
  const { rows } = await run("SELECT * FROM s.t", [table]);
  assert.deepEqual(rows, [
    { n: 42, d: 2.5, b: true, txt: "12" },
    { n: "9007199254740993", d: 3, b: false, txt: "true" },
    { n: null, d: null, b: null, txt: '{"a":1}' },
  ]);
});

Deno.test("run() loads ISO timestamps as proper TIMESTAMPs (UTC)", opts, async () => {
  const table: MaterializedTable = {
    schema: "s",
    name: "t",
    columns: [col("id", "integer"), col("happened", "timestamp")],
    rows: [
      { id: 1, happened: "2024-01-01T23:00:00-02:00" }, // 2024-01-02T01:00Z
      { id: 2, happened: "2024-01-01T12:00:00Z" },
      { id: 3, happened: "2023-06-30 08:15:00" }, // no zone: UTC
      { id: 4, happened: "2024-01-01T00:30:00.000+0100" }, // Salesforce style: 2023-12-31T23:30Z
      { id: 5, happened: "garbage" },
    ],
  };
  const { rows } = await run(
    "SELECT id, happened AS at, happened > '2024-01-01' AS after_new_year, year(happened) AS y, " +
      "date_trunc('day', happened) AS day FROM s.t ORDER BY happened NULLS LAST",
    [table],
  );
  assert.deepEqual(rows, [
    { id: 3, at: "2023-06-30T08:15:00.000Z", after_new_year: false, y: 2023, day: "2023-06-30" },
    { id: 4, at: "2023-12-31T23:30:00.000Z", after_new_year: false, y: 2023, day: "2023-12-31" },
    { id: 2, at: "2024-01-01T12:00:00.000Z", after_new_year: true, y: 2024, day: "2024-01-01" },
    { id: 1, at: "2024-01-02T01:00:00.000Z", after_new_year: true, y: 2024, day: "2024-01-02" },
    { id: 5, at: null, after_new_year: null, y: null, day: null },
  ]);
});

Deno.test("run() joins across two schemas, as written and with aliases", opts, async () => {
  const plain = await run(
    "SELECT github.pull_requests.pr_id, jira.issues.key FROM github.pull_requests " +
      "JOIN jira.issues ON github.pull_requests.branch = jira.issues.branch_name ORDER BY 1",
  );
  assert.deepEqual(plain.rows, [{ pr_id: 1, key: "MOB-1" }, { pr_id: 2, key: "MOB-2" }]);

  const short = await run(
    "SELECT pr_id, key FROM github.pull_requests JOIN jira.issues ON branch = branch_name " +
      "ORDER BY pr_id",
  );
  assert.deepEqual(short.rows, plain.rows);

  const aliased = await run(
    "SELECT p.pr_id, i.key AS issue_key, i.story_points FROM github.pull_requests AS p " +
      "LEFT JOIN jira.issues i ON p.branch = i.branch_name ORDER BY p.pr_id",
  );
  assert.deepEqual(aliased.columns, ["pr_id", "issue_key", "story_points"]);
  assert.deepEqual(aliased.rows, [
    { pr_id: 1, issue_key: "MOB-1", story_points: 3 },
    { pr_id: 2, issue_key: "MOB-2", story_points: 5.5 },
    { pr_id: 3, issue_key: null, story_points: null },
    { pr_id: 4, issue_key: null, story_points: null },
  ]);
});

Deno.test("run() keeps both values of duplicate column names", opts, async () => {
  const { columns, rows } = await run(
    "SELECT p.pr_id AS id, i.key AS id, p.author, p.author FROM github.pull_requests p " +
      "JOIN jira.issues i ON p.branch = i.branch_name ORDER BY 1",
  );
  assert.deepEqual(columns, ["id", "id_1", "author", "author_1"]);
  assert.deepEqual(rows[0], { id: 1, id_1: "MOB-1", author: "ana", author_1: "ana" });
});

Deno.test("run() handles CTEs, window functions, GROUP BY, UNION and CASE", opts, async () => {
  const cte = await run(`
    WITH per_author AS (
      SELECT author, count(*) AS prs, sum(additions) AS lines
      FROM github.pull_requests GROUP BY author
    )
    SELECT author, prs, lines,
           rank() OVER (ORDER BY lines DESC) AS rnk,
           CASE WHEN prs > 1 THEN 'busy' ELSE 'calm' END AS mood
    FROM per_author ORDER BY rnk`);
  assert.deepEqual(cte.rows, [
    { author: "ana", prs: 2, lines: 11, rnk: 1, mood: "busy" },
    { author: "cy", prs: 1, lines: 7, rnk: 2, mood: "calm" },
    { author: "bo", prs: 1, lines: 5, rnk: 3, mood: "calm" },
  ]);

  const union = await run(
    "SELECT branch AS b FROM github.pull_requests UNION SELECT branch_name FROM jira.issues " +
      "ORDER BY b LIMIT 3",
  );
  assert.deepEqual(union.rows.map((r) => r.b), ["feat/a", "feat/b", "feat/d"]);

  const running = await run(
    "SELECT pr_id, sum(additions) OVER (ORDER BY pr_id ROWS UNBOUNDED PRECEDING) AS total " +
      "FROM github.pull_requests ORDER BY pr_id DESC LIMIT 2",
  );
  assert.deepEqual(running.rows, [{ pr_id: 4, total: 23 }, { pr_id: 3, total: 16 }]);
});

Deno.test("run() returns date functions and ORDER BY timestamps correctly", opts, async () => {
  const { rows } = await run(
    "SELECT date_trunc('day', merged_at) AS day, count(*) AS n FROM github.pull_requests " +
      "WHERE merged_at > '2024-01-01' GROUP BY 1 ORDER BY 1",
  );
  assert.deepEqual(rows, [{ day: "2024-01-02", n: 2 }]);
  const latest = await run(
    "SELECT pr_id, merged_at FROM github.pull_requests ORDER BY merged_at DESC NULLS LAST LIMIT 1",
  );
  assert.deepEqual(latest.rows, [{ pr_id: 2, merged_at: "2024-01-02T23:30:00.000Z" }]);
});

Deno.test("run() converts DuckDB's other types to JSON-safe values", opts, async () => {
  const { rows } = await run(`SELECT
      9007199254740991::BIGINT AS safe, 9007199254740993::BIGINT AS big,
      (-9223372036854775808)::BIGINT AS min, 170141183460469231731687303715884105727::HUGEINT AS huge,
      sum(pr_id) AS summed, 12.34::DECIMAL(10, 2) AS dec2, -0.5::DECIMAL(4, 1) AS neg,
      DATE '2024-02-29' AS day, TIME '13:14:15.5' AS clock,
      TIMESTAMPTZ '2024-01-02 03:04:05+00' AS tz, 'infinity'::TIMESTAMP AS forever,
      INTERVAL 1 MONTH + INTERVAL 2 DAY + INTERVAL 90 MINUTE AS span,
      [1, 2, NULL] AS list, {'a': 1, 'b': [DATE '2024-01-01']} AS obj,
      MAP {'k': 10::BIGINT} AS m, 'NaN'::DOUBLE AS nan, 'x'::BLOB AS blob, 42::UTINYINT AS small
    FROM github.pull_requests`);
  assert.deepEqual(rows, [{
    safe: 9007199254740991,
    big: "9007199254740993",
    min: "-9223372036854775808",
    huge: "170141183460469231731687303715884105727",
    summed: 10,
    dec2: 12.34,
    neg: -0.5,
    day: "2024-02-29",
    clock: "13:14:15.500000",
    tz: "2024-01-02T03:04:05.000Z",
    forever: "infinity",
    span: "P1M2DT1H30M",
    list: [1, 2, null],
    obj: { a: 1, b: ["2024-01-01"] },
    m: { k: 10 },
    nan: "NaN",
    blob: "eA==",
    small: 42,
  }]);
  JSON.stringify(rows);
});

Deno.test("run() stops converting at maxRows and says so", opts, async () => {
  const many: MaterializedTable = {
    schema: "s",
    name: "many",
    columns: [col("i", "integer")],
    rows: Array.from({ length: 50 }, (_, i) => ({ i })),
  };
  const cut = await run("SELECT i FROM s.many ORDER BY i", [many], 10);
  assert.equal(cut.truncated, true);
  assert.deepEqual(cut.rows.map((r) => r.i), [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
  const exact = await run("SELECT i FROM s.many", [many], 50);
  assert.equal(exact.truncated, false);
  assert.equal(exact.rows.length, 50);
  const byDefault = await run("SELECT * FROM range(10001)", []);
  assert.equal(byDefault.rows.length, 10_000);
  assert.equal(byDefault.truncated, true);
});

Deno.test("run() works with empty tables and no tables", opts, async () => {
  const empty = { ...PULLS, rows: [] };
  const { rows, columns } = await run("SELECT * FROM github.pull_requests", [empty]);
  assert.deepEqual(columns, ["pr_id", "author", "branch", "additions", "merged_at"]);
  assert.deepEqual(rows, []);
  assert.deepEqual((await run("SELECT 1 AS one", [])).rows, [{ one: 1 }]);
});

Deno.test("overlapping runs each see only their own rows under the same names", opts, async () => {
  const tableWith = (tag: string, n: number): MaterializedTable => ({
    ...PULLS,
    rows: Array.from({ length: n }, (_, i) => ({ pr_id: i, author: tag })),
  });
  const runs = ["a", "b", "c", "d"].map((tag, i) =>
    engine.run({
      tables: [tableWith(tag, 1000 * (i + 1))],
      sql: "SELECT min(author) AS lo, max(author) AS hi, count(*) AS n, " +
        "(SELECT count(*) FROM duckdb_tables()) AS tables " +
        "FROM github.pull_requests",
    }, { tenantId: `tenant-${tag}` })
  );
  const results = await Promise.all(runs);
  assert.deepEqual(results.map((r) => r.rows[0]), [
    { lo: "a", hi: "a", n: 1000, tables: 1 },
    { lo: "b", hi: "b", n: 2000, tables: 1 },
    { lo: "c", hi: "c", n: 3000, tables: 1 },
    { lo: "d", hi: "d", n: 4000, tables: 1 },
  ]);
  // Nothing is left behind: a later run does not see the earlier tables.
  await rejects("SELECT * FROM github.pull_requests", ["PLAN_FAILED"], []);
});

Deno.test("a failing run cleans up and does not disturb the next", opts, async () => {
  const [bad, good] = await Promise.allSettled([
    run("SELECT nope FROM github.pull_requests", [PULLS]),
    run("SELECT count(*) AS n FROM jira.issues", [ISSUES]),
  ]);
  assert.equal(bad.status, "rejected");
  assert.equal(good.status, "fulfilled");
  assert.deepEqual(good.value.rows, [{ n: 3 }]);
  await rejects("SELECT * FROM github.pull_requests", ["PLAN_FAILED"], [ISSUES]);
});

Deno.test("DuckDB errors in user SQL become PLAN_FAILED with DuckDB's message", opts, async () => {
  const unknownColumn = await rejects("SELECT nope FROM github.pull_requests", ["PLAN_FAILED"]);
  assert.match(unknownColumn.message, /Binder Error: Referenced column "nope" not found/);
  assert.match(unknownColumn.message, /\(line 1, column 8\)$/);
  assert.doesNotMatch(unknownColumn.message, /\n/);

  const unknownTable = await rejects("SELECT * FROM github.nope", ["PLAN_FAILED"]);
  assert.match(unknownTable.message, /Table with name nope does not exist/);
  assert.doesNotMatch(unknownTable.message, /q_[0-9a-f]{32}/);

  const syntax = await rejects("SELECT pr_id FROM github.pull_requests WHERE", ["PLAN_FAILED"]);
  assert.match(syntax.message, /Parser Error: syntax error/);
  await rejects("SELEC 1", ["PLAN_FAILED"]);

  const mismatch = await rejects("SELECT author + 1 FROM github.pull_requests", ["PLAN_FAILED"]);
  assert.match(mismatch.message, /Binder Error/);

  await rejects("SELECT CAST(author AS INTEGER) FROM github.pull_requests", ["PLAN_FAILED"]);
  await rejects("SELECT 1 / 0 AS x, error('boom')", ["PLAN_FAILED"]);
  await rejects("", ["INVALID_REQUEST"]);
});

Deno.test("user SQL cannot reach files, the network, extensions or settings", opts, async () => {
  const cases = [
    "SELECT * FROM read_csv('/etc/passwd')",
    "SELECT * FROM '/etc/passwd'",
    "SELECT * FROM read_text('/etc/hostname')",
    "SELECT * FROM glob('/*')",
    "SELECT * FROM 'https://example.com/data.csv'",
    "SELECT * FROM read_json('rows.json')",
    "SELECT * FROM read_parquet('x.parquet')",
    "ATTACH ':memory:' AS other",
    "ATTACH '/tmp/omnisql_evil.duckdb' AS other",
    "DETACH memory",
    "USE memory",
    "COPY (SELECT 1) TO '/tmp/omnisql_evil.csv'",
    "COPY github.pull_requests TO '/tmp/omnisql_evil.csv'",
    "EXPORT DATABASE '/tmp/omnisql_evil'",
    "INSTALL httpfs",
    "LOAD httpfs",
    "SET enable_external_access = true",
    "SET lock_configuration = false",
    "RESET autoload_known_extensions",
    "PRAGMA enable_profiling",
    "PRAGMA database_list",
    "CALL pragma_version()",
    "CREATE TABLE memory.main.leak AS SELECT 1",
    "WITH x AS (SELECT 1 AS a) INSERT INTO github.pull_requests (pr_id) SELECT a FROM x",
    "DELETE FROM github.pull_requests",
    "DROP TABLE github.pull_requests",
    "SELECT 1; ATTACH ':memory:' AS other",
    "SELECT 1; SELECT 2",
    "EXPLAIN SELECT 1",
  ];
  for (const sql of cases) {
    const err = await rejects(sql, ["PLAN_FAILED", "INVALID_REQUEST"]);
    assert.doesNotMatch(err.message, /root:/, sql);
  }
  // The process-wide settings are still locked down.
  const { rows } = await run(
    "SELECT current_setting('enable_external_access') AS ext, " +
      "current_setting('lock_configuration') AS locked, " +
      "current_setting('autoload_known_extensions') AS autoload",
    [],
  );
  assert.deepEqual(rows, [{ ext: false, locked: true, autoload: false }]);
  // DuckDB's own databases, and the query's: attached under an unguessable name for this query.
  const dbs = await run("SELECT database_name FROM duckdb_databases() ORDER BY 1", []);
  const names = dbs.rows.map((r) => String(r.database_name));
  assert.deepEqual(names.filter((n) => !/^q_[0-9a-f]{32}$/.test(n)), ["memory", "system", "temp"]);
  assert.equal(names.length, 4);
  const leaked = await run(
    "SELECT count(*) AS n FROM duckdb_tables() WHERE database_name = 'memory'",
    [],
  );
  assert.deepEqual(leaked.rows, [{ n: 0 }]);
});

Deno.test("reads of DuckDB's catalog functions stay inside the run's database", opts, async () => {
  const { rows } = await run(
    "SELECT schema_name, table_name FROM duckdb_tables() ORDER BY 1, 2",
  );
  assert.deepEqual(rows, [
    { schema_name: "github", table_name: "pull_requests" },
    { schema_name: "jira", table_name: "issues" },
  ]);
});

Deno.test("close() ends every engine process", opts, async () => {
  await engine.close();
  assert.equal(engine.stats().processes, 0);
  await assert.rejects(
    run("SELECT 1", []),
    (err: unknown) => err instanceof OmniError && err.code === "REGION_UNAVAILABLE",
  );
});
