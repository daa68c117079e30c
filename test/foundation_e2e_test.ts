/**
 * End to end through real HTTP: edge → zone worker → sandboxes → DuckDB. The seed queries'
 * expected rows are computed here, independently, from the demo data the sandboxes serve.
 */
import assert from "node:assert/strict";
import { demoOrg } from "../connectors/demo/world.ts";
import { CONTEXT_HEADER, ContextTokens } from "../src/auth/context_token.ts";
import { AUDITED_HEADER } from "../src/http/mod.ts";
import { loadConfig } from "../src/config.ts";
import {
  assertAnswerShape,
  assertSameItems,
  expectQueryError,
  postQuery,
  stackTest,
  tokenFor,
} from "./_stack.ts";

const acme = demoOrg("acme");
const globex = demoOrg("globex");
const issueByBranch = new Map(acme.issues.filter((i) => i.branch).map((i) => [i.branch!, i]));

stackTest("the seed queries answer with the rows the demo data implies", async (stack, t) => {
  const token = await tokenFor(stack, "acme", "admin@acme");
  const run = async (sql: string) => {
    const res = await postQuery(stack.edgeUrl, token, { sql, metadata: { max_staleness_ms: 0 } });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    assertAnswerShape(res.body);
    assert.equal(res.body.region, "us");
    return res.body as {
      columns: string[];
      rows: Record<string, unknown>[];
      sources: { table: string; pushdown: { pushed: string[] } }[];
    };
  };

  await t.step("single source: merged pull requests", async () => {
    const body = await run("SELECT * FROM github.pull_requests WHERE status = 'merged'");
    const expected = acme.pulls.filter((p) => p.mergedAt).map((p) => [p.repo, p.number]);
    assertSameItems(body.rows.map((r) => [r.repo, r.number]), expected);
    assert.ok(body.columns.includes("pr_id") && body.columns.includes("branch"));
    assert.ok(body.rows.every((r) => r.status === "merged"));
    const gh = body.sources.find((s) => s.table === "github.pull_requests")!;
    assert.ok(gh.pushdown.pushed.includes("status = 'merged'"), JSON.stringify(gh.pushdown));
  });

  await t.step("cross-app join: PRs whose ticket is In Progress", async () => {
    const body = await run(
      "SELECT gh.pr_id, gh.author, jira.issue_key, jira.status as jira_status FROM github.pull_requests gh JOIN jira.issues jira ON gh.branch = jira.branch_name WHERE jira.status = 'In Progress'",
    );
    assert.deepEqual(body.columns, ["pr_id", "author", "issue_key", "jira_status"]);
    const expected = acme.pulls.flatMap((p) => {
      const issue = issueByBranch.get(p.head);
      return issue && issue.status === "In Progress" ? [[p.author, issue.key, "In Progress"]] : [];
    });
    assert.ok(expected.length > 0);
    assertSameItems(body.rows.map((r) => [r.author, r.issue_key, r.jira_status]), expected);
  });

  await t.step("security audit: merged PRs with unresolved tickets", async () => {
    const body = await run(
      "SELECT gh.pr_id, gh.merged_at, jira.issue_key, jira.status FROM github.pull_requests gh JOIN jira.issues jira ON gh.branch = jira.branch_name WHERE gh.status = 'merged' AND jira.status != 'Done'",
    );
    const expected = acme.pulls.flatMap((p) => {
      const issue = issueByBranch.get(p.head);
      return p.mergedAt && issue && issue.status !== "Done"
        ? [[p.mergedAt, issue.key, issue.status]]
        : [];
    });
    assert.ok(expected.length > 0);
    const got = body.rows.map((
      r,
    ) => [String(r.merged_at).replace(/\.000Z$/, "Z"), r.issue_key, r.status]);
    assertSameItems(got, expected);
    const pushed = Object.fromEntries(body.sources.map((s) => [s.table, s.pushdown.pushed]));
    assert.ok(pushed["github.pull_requests"].includes("status = 'merged'"));
    assert.ok(
      !pushed["jira.issues"].some((p) => p.includes("merged")),
      "github's predicate leaked into jira",
    );
  });

  await t.step("effort mapping: story points against lines changed", async () => {
    const body = await run(
      "SELECT jira.issue_key, jira.story_points, (gh.additions + gh.deletions) as total_loc FROM jira.issues jira JOIN github.pull_requests gh ON jira.branch_name = gh.branch ORDER BY total_loc DESC LIMIT 10",
    );
    const pairs = acme.pulls.flatMap((p) => {
      const issue = issueByBranch.get(p.head);
      return issue
        ? [{ key: issue.key, points: issue.storyPoints, loc: p.additions + p.deletions }]
        : [];
    }).sort((a, b) => b.loc - a.loc);
    assert.equal(body.rows.length, 10);
    assert.deepEqual(body.rows.map((r) => r.total_loc), pairs.slice(0, 10).map((p) => p.loc));
    for (const row of body.rows) {
      assert.ok(
        pairs.some((p) =>
          p.key === row.issue_key && p.points === row.story_points && p.loc === row.total_loc
        ),
      );
    }
  });
});

