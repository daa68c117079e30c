import assert from "node:assert/strict";
import type { ColumnDef, ColumnType, ScanOffer } from "../../connectors/sdk/table.ts";
import { buildOffers, type ResolvedTable } from "./offers.ts";
import { parseQuery } from "./parse.ts";

const cols = (spec: string): ColumnDef[] =>
  spec.split(/\s+/).filter(Boolean).map((s) => {
    const [name, type = "text"] = s.split(":");
    return { name, type: type as ColumnType, description: "" };
  });

const GH: ResolvedTable = {
  key: "github.pull_requests",
  columns: cols(`pr_id:integer number:integer repo title author email status branch base_branch
    team_id additions:integer deletions:integer created_at:timestamp updated_at:timestamp
    merged_at:timestamp`),
};
const JIRA: ResolvedTable = {
  key: "jira.issues",
  columns: cols(`issue_key summary status assignee branch_name story_points:double team project
    created:timestamp updated:timestamp`),
};
const LINEAR: ResolvedTable = {
  key: "linear.issues",
  columns: cols("id identifier title team branch_name state estimate:integer"),
};
const ALL = [GH, JIRA, LINEAR];

/** The offer of one `column = 'value'` predicate, reading `columns`. */
function equalsOffer(column: string, value: string, columns: string[]): ScanOffer {
  return { predicates: [{ column, op: "=", value }], columns };
}

function offers(sql: string, tables: ResolvedTable[] = ALL): Record<string, ScanOffer> {
  return Object.fromEntries(buildOffers(parseQuery(sql), tables));
}

Deno.test("buildOffers(): seed single-source query pushes status and reads every column", () => {
  const o = offers("SELECT * FROM github.pull_requests\nWHERE status = 'merged'", [GH]);
  assert.deepEqual(
    o["github.pull_requests"],
    equalsOffer("status", "merged", GH.columns.map((c) => c.name)),
  );
});

Deno.test("buildOffers(): seed cross-app join offers jira.status to jira only", () => {
  const o = offers(`SELECT gh.pr_id, gh.author, jira.issue_key, jira.status as jira_status
FROM github.pull_requests gh
JOIN jira.issues jira ON gh.branch = jira.branch_name
WHERE jira.status = 'In Progress'`);
  assert.deepEqual(o["github.pull_requests"], {
    predicates: [],
    columns: ["pr_id", "author", "branch"],
  });
  assert.deepEqual(o["jira.issues"], {
    predicates: [{ column: "status", op: "=", value: "In Progress" }],
    columns: ["issue_key", "status", "branch_name"],
  });
});

Deno.test("buildOffers(): seed security audit splits gh.status and jira.status != 'Done'", () => {
  const o = offers(`SELECT gh.pr_id, gh.merged_at, jira.issue_key, jira.status
FROM github.pull_requests gh
JOIN jira.issues jira ON gh.branch = jira.branch_name
WHERE gh.status = 'merged' AND jira.status != 'Done'`);
  assert.deepEqual(o["github.pull_requests"].predicates, [
    { column: "status", op: "=", value: "merged" },
  ]);
  assert.deepEqual(o["github.pull_requests"].columns, ["pr_id", "status", "branch", "merged_at"]);
  assert.deepEqual(o["jira.issues"].predicates, [{ column: "status", op: "!=", value: "Done" }]);
  assert.deepEqual(o["jira.issues"].columns, ["issue_key", "status", "branch_name"]);
});

Deno.test("buildOffers(): seed effort mapping reads the summed columns and offers no limit to a join", () => {
  const o = offers(`SELECT jira.issue_key, jira.story_points,
       (gh.additions + gh.deletions) as total_loc
FROM jira.issues jira
JOIN github.pull_requests gh ON jira.branch_name = gh.branch
ORDER BY total_loc DESC LIMIT 10`);
  assert.deepEqual(o["jira.issues"], {
    predicates: [],
    columns: ["issue_key", "branch_name", "story_points"],
  });
  assert.deepEqual(o["github.pull_requests"], {
    predicates: [],
    columns: ["branch", "additions", "deletions"],
  });
});

