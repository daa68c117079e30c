/**
 * End to end through real HTTP with the Linear and Salesforce connectors: the seed's 3-way join
 * (GitHub ⋈ Jira ⋈ Linear) and Salesforce opportunities joined with Jira issues, each checked
 * against rows computed independently from the demo world.
 */
import assert from "node:assert/strict";
import { demoLinear, demoOrg, demoSalesforce } from "../connectors/demo/world.ts";
import { assertSameItems, postQuery, stackTest, tokenFor } from "./_stack.ts";

const acme = demoOrg("acme");
const teamOfRepo = new Map(acme.repos.map((r) => [r.name, r.team]));

stackTest("connectors end to end: Linear and Salesforce join GitHub and Jira", async (stack, t) => {
  const token = await tokenFor(stack, "acme", "admin@acme");
  const run = async (sql: string) => {
    const res = await postQuery(stack.edgeUrl, token, { sql, metadata: { max_staleness_ms: 0 } });
    assert.equal(res.status, 200, JSON.stringify(res.body).slice(0, 500));
    return res.body as {
      columns: string[];
      rows: Record<string, unknown>[];
      sources: { table: string; pushdown: { pushed: string[]; native: string[] } }[];
    };
  };

  await t.step("the seed's 3-way join: GitHub ⋈ Jira ⋈ Linear", async () => {
    const body = await run(
      "SELECT gh.pr_id, ji.issue_key, li.title FROM github.pull_requests gh JOIN jira.issues ji ON gh.branch = ji.branch_name JOIN linear.issues li ON gh.team_id = li.team WHERE gh.status = 'merged'",
    );
    assert.deepEqual(body.columns, ["pr_id", "issue_key", "title"]);
    const linear = demoLinear("acme");
    const expected = acme.pulls.flatMap((p) => {
      if (!p.mergedAt) return [];
      const issues = acme.issues.filter((i) => i.branch === p.head);
      const team = teamOfRepo.get(p.repo);
      return issues.flatMap((i) =>
        linear.issues.filter((l) => l.team.key === team).map((l) => [i.key, l.title])
      );
    });
    assert.ok(expected.length > 0);
    assertSameItems(body.rows.map((r) => [r.issue_key, r.title]), expected);
    assert.ok(body.rows.every((r) => typeof r.pr_id === "number"));
  });

  await t.step("Linear pushdown: team and state become an IssueFilter variable", async () => {
    const body = await run(
      "SELECT identifier, state FROM linear.issues WHERE team = 'web' AND state IN ('Done', 'In Progress')",
    );
    const expected = demoLinear("acme").issues.filter((i) =>
      i.team.key === "web" && (i.state.name === "Done" || i.state.name === "In Progress")
    ).map((i) => [i.identifier, i.state.name]);
    assertSameItems(body.rows.map((r) => [r.identifier, r.state]), expected);
    const src = body.sources.find((s) => s.table === "linear.issues")!;
    assert.deepEqual(
      [...src.pushdown.pushed].sort(),
      ["state IN ('Done', 'In Progress')", "team = 'web'"],
      JSON.stringify(src.pushdown),
    );
  });

  await t.step("Linear branch names join GitHub pull requests", async () => {
    const body = await run(
      "SELECT gh.number, gh.repo, li.identifier FROM github.pull_requests gh JOIN linear.issues li ON gh.branch = li.branch_name",
    );
    const expected = demoLinear("acme").issues.flatMap((l) =>
      acme.pulls.filter((p) => p.head === l.branchName).map((
        p,
      ) => [p.number, p.repo, l.identifier])
    );
    assert.ok(expected.length > 0);
    assertSameItems(body.rows.map((r) => [r.number, r.repo, r.identifier]), expected);
  });

  await t.step("Salesforce opportunities join Jira issues on the Jira key field", async () => {
    const body = await run(
      "SELECT o.name, o.amount, o.stage_name, ji.issue_key, ji.status FROM salesforce.opportunities o JOIN jira.issues ji ON o.jira_issue_key = ji.issue_key WHERE o.is_closed = false",
    );
    const sf = demoSalesforce("acme");
    const expected = sf.opportunities.flatMap((o) => {
      if (o.IsClosed || !o.Jira_Issue_Key__c) return [];
      const issue = acme.issues.find((i) => i.key === o.Jira_Issue_Key__c);
      return issue ? [[o.Name, o.Amount, o.StageName, issue.key, issue.status]] : [];
    });
    assert.ok(expected.length > 0);
    assertSameItems(
      body.rows.map((r) => [r.name, r.amount, r.stage_name, r.issue_key, r.status]),
      expected,
    );
    const src = body.sources.find((s) => s.table === "salesforce.opportunities")!;
    assert.ok(src.pushdown.pushed.includes("is_closed = false"), JSON.stringify(src.pushdown));
    assert.match(
      decodeURIComponent(src.pushdown.native[0].replaceAll("+", " ")),
      /WHERE IsClosed = false/,
    );
  });

  await t.step("Salesforce ORDER BY + LIMIT go to SOQL", async () => {
    const body = await run(
      "SELECT name, amount FROM salesforce.opportunities WHERE stage_name = 'Closed Won' ORDER BY amount DESC LIMIT 3",
    );
    const expected = demoSalesforce("acme").opportunities
      .filter((o) => o.StageName === "Closed Won" && o.Amount !== null)
      .sort((a, b) => b.Amount! - a.Amount!).slice(0, 3).map((o) => o.Amount);
    assert.deepEqual(body.rows.map((r) => r.amount), expected);
  });

  await t.step("accounts are owned by the demo teams", async () => {
    const body = await run(
      "SELECT a.name, a.owner_department FROM salesforce.accounts a WHERE a.owner_department = 'web'",
    );
    const sf = demoSalesforce("acme");
    const owners = new Map(sf.users.map((u) => [u.Id, u.Department]));
    const expected = sf.accounts.filter((a) => owners.get(a.OwnerId) === "web").map((a) => a.Name);
    assertSameItems(body.rows.map((r) => r.name), expected);
  });

  await t.step("the catalog lists the four connectors' tables", async () => {
    const res = await fetch(`${stack.edgeUrl}/v1/catalog`, {
      headers: { authorization: `Bearer ${token}` },
    });
    const body = await res.json() as { tables: { table: string }[] };
    const names = body.tables.map((t) => t.table);
    for (
      const t of [
        "github.pull_requests",
        "jira.issues",
        "linear.issues",
        "salesforce.accounts",
        "salesforce.opportunities",
      ]
    ) assert.ok(names.includes(t), `catalog lacks ${t}`);
    const text = JSON.stringify(body);
    for (const secret of ["lin_api_demo", "demo_acme_consumer_secret", "clientSecret"]) {
      assert.ok(!text.includes(secret), `the catalog leaks ${secret}`);
    }
  });
});

stackTest(
  "globex reads its own Linear workspace and Salesforce org (refresh-token grant)",
  async (stack) => {
    const token = await tokenFor(stack, "globex", "dev@globex");
    const res = await postQuery(stack.edgeUrl, token, {
      sql:
        "SELECT o.id, a.name FROM salesforce.opportunities o JOIN salesforce.accounts a ON o.account_id = a.id",
      metadata: { max_staleness_ms: 0 },
    });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    const sf = demoSalesforce("globex");
    const names = new Map(sf.accounts.map((a) => [a.Id, a.Name]));
    assertSameItems(
      (res.body.rows as Record<string, unknown>[]).map((r) => [r.id, r.name]),
      sf.opportunities.map((o) => [o.Id, names.get(o.AccountId)]),
    );
    const lin = await postQuery(stack.edgeUrl, token, {
      sql: "SELECT identifier FROM linear.issues",
      metadata: { max_staleness_ms: 0 },
    });
    assert.equal(lin.status, 200, JSON.stringify(lin.body));
    assertSameItems(
      (lin.body.rows as Record<string, unknown>[]).map((r) => r.identifier),
      demoLinear("globex").issues.map((i) => i.identifier),
    );
  },
);
