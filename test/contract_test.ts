/**
 * One HTTP contract, two doors: the same suite runs against the global edge and against a zone's
 * own endpoint (region-pinned tenants call their zone directly), so both behave alike.
 */
import assert from "node:assert/strict";
import type { LocalStack } from "../edge/local_stack.ts";
import { assertAnswerShape, expectQueryError, postQuery, stackTest, tokenFor } from "./_stack.ts";

async function contractSuite(t: Deno.TestContext, url: string, token: string, stack: LocalStack) {
  const expectError = (tok: string | undefined, body: unknown, status: number, code: string) =>
    expectQueryError(url, tok, body, status, code);
  await t.step("authentication failures are 401 UNAUTHENTICATED", async () => {
    await expectError(undefined, { sql: "SELECT 1" }, 401, "UNAUTHENTICATED");
    await expectError("not-a-token", { sql: "SELECT 1" }, 401, "UNAUTHENTICATED");
    await expectError(token.slice(0, -3) + "abc", { sql: "SELECT 1" }, 401, "UNAUTHENTICATED");
    const expired = await stack.devIssuer.mint({ sub: "x", tenant: "acme" }, { ttlSeconds: -5 });
    await expectError(expired, { sql: "SELECT 1" }, 401, "UNAUTHENTICATED");
  });
  await t.step("bad requests are 400 with the vocabulary's codes", async () => {
    await expectError(token, "{", 400, "INVALID_REQUEST");
    await expectError(token, { sql: 5 }, 400, "INVALID_REQUEST");
    await expectError(token, { sql: "DELETE FROM github.pull_requests" }, 400, "INVALID_REQUEST");
    await expectError(token, { sql: "SELEC 1" }, 400, "PLAN_FAILED");
    await expectError(token, { sql: "SELECT * FROM nope.nothing" }, 400, "PLAN_FAILED");
  });
  await t.step("a query answers in the documented shape, honouring the trace id", async () => {
    const res = await postQuery(url, token, {
      sql: "SELECT number, repo FROM github.pull_requests WHERE status = 'open' LIMIT 3",
      metadata: { trace_id: "contract-trace-1", max_staleness_ms: 0 },
    });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    assertAnswerShape(res.body);
    assert.equal(res.body.trace_id, "contract-trace-1");
    assert.deepEqual(res.body.columns, ["number", "repo"]);
    const budget = res.body.rate_limit_status as { remaining: number; reset_ms: number };
    assert.ok(budget.remaining >= 0 && budget.reset_ms >= 0);
  });
  await t.step(
    "whoami names the tenant's zone endpoint; the catalog lists its tables",
    async () => {
      const who = await fetch(`${url}/v1/whoami`, {
        headers: { authorization: `Bearer ${token}` },
      });
      const body = await who.json();
      assert.equal(who.status, 200);
      assert.equal(typeof body.endpoint_url, "string");
      assert.ok(Object.values(stack.workerUrls).includes(body.endpoint_url));
      const cat = await fetch(`${url}/v1/catalog`, {
        headers: { authorization: `Bearer ${token}` },
      });
      const tables = (await cat.json()).tables.map((t: { table: string }) => t.table);
      assert.ok(tables.includes("github.pull_requests") && tables.includes("jira.issues"));
    },
  );
}

stackTest("the edge honours the HTTP contract", async (stack, t) => {
  await contractSuite(t, stack.edgeUrl, await tokenFor(stack, "acme", "admin@acme"), stack);
});

stackTest("a zone's own endpoint honours the same HTTP contract", async (stack, t) => {
  const token = await tokenFor(stack, "acme", "admin@acme");
  await contractSuite(t, stack.workerUrls.us, token, stack);
});

stackTest(
  "region-pinned endpoints: eu answers globex like the edge; us refuses without running",
  async (stack) => {
    const token = await tokenFor(stack, "globex", "dev@globex");
    const sql = "SELECT repo, number, title FROM github.pull_requests ORDER BY repo, number";
    const viaEdge = await postQuery(stack.edgeUrl, token, { sql });
    const direct = await postQuery(stack.workerUrls.eu, token, { sql });
    assert.equal(viaEdge.status, 200);
    assert.equal(direct.status, 200);
    assert.equal(direct.body.region, "eu");
    assert.deepEqual(direct.body.rows, viaEdge.body.rows);

    const who = await (await fetch(`${stack.workerUrls.us}/v1/whoami`, {
      headers: { authorization: `Bearer ${token}` },
    })).json();
    assert.equal(who.zone, "eu");
    assert.equal(who.endpoint_url, stack.workerUrls.eu);

    const before = stack.sandboxes.github.requests.length;
    const refused = await postQuery(stack.workerUrls.us, token, { sql });
    assert.equal(refused.status, 403);
    assert.equal((refused.body.error as { code: string }).code, "ENTITLEMENT_DENIED");
    assert.match((refused.body.error as { message: string }).message, /zone eu/);
    assert.equal(stack.sandboxes.github.requests.length, before, "the us worker called a source");
  },
);

stackTest("a direct-only tenant is sent to its zone endpoint by the edge", async (stack) => {
  const token = await tokenFor(stack, "globex", "dev@globex");
  await stack.catalog.setTenantDirectOnly("globex", true);
  const sql = "SELECT number FROM github.pull_requests LIMIT 1";
  const before = stack.sandboxes.github.requests.length;
  const viaEdge = await postQuery(stack.edgeUrl, token, { sql });
  assert.equal(viaEdge.status, 403, JSON.stringify(viaEdge.body));
  const error = viaEdge.body.error as {
    code: string;
    message: string;
    details: Record<string, unknown>;
  };
  assert.equal(error.code, "ENTITLEMENT_DENIED");
  assert.equal(error.details.endpoint_url, stack.workerUrls.eu);
  assert.match(error.message, /direct-only/);
  assert.equal(stack.sandboxes.github.requests.length, before);
  const direct = await postQuery(stack.workerUrls.eu, token, { sql });
  assert.equal(direct.status, 200, JSON.stringify(direct.body));

  await stack.catalog.setTenantDirectOnly("globex", false);
  assert.equal((await postQuery(stack.edgeUrl, token, { sql })).status, 200);
});