Deno.test("buildOffers(): the 3-way Linear join offers gh.status = 'merged' to github only", () => {
  const o = offers(`SELECT gh.pr_id, ji.issue_key, li.title FROM github.pull_requests gh
    JOIN jira.issues ji ON gh.branch = ji.branch_name JOIN linear.issues li ON gh.team_id = li.team
    WHERE gh.status = 'merged'`);
  assert.deepEqual(
    o["github.pull_requests"],
    equalsOffer("status", "merged", ["pr_id", "status", "branch", "team_id"]),
  );
  assert.deepEqual(o["jira.issues"], { predicates: [], columns: ["issue_key", "branch_name"] });
  assert.deepEqual(o["linear.issues"], { predicates: [], columns: ["title", "team"] });
});

Deno.test("buildOffers(): an unqualified column goes to the one table that has it", () => {
  const o = offers(`SELECT pr_id, issue_key FROM github.pull_requests gh
    JOIN jira.issues ji ON branch = branch_name WHERE additions > 10 AND story_points >= 3`);
  assert.deepEqual(o["github.pull_requests"].predicates, [
    { column: "additions", op: ">", value: 10 },
  ]);
  assert.deepEqual(o["jira.issues"].predicates, [{ column: "story_points", op: ">=", value: 3 }]);
  // `status` is in both tables: ambiguous, read from both, offered to neither.
  const amb = offers(`SELECT status FROM github.pull_requests gh
    JOIN jira.issues ji ON gh.branch = ji.branch_name WHERE status = 'x'`);
  assert.deepEqual(amb["github.pull_requests"].predicates, []);
  assert.deepEqual(amb["jira.issues"].predicates, []);
  assert.ok(amb["github.pull_requests"].columns.includes("status"));
  assert.ok(amb["jira.issues"].columns.includes("status"));
});

Deno.test("buildOffers(): hostile literals arrive as the exact string value", () => {
  const cases: [string, string][] = [
    ["'x'' OR project = SECRET'", "x' OR project = SECRET"],
    ["'it''s \"quoted\"'", 'it\'s "quoted"'],
    ["'C:\\\\path\\n'", "C:\\\\path\\n"],
    ["'ends with a backslash\\'", "ends with a backslash\\"],
    ["'\\'' OR 1=1 --'", "\\' OR 1=1 --"],
    ["'tab\\t \\u0041 \\x41'", "tab\\t \\u0041 \\x41"],
    ["'line1\nline2\r\n'", "line1\nline2\r\n"],
    ["'ünïcødé 😀 ‮'", "ünïcødé 😀 ‮"],
    ["'--not a comment /* nor this */'", "--not a comment /* nor this */"],
    ["''", ""],
  ];
  for (const [sql, value] of cases) {
    const o = offers(`SELECT * FROM jira.issues WHERE summary = ${sql}`, [JIRA]);
    assert.deepEqual(o["jira.issues"].predicates, [{ column: "summary", op: "=", value }], sql);
  }
});

Deno.test("buildOffers(): supported conjunct shapes become predicates", () => {
  const o = offers(
    `SELECT pr_id FROM github.pull_requests WHERE 100 < additions AND deletions <= 5
      AND status IN ('open', 'merged', NULL) AND repo NOT IN ('a') AND merged_at IS NULL
      AND email IS NOT NULL AND title LIKE 'fix%' AND number BETWEEN 1 AND 9
      AND created_at >= '2024-01-01'::date AND updated_at < TIMESTAMP '2024-02-01 00:00:00'
      AND merged_at > DATE '2023-01-01' AND author <> 'bot' AND pr_id = '42' AND team_id = -1`,
    [GH],
  );
  assert.deepEqual(o["github.pull_requests"].predicates, [
    { column: "additions", op: ">", value: 100 },
    { column: "deletions", op: "<=", value: 5 },
    { column: "status", op: "in", values: ["open", "merged"] },
    { column: "repo", op: "not in", values: ["a"] },
    { column: "merged_at", op: "is null" },
    { column: "email", op: "is not null" },
    { column: "title", op: "like", pattern: "fix%" },
    { column: "number", op: ">=", value: 1 },
    { column: "number", op: "<=", value: 9 },
    { column: "created_at", op: ">=", value: "2024-01-01T00:00:00.000Z" },
    { column: "updated_at", op: "<", value: "2024-02-01T00:00:00.000Z" },
    { column: "merged_at", op: ">", value: "2023-01-01T00:00:00.000Z" },
    { column: "author", op: "!=", value: "bot" },
    { column: "pr_id", op: "=", value: 42 },
  ]);
});