stackTest("a globex query is served by the eu worker and never reaches us", async (stack) => {
  const token = await tokenFor(stack, "globex", "dev@globex");
  const res = await postQuery(stack.edgeUrl, token, {
    sql: "SELECT number, repo FROM github.pull_requests",
  });
  assert.equal(res.status, 200, JSON.stringify(res.body));
  assert.equal(res.body.region, "eu");
  assertSameItems(
    (res.body.rows as Record<string, unknown>[]).map((r) => [r.repo, r.number]),
    globex.pulls.map((p) => [p.repo, p.number]),
  );
  await stack.auditSettled();
  const usAudit = await stack.catalog.tailAudit("globex", 10);
  assert.ok(usAudit.length > 0 && usAudit.every((a) => a.zone === "eu"));
});

stackTest("the us worker refuses globex, whatever the context token says", async (stack) => {
  const tokens = new ContextTokens(loadConfig({}).internalSecret);
  const globexUser = { sub: "dev@globex", tenant: "globex" };
  const body = JSON.stringify({ sql: "SELECT 1 AS x FROM github.pull_requests" });
  const send = async (zoneInToken: string) => {
    const res = await fetch(`${stack.workerUrls.us}/internal/v1/query`, {
      method: "POST",
      headers: {
        "content-type": "application/json",
        [CONTEXT_HEADER]: await tokens.sign({
          user: globexUser,
          zone: zoneInToken,
          traceId: "t",
        }, { method: "POST", path: "/internal/v1/query", body }),
      },
      body,
    });
    return {
      status: res.status,
      body: await res.json(),
      audited: res.headers.get(AUDITED_HEADER),
    };
  };
  const before = stack.sandboxes.github.requests.length;
  const forUs = await send("us");
  assert.equal(forUs.status, 403);
  assert.equal(forUs.body.error.code, "ENTITLEMENT_DENIED");
  assert.match(forUs.body.error.message, /zone eu/);
  // The refusal reached the query service, which audited it; the edge needn't audit it again.
  assert.equal(forUs.audited, "1");
  const forEu = await send("eu");
  assert.equal(forEu.status, 401);
  // Refused before the query service: the edge must audit it itself.
  assert.equal(forEu.audited, null);
  const noToken = await fetch(`${stack.workerUrls.us}/internal/v1/query`, {
    method: "POST",
    body,
  });
  assert.equal(noToken.status, 401);
  await noToken.body?.cancel();
  // A token seen on the wire carries no other SQL: it is bound to the body it was signed for.
  const acmeUser = { sub: "dev@acme", tenant: "acme" };
  const signed = await tokens.sign(
    { user: acmeUser, zone: "us", traceId: "t" },
    { method: "POST", path: "/internal/v1/query", body: JSON.stringify({ sql: "SELECT 1 AS x" }) },
  );
  const replayed = await fetch(`${stack.workerUrls.us}/internal/v1/query`, {
    method: "POST",
    headers: { "content-type": "application/json", [CONTEXT_HEADER]: signed },
    body,
  });
  assert.equal(replayed.status, 401);
  assert.match((await replayed.json()).error.message, /signed for another request/);
  // Nor the same request twice: a token is good once.
  const once = JSON.stringify({ sql: "SELECT 1 AS x" });
  const onceToken = await tokens.sign(
    { user: acmeUser, zone: "us", traceId: "t" },
    { method: "POST", path: "/internal/v1/query", body: once },
  );
  const sendOnce = () =>
    fetch(`${stack.workerUrls.us}/internal/v1/query`, {
      method: "POST",
      headers: { "content-type": "application/json", [CONTEXT_HEADER]: onceToken },
      body: once,
    });
  const first = await sendOnce();
  assert.equal(first.status, 200, await first.text());
  const again = await sendOnce();
  assert.equal(again.status, 401);
  assert.match((await again.json()).error.message, /already used/);
  // A replay did not happen: the zone recorded nothing, and says so.
  assert.equal(again.headers.get(AUDITED_HEADER), null);
  assert.equal(
    stack.sandboxes.github.requests.length,
    before,
    "a refused query reached a source",
  );
});

