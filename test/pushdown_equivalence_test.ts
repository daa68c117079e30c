/**
 * Pushing is never allowed to change a result: every query here runs end to end against the
 * sandboxes twice — with pushdown (predicates, order, limit and dependent joins handed to the
 * APIs) and with pushdown off (every table fetched whole, DuckDB does everything) — and the two
 * answers must be the same multiset of rows.
 */
import assert from "node:assert/strict";
import { startPlannerHarness } from "./_planner.ts";

const opts = { sanitizeResources: false, sanitizeOps: false };

/** Rows as a sorted list of JSON texts: equality of multisets. */
const multiset = (rows: Record<string, unknown>[]) => rows.map((r) => JSON.stringify(r)).sort();

const GITHUB = [
  "SELECT * FROM github.pull_requests WHERE status = 'merged'",
  "SELECT pr_id, status FROM github.pull_requests WHERE status != 'open'",
  "SELECT pr_id FROM github.pull_requests WHERE status IN ('open', 'merged')",
  "SELECT pr_id FROM github.pull_requests WHERE status NOT IN ('closed')",
  "SELECT pr_id FROM github.pull_requests WHERE state = 'closed' AND status <> 'merged'",
  "SELECT pr_id, repo FROM github.pull_requests WHERE repo = 'web-app' AND status = 'open'",
  "SELECT pr_id FROM github.pull_requests WHERE repo IN ('ios-app', 'web-dashboard')",
  "SELECT pr_id FROM github.pull_requests WHERE repo > 'ios-app' AND repo <= 'web-app'",
  "SELECT pr_id FROM github.pull_requests WHERE team_id = 'mobile' AND repo LIKE '%app'",
  "SELECT pr_id FROM github.pull_requests WHERE team_id IS NULL",
  "SELECT pr_id FROM github.pull_requests WHERE merged_at IS NULL AND status != 'closed'",
  "SELECT pr_id FROM github.pull_requests WHERE merged_at >= '2026-02-01' OR status = 'open'",
  "SELECT pr_id FROM github.pull_requests WHERE base_branch = 'main' AND branch LIKE 'feature/%'",
  "SELECT pr_id FROM github.pull_requests WHERE branch = 'feature/MOB-3-login-flow'",
  "SELECT pr_id FROM github.pull_requests WHERE status = 'x'' OR status = ''merged'",
  "SELECT pr_id FROM github.pull_requests WHERE repo = 'web-app\" OR 1=1' OR branch = 'a\\b'",
  "SELECT pr_id FROM github.pull_requests WHERE branch = 'line\nbreak' OR title = 'ü🚀'",
  "SELECT pr_id, created_at FROM github.pull_requests ORDER BY created_at DESC LIMIT 5",
  "SELECT pr_id, updated_at FROM github.pull_requests WHERE status = 'merged' " +
  "ORDER BY updated_at LIMIT 7",
  "SELECT pr_id FROM github.pull_requests WHERE repo = 'ios-app' LIMIT 3",
  "SELECT number, repo, additions FROM github.pull_requests WHERE repo = 'ios-app' " +
  "AND status = 'open'",
  "SELECT author, count(*) AS n FROM github.pull_requests WHERE status = 'merged' GROUP BY author",
  "SELECT pr_id, row_number() OVER (PARTITION BY repo ORDER BY created_at, pr_id) AS rn " +
  "FROM github.pull_requests WHERE status = 'open'",
  "WITH m AS (SELECT * FROM github.pull_requests WHERE status = 'merged') " +
  "SELECT repo, count(*) AS n FROM m WHERE team_id = 'web' GROUP BY repo",
  "SELECT pr_id FROM github.pull_requests WHERE status = 'open' " +
  "UNION ALL SELECT pr_id FROM github.pull_requests WHERE repo = 'web-app'",
  "SELECT pr_id FROM (SELECT * FROM github.pull_requests WHERE status = 'closed') s " +
  "WHERE s.repo = 'mobile-app'",
  "SELECT CASE WHEN status = 'merged' THEN 'done' ELSE 'not yet' END AS s, count(*) AS n " +
  "FROM github.pull_requests GROUP BY 1",
  "SELECT pr_id FROM github.pull_requests gh WHERE NOT EXISTS " +
  "(SELECT 1 FROM jira.issues ji WHERE ji.branch_name = gh.branch) AND gh.status = 'open'",
];