Deno.test("buildOffers(): other conjuncts are left to DuckDB", () => {
  const o = offers(
    `SELECT pr_id FROM github.pull_requests gh WHERE lower(status) = 'merged'
      OR repo = 'x' AND (status = 'a' OR status = 'b') AND additions > deletions
      AND title NOT LIKE 'x%' AND title ILIKE 'x' AND title LIKE 'a!%' ESCAPE '!'
      AND repo = "merged" AND status = NULL AND repo NOT IN ('a', NULL)
      AND additions IN (SELECT 1) AND additions = 'many' AND status = 1 AND title = 'x' || 'y'
      AND pr_id = 12345678901234567890 AND nope = 'x' AND created_at > 'yesterday'
      AND NOT status = 'x' AND status = ANY(ARRAY['a'])`,
    [GH],
  );
  assert.deepEqual(o["github.pull_requests"].predicates, []);
  const and = offers(
    `SELECT pr_id FROM github.pull_requests WHERE (status = 'a' OR status = 'b')
      AND additions > deletions AND title = 'x'`,
    [GH],
  );
  assert.deepEqual(and["github.pull_requests"].predicates, [
    { column: "title", op: "=", value: "x" },
  ]);
});

Deno.test("buildOffers(): a conjunct mixing two tables is never offered", () => {
  const o = offers(`SELECT 1 FROM github.pull_requests gh, jira.issues ji
    WHERE gh.branch = ji.branch_name AND gh.status = ji.status AND ji.project = 'MOB'`);
  assert.deepEqual(o["github.pull_requests"].predicates, []);
  assert.deepEqual(o["jira.issues"].predicates, [{ column: "project", op: "=", value: "MOB" }]);
});

Deno.test("buildOffers(): a self-join or a table used twice gets no predicates", () => {
  const o = offers(`SELECT a.pr_id FROM github.pull_requests a
    JOIN github.pull_requests b ON a.base_branch = b.branch WHERE a.status = 'open'`);
  assert.deepEqual(o["github.pull_requests"].predicates, []);
  assert.deepEqual(o["github.pull_requests"].columns, ["pr_id", "status", "branch", "base_branch"]);
  const twice = offers(`WITH m AS (SELECT * FROM jira.issues WHERE status = 'Done')
    SELECT * FROM m JOIN jira.issues j ON m.issue_key = j.issue_key`);
  assert.deepEqual(twice["jira.issues"].predicates, []);
});

Deno.test("buildOffers(): predicates inside CTEs and subqueries go to their own tables", () => {
  const o = offers(`WITH merged AS (SELECT * FROM github.pull_requests WHERE status = 'merged')
    SELECT m.pr_id FROM merged m
    WHERE m.branch IN (SELECT branch_name FROM jira.issues WHERE project = 'MOB')
      AND EXISTS (SELECT 1 FROM linear.issues li WHERE li.branch_name = m.branch AND li.state = 'Done')
      AND m.repo = 'web'`);
  assert.deepEqual(o["github.pull_requests"].predicates, [
    { column: "status", op: "=", value: "merged" },
  ]);
  assert.deepEqual(o["github.pull_requests"].columns, GH.columns.map((c) => c.name));
  assert.deepEqual(o["jira.issues"], equalsOffer("project", "MOB", ["branch_name", "project"]));
  assert.deepEqual(o["linear.issues"], equalsOffer("state", "Done", ["branch_name", "state"]));
});

Deno.test("buildOffers(): a correlated subquery reads the outer table's columns", () => {
  const o = offers(`SELECT gh.pr_id,
      (SELECT count(*) FROM jira.issues ji WHERE ji.branch_name = gh.branch AND gh.additions > 1)
    FROM github.pull_requests gh`);
  assert.deepEqual(o["github.pull_requests"].columns, ["pr_id", "branch", "additions"]);
  // A conjunct on the outer table inside the subquery filters nothing of it: not offered.
  assert.deepEqual(o["github.pull_requests"].predicates, []);
  assert.deepEqual(o["jira.issues"].predicates, []);
});