stackTest("bad tokens and bad SQL get the vocabulary's errors, never a 500", async (stack, t) => {
  const token = await tokenFor(stack, "acme", "dev@acme");
  const expectError = async (
    tok: string | undefined,
    body: unknown,
    status: number,
    code: string,
    message?: RegExp,
  ) => {
    const error = await expectQueryError(stack.edgeUrl, tok, body, status, code);
    if (message) assert.match(error.message, message);
    return error;
  };
  await t.step("missing, forged and expired tokens are 401", async () => {
    await expectError(undefined, { sql: "SELECT 1" }, 401, "UNAUTHENTICATED");
    await expectError(token.slice(0, -4) + "AAAA", { sql: "SELECT 1" }, 401, "UNAUTHENTICATED");
    const expired = await stack.devIssuer.mint({ sub: "dev@acme", tenant: "acme" }, {
      ttlSeconds: -60,
    });
    await expectError(expired, { sql: "SELECT 1" }, 401, "UNAUTHENTICATED", /expired/);
  });
  // A refused statement is a 400 whose message names what is wrong with it.
  const refuses = (sql: string, code: string, message: RegExp) =>
    expectError(token, { sql }, 400, code, message);
  await t.step("DROP TABLE is INVALID_REQUEST", async () => {
    await refuses("DROP TABLE github.pull_requests", "INVALID_REQUEST", /read-only/);
  });
  await t.step("a parse error is PLAN_FAILED with its position", async () => {
    const error = await refuses("SELEC 1", "PLAN_FAILED", /line 1, column 1/);
    assert.equal(error.details?.line, 1);
  });
  await t.step("an unknown table is PLAN_FAILED naming it", async () => {
    await refuses("SELECT * FROM nope.nothing", "PLAN_FAILED", /nope\.nothing/);
    const typo = "SELECT * FROM github.pull_request";
    await refuses(typo, "PLAN_FAILED", /did you mean github\.pull_requests/);
  });
  await t.step("an unknown column is PLAN_FAILED", async () => {
    const sql = "SELECT no_such_column FROM github.pull_requests";
    await refuses(sql, "PLAN_FAILED", /no_such_column/);
  });
  await t.step("malformed bodies are INVALID_REQUEST", async () => {
    for (
      const body of [
        "{",
        "[]",
        '{"sql": 5}',
        '{"sql": ""}',
        '{"sql":"SELECT 1","metadata":{"max_staleness_ms":"x"}}',
      ]
    ) {
      await expectError(token, body, 400, "INVALID_REQUEST");
    }
  });
});