const JIRA = [
  "SELECT issue_key, status FROM jira.issues WHERE status = 'In Progress'",
  "SELECT issue_key FROM jira.issues WHERE status != 'Done'",
  "SELECT issue_key FROM jira.issues WHERE status IN ('To Do', 'In Review', 'Nope')",
  "SELECT issue_key FROM jira.issues WHERE status NOT IN ('Done', 'To Do')",
  "SELECT issue_key FROM jira.issues WHERE status_category = 'done' AND project = 'MOB'",
  "SELECT issue_key FROM jira.issues WHERE team IN ('web') AND story_points >= 3",
  "SELECT issue_key FROM jira.issues WHERE story_points < 2 OR story_points IS NULL",
  "SELECT issue_key FROM jira.issues WHERE story_points BETWEEN 2 AND 5",
  "SELECT issue_key FROM jira.issues WHERE assignee IS NULL",
  "SELECT issue_key FROM jira.issues WHERE assignee_account_id IS NOT NULL AND project != 'WEB'",
  "SELECT issue_key FROM jira.issues WHERE created > '2026-01-20' AND created <= '2026-03-01'",
  "SELECT issue_key FROM jira.issues WHERE updated < TIMESTAMP '2026-02-10 12:00:00'",
  "SELECT issue_key FROM jira.issues WHERE issue_key = 'MOB-3' OR issue_key = 'WEB-2'",
  "SELECT issue_key FROM jira.issues WHERE issue_key IN ('MOB-1', 'WEB-4', 'NOPE-1')",
  "SELECT issue_key FROM jira.issues WHERE summary LIKE '%login%'",
  "SELECT issue_key FROM jira.issues WHERE branch_name = 'feature/MOB-3-login-flow'",
  "SELECT issue_key FROM jira.issues WHERE branch_name LIKE 'feature/WEB%'",
  "SELECT issue_key FROM jira.issues WHERE status = 'x'' OR project = SECRET'",
  "SELECT issue_key FROM jira.issues WHERE status = 'Done\" OR project = \"SECRET'",
  "SELECT issue_key FROM jira.issues WHERE summary = 'back\\slash' OR status = 'a\nb'",
  "SELECT issue_key FROM jira.issues WHERE assignee = 'ünïcødé 🚀'",
  "SELECT issue_key, created FROM jira.issues WHERE project = 'WEB' ORDER BY created DESC LIMIT 4",
  "SELECT issue_key, updated FROM jira.issues ORDER BY updated LIMIT 3",
  "SELECT project, status, count(*) AS n, sum(story_points) AS pts FROM jira.issues " +
  "GROUP BY project, status",
  "SELECT issue_key, rank() OVER (PARTITION BY project ORDER BY story_points DESC, issue_key) " +
  "AS r FROM jira.issues WHERE status != 'Done'",
  "WITH open AS (SELECT * FROM jira.issues WHERE status_category != 'done') " +
  "SELECT team, count(*) AS n FROM open GROUP BY team",
  "SELECT issue_key FROM jira.issues WHERE status = 'Done' " +
  "UNION SELECT issue_key FROM jira.issues WHERE project = 'MOB'",
  "SELECT issue_key FROM jira.issues WHERE story_points > (SELECT avg(story_points) " +
  "FROM jira.issues)",
];

const LINEAR = [
  "SELECT identifier, state FROM linear.issues WHERE state = 'In Progress'",
  "SELECT identifier FROM linear.issues WHERE state_type != 'completed' AND estimate >= 2",
  "SELECT identifier FROM linear.issues WHERE team IN ('MOB') OR priority < 2",
  "SELECT identifier FROM linear.issues WHERE assignee_email IS NULL",
  "SELECT identifier FROM linear.issues WHERE title LIKE '%login%' OR title = 'x\" } OR 1'",
  "SELECT identifier, created_at FROM linear.issues ORDER BY created_at DESC LIMIT 5",
  "SELECT li.identifier, gh.pr_id FROM linear.issues li JOIN github.pull_requests gh " +
  "ON gh.branch = li.branch_name WHERE gh.status = 'merged'",
];