Deno.test("buildOffers(): UNION branches each offer their own predicates; no limit", () => {
  const o = offers(`SELECT title FROM github.pull_requests WHERE status = 'open'
    UNION ALL SELECT title FROM linear.issues WHERE state = 'Todo' ORDER BY 1 LIMIT 5`);
  assert.deepEqual(o["github.pull_requests"], equalsOffer("status", "open", ["title", "status"]));
  assert.deepEqual(o["linear.issues"], equalsOffer("state", "Todo", ["title", "state"]));
});

Deno.test("buildOffers(): window functions read their columns and block the limit", () => {
  const o = offers(
    `SELECT pr_id, row_number() OVER (PARTITION BY repo ORDER BY created_at) AS rn
      FROM github.pull_requests WHERE status = 'merged' LIMIT 3`,
    [GH],
  );
  assert.deepEqual(
    o["github.pull_requests"],
    equalsOffer("status", "merged", ["pr_id", "repo", "status", "created_at"]),
  );
});

Deno.test("buildOffers(): quoted identifiers and unaliased qualified names resolve", () => {
  const o = offers(
    `SELECT "GH"."PR_ID", github.pull_requests.title, pull_requests.repo
      FROM "github"."pull_requests" WHERE "Status" = 'open' AND github.pull_requests.author = 'me'`,
    [GH],
  );
  assert.deepEqual(o["github.pull_requests"].columns, ["repo", "title", "author", "status"]);
  assert.deepEqual(o["github.pull_requests"].predicates, [
    { column: "status", op: "=", value: "open" },
    { column: "author", op: "=", value: "me" },
  ]);
});

Deno.test("buildOffers(): SELECT * and gh.* read all columns of the right tables", () => {
  const o = offers(`SELECT gh.*, ji.issue_key FROM github.pull_requests gh
    JOIN jira.issues ji ON gh.branch = ji.branch_name`);
  assert.deepEqual(o["github.pull_requests"].columns, GH.columns.map((c) => c.name));
  assert.deepEqual(o["jira.issues"].columns, ["issue_key", "branch_name"]);
  const star = offers(`SELECT * FROM github.pull_requests gh
    JOIN jira.issues ji ON gh.branch = ji.branch_name`);
  assert.deepEqual(star["jira.issues"].columns, JIRA.columns.map((c) => c.name));
  assert.deepEqual(star["linear.issues"].columns, []);
});

Deno.test("buildOffers(): a table without schema maps to the resolved table of that name", () => {
  const o = offers("SELECT title FROM pull_requests WHERE status = 'open'", [GH]);
  assert.deepEqual(o["github.pull_requests"].predicates, [
    { column: "status", op: "=", value: "open" },
  ]);
});

Deno.test("buildOffers(): outer joins offer no IS NULL on the nullable side and nothing on FULL", () => {
  const left = offers(`SELECT gh.pr_id FROM github.pull_requests gh
    LEFT JOIN jira.issues ji ON gh.branch = ji.branch_name
    WHERE ji.issue_key IS NULL AND ji.project IS NOT NULL AND gh.repo IS NULL`);
  assert.deepEqual(left["jira.issues"].predicates, [{ column: "project", op: "is not null" }]);
  assert.deepEqual(left["github.pull_requests"].predicates, [{ column: "repo", op: "is null" }]);
  const right = offers(`SELECT 1 FROM github.pull_requests gh
    RIGHT JOIN jira.issues ji ON gh.branch = ji.branch_name
    WHERE gh.email IS NULL AND gh.status = 'open' AND ji.assignee IS NULL`);
  assert.deepEqual(right["github.pull_requests"].predicates, [
    { column: "status", op: "=", value: "open" },
  ]);
  assert.deepEqual(right["jira.issues"].predicates, [{ column: "assignee", op: "is null" }]);
  const full = offers(`SELECT 1 FROM github.pull_requests gh
    FULL OUTER JOIN jira.issues ji ON gh.branch = ji.branch_name
    WHERE gh.status = 'open' AND ji.status = 'Done'`);
  assert.deepEqual(full["github.pull_requests"].predicates, []);
  assert.deepEqual(full["jira.issues"].predicates, []);
});

Deno.test("buildOffers(): ON conjuncts are offered for INNER joins and a LEFT join's right side only", () => {
  const inner = offers(`SELECT 1 FROM github.pull_requests gh
    JOIN jira.issues ji ON gh.branch = ji.branch_name AND ji.project = 'MOB' AND gh.repo = 'app'`);
  assert.deepEqual(inner["jira.issues"].predicates, [{ column: "project", op: "=", value: "MOB" }]);
  assert.deepEqual(inner["github.pull_requests"].predicates, [
    { column: "repo", op: "=", value: "app" },
  ]);
  const left = offers(`SELECT 1 FROM github.pull_requests gh
    LEFT JOIN jira.issues ji ON gh.branch = ji.branch_name AND ji.assignee IS NULL
      AND gh.repo = 'app'`);
  // Right side: only rows passing the ON can match, so pre-filtering it is exact.
  assert.deepEqual(left["jira.issues"].predicates, [{ column: "assignee", op: "is null" }]);
  // Preserved side: every row survives a LEFT join whatever its ON says.
  assert.deepEqual(left["github.pull_requests"].predicates, []);
  const right = offers(`SELECT 1 FROM github.pull_requests gh
    RIGHT JOIN jira.issues ji ON gh.branch = ji.branch_name AND ji.project = 'X'`);
  assert.deepEqual(right["jira.issues"].predicates, []);
});

Deno.test("buildOffers(): single-table ORDER BY + LIMIT is offered, with OFFSET added", () => {
  const o = offers(
    "SELECT pr_id, title FROM github.pull_requests gh WHERE status = 'open' ORDER BY gh.created_at DESC, pr_id LIMIT 10 OFFSET 5",
    [GH],
  );
  assert.deepEqual(o["github.pull_requests"], {
    predicates: [{ column: "status", op: "=", value: "open" }],
    columns: ["pr_id", "title", "status", "created_at"],
    orderBy: [{ column: "created_at", direction: "desc" }, { column: "pr_id", direction: "asc" }],
    limit: 15,
  });
  const alone = offers("SELECT * FROM github.pull_requests LIMIT 5", [GH]);
  assert.equal(alone["github.pull_requests"].limit, 5);
  assert.equal(alone["github.pull_requests"].orderBy, undefined);
  const byAlias = offers("SELECT created_at AS c FROM github.pull_requests ORDER BY c LIMIT 2", [
    GH,
  ]);
  assert.deepEqual(byAlias["github.pull_requests"].orderBy, [
    { column: "created_at", direction: "asc" },
  ]);
  // ORDER BY an output name sorts by what it names, not by the input column of that name.
  const shadow = offers(
    "SELECT title AS status FROM github.pull_requests ORDER BY status LIMIT 5",
    [GH],
  );
  assert.deepEqual(shadow["github.pull_requests"].orderBy, [{ column: "title", direction: "asc" }]);
  const byOrdinal = offers("SELECT title, repo FROM github.pull_requests ORDER BY 2 LIMIT 2", [GH]);
  assert.deepEqual(byOrdinal["github.pull_requests"].orderBy, [
    { column: "repo", direction: "asc" },
  ]);
});

Deno.test("buildOffers(): no ORDER BY/LIMIT offer unless the query is a plain single-table SELECT", () => {
  const none = [
    "SELECT * FROM github.pull_requests WHERE lower(title) = 'x' LIMIT 5",
    "SELECT * FROM github.pull_requests ORDER BY additions + deletions LIMIT 5",
    "SELECT DISTINCT repo FROM github.pull_requests LIMIT 5",
    "SELECT repo, count(*) FROM github.pull_requests GROUP BY repo LIMIT 5",
    "SELECT median(additions) FROM github.pull_requests LIMIT 1",
    "SELECT count(*) FROM github.pull_requests LIMIT 1",
    "SELECT unnest(string_split(title, ',')) FROM github.pull_requests LIMIT 1",
    "SELECT * FROM github.pull_requests WHERE pr_id IN (SELECT 1) LIMIT 5",
    "SELECT * FROM github.pull_requests ORDER BY created_at NULLS FIRST LIMIT 5",
    "SELECT * FROM github.pull_requests OFFSET 5",
    "SELECT * FROM github.pull_requests ORDER BY created_at",
    "WITH x AS (SELECT 1) SELECT * FROM github.pull_requests LIMIT 5",
    "SELECT * FROM github.pull_requests, (SELECT 1) s LIMIT 5",
    "SELECT * FROM github.pull_requests gh(a, b) LIMIT 5",
  ];
  for (const sql of none) {
    const o = offers(sql, [GH])["github.pull_requests"];
    assert.equal(o.limit, undefined, sql);
    assert.equal(o.orderBy, undefined, sql);
  }
});