const SALESFORCE = [
  "SELECT name, stage_name FROM salesforce.opportunities WHERE stage_name = 'Closed Won'",
  "SELECT name FROM salesforce.opportunities WHERE amount > 50000 AND is_closed = false",
  "SELECT name FROM salesforce.opportunities WHERE stage_name IN ('Prospecting', 'x'' OR Id != ''')",
  "SELECT name FROM salesforce.accounts WHERE industry IS NULL OR name LIKE 'A%'",
  "SELECT name, amount FROM salesforce.opportunities ORDER BY amount DESC LIMIT 3",
  "SELECT a.name, count(*) AS n FROM salesforce.accounts a JOIN salesforce.opportunities o " +
  "ON o.account_id = a.id WHERE a.industry = 'Technology' GROUP BY a.name",
  "SELECT o.name, ji.status FROM salesforce.opportunities o JOIN jira.issues ji " +
  "ON ji.issue_key = o.jira_issue_key WHERE o.is_won = true",
];

const JOINS = [
  "SELECT gh.pr_id, gh.author, jira.issue_key, jira.status AS jira_status " +
  "FROM github.pull_requests gh JOIN jira.issues jira ON gh.branch = jira.branch_name " +
  "WHERE jira.status = 'In Progress'",
  "SELECT gh.pr_id, gh.merged_at, jira.issue_key, jira.status FROM github.pull_requests gh " +
  "JOIN jira.issues jira ON gh.branch = jira.branch_name " +
  "WHERE gh.status = 'merged' AND jira.status != 'Done'",
  "SELECT gh.pr_id, ji.issue_key FROM jira.issues ji JOIN github.pull_requests gh " +
  "ON gh.branch = ji.branch_name WHERE ji.issue_key IN ('MOB-3', 'WEB-2')",
  "SELECT gh.pr_id, ji.issue_key FROM github.pull_requests gh LEFT JOIN jira.issues ji " +
  "ON gh.branch = ji.branch_name AND ji.status = 'Done' WHERE gh.repo = 'web-app'",
  "SELECT ji.issue_key, gh.pr_id FROM jira.issues ji LEFT JOIN github.pull_requests gh " +
  "ON gh.branch = ji.branch_name WHERE gh.pr_id IS NULL",
  "SELECT ji.team, count(DISTINCT gh.pr_id) AS prs FROM github.pull_requests gh, jira.issues ji " +
  "WHERE gh.branch = ji.branch_name AND gh.team_id = ji.team GROUP BY ji.team",
  "SELECT gh.pr_id FROM github.pull_requests gh FULL JOIN jira.issues ji " +
  "ON gh.branch = ji.branch_name WHERE ji.status = 'Done' OR gh.status = 'open'",
];

Deno.test("pushdown on and off return the same rows", opts, async (t) => {
  const h = await startPlannerHarness();
  try {
    const check = async (sql: string) => {
      // Pushdown off fetches every column of every row (detail calls included): a fresh budget.
      h.sandboxes.github.reset();
      const on = await h.run(sql);
      const off = await h.run(sql, { pushdown: false });
      assert.deepEqual(on.columns, off.columns, sql);
      assert.deepEqual(multiset(on.rows), multiset(off.rows), sql);
      // Pushdown off fetches every table whole: nothing pushed, nothing to compare against.
      assert.ok(off.sources.every((s) => s.pushdown.pushed.length === 0), sql);
      return on;
    };
    await t.step("github.pull_requests", async () => {
      for (const sql of GITHUB) await check(sql);
    });
    await t.step("jira.issues", async () => {
      for (const sql of JIRA) await check(sql);
    });
    const present = (schema: string) => h.connections.some((c) => c.name === schema);
    await t.step({
      name: "linear.issues",
      ignore: !present("linear"),
      fn: async () => {
        for (const sql of LINEAR) await check(sql);
      },
    });
    await t.step({
      name: "salesforce.accounts and salesforce.opportunities",
      ignore: !present("salesforce"),
      fn: async () => {
        for (let round = 0; round < 2; round++) {
          for (const sql of SALESFORCE) await check(sql);
        }
      },
    });
    await t.step("joins across apps, before and after the planner learns row counts", async () => {
      for (let round = 0; round < 2; round++) {
        for (const sql of JOINS) await check(sql);
      }
    });
  } finally {
    await h.close();
  }
});