Deno.test("buildOffers(): renamed columns (alias column list) read everything and offer nothing", () => {
  const o = offers("SELECT a FROM github.pull_requests gh(a, b) WHERE b = 'x'", [GH]);
  assert.deepEqual(o["github.pull_requests"].columns, GH.columns.map((c) => c.name));
  assert.deepEqual(o["github.pull_requests"].predicates, []);
});

Deno.test("buildOffers(): a whole-row reference and struct access over-fetch instead of missing", () => {
  const row = offers("SELECT gh FROM github.pull_requests gh", [GH]);
  assert.deepEqual(row["github.pull_requests"].columns, GH.columns.map((c) => c.name));
  const struct = offers("SELECT gh.title.x, author.login FROM github.pull_requests gh", [GH]);
  assert.deepEqual(struct["github.pull_requests"].columns, ["title", "author"]);
});

Deno.test("buildOffers(): literals are typed and normalised as DuckDB casts them", () => {
  const pred = (where: string) =>
    offers(`SELECT pr_id FROM github.pull_requests WHERE ${where}`, [GH])["github.pull_requests"]
      .predicates;
  // A TIMESTAMP column ignores the literal's offset and keeps its microseconds.
  assert.deepEqual(pred("created_at < '2025-12-29T09:40:04.142+02:00'"), [
    { column: "created_at", op: "<", value: "2025-12-29T09:40:04.142Z" },
  ]);
  assert.deepEqual(pred("created_at < '2025-01-06T12:39:44.000001Z'"), [
    { column: "created_at", op: "<", value: "2025-01-06T12:39:44.000001Z" },
  ]);
  assert.deepEqual(pred("created_at = '2025-1-6 12:39:44 UTC'"), [
    { column: "created_at", op: "=", value: "2025-01-06T12:39:44.000Z" },
  ]);
  assert.deepEqual(pred("created_at >= '2025-01-06T12:39:44-0330'"), [
    { column: "created_at", op: ">=", value: "2025-01-06T12:39:44.000Z" },
  ]);
  // Spellings whose reading is not certain, numbers the parser rounds, and `'3.5'` on an
  // integer column (DuckDB rounds it to 4) are not pushed.
  for (
    const where of [
      "created_at > '2025-02-30'",
      "created_at > 'epoch'",
      "additions = '3.5'",
      "additions != 3.0000000000000001",
      "additions = '0x10'",
    ]
  ) assert.deepEqual(pred(where), [], where);
  assert.deepEqual(pred("additions = ' 3 '"), [{ column: "additions", op: "=", value: 3 }]);
});

Deno.test("buildOffers(): names bind by DuckDB's rules: an alias hides the table's name", () => {
  // Inside the subquery `issues` is not the aliased linear.issues: it is the outer jira.issues.
  const o = offers(
    `SELECT count(*) AS n FROM jira.issues WHERE EXISTS
      (SELECT 1 FROM linear.issues l WHERE issues.team = 'web')`,
    [JIRA, LINEAR],
  );
  assert.deepEqual(o["linear.issues"].predicates, []);
  assert.deepEqual(o["jira.issues"].predicates, []);
  assert.deepEqual(o["jira.issues"].columns, ["team"]);
  // Unaliased, the inner table is the one named.
  const inner = offers(
    `SELECT count(*) AS n FROM jira.issues WHERE EXISTS
      (SELECT 1 FROM linear.issues WHERE issues.team = 'web')`,
    [JIRA, LINEAR],
  );
  assert.deepEqual(inner["linear.issues"].predicates, [
    { column: "team", op: "=", value: "web" },
  ]);
});
