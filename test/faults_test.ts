/**
 * Faults: the sandboxes inject, per request, latency, 5xx, 429/403 with `Retry-After`,
 * connection resets, truncated JSON, a page failing mid-pagination and an expired token. For each
 * the gateway answers with the right code (never a 500), audits the query, and recovers once the
 * app does; a source that keeps failing opens its breaker and is failed fast.
 */
import assert from "node:assert/strict";
import { auditRows, cloneTenant, startReliabilityStack } from "./_reliability.ts";
import { postQuery, tokenFor } from "./_stack.ts";

const opts = { sanitizeResources: false, sanitizeOps: false };
const PRS = "SELECT pr_id, title FROM github.pull_requests";
const ISSUES = "SELECT issue_key FROM jira.issues";
const JOIN =
  "SELECT gh.pr_id, ji.issue_key FROM github.pull_requests gh JOIN jira.issues ji ON gh.branch = ji.branch_name";

Deno.test("injected faults answer with their code, are audited and never 500", opts, async (t) => {
  const stack = await startReliabilityStack({
    breakers: { failureThreshold: 3, openMs: 60_000 },
  });
  const { github, jiraAcme } = stack.sandboxes;
  try {
    // Its own tenant: cached data expires at once, so a failing app is never covered by the cache.
    const freshToken = async () =>
      await tokenFor(stack, await cloneTenant(stack, "acme", { ttlMs: 1 }), "admin@acme");
    let token = await freshToken();
    let n = 0;
    const run = async (sql: string, metadata: Record<string, unknown> = {}) => {
      const traceId = `fault-${Date.now()}-${n++}`;
      const res = await postQuery(stack.edgeUrl, token, {
        sql,
        metadata: { max_staleness_ms: 0, trace_id: traceId, ...metadata },
      });
      assert.notEqual(res.status, 500, JSON.stringify(res.body));
      const audited = await auditRows(stack, traceId);
      assert.equal(audited.length, 1, `trace ${traceId} audited ${audited.length} times`);
      return { ...res, traceId, audit: audited[0] };
    };
    const fails = async (
      sql: string,
      code: string,
      status: number,
      metadata: Record<string, unknown> = {},
    ) => {
      const res = await run(sql, metadata);
      const error = res.body.error as { code: string; details?: Record<string, unknown> };
      assert.equal(res.status, status, JSON.stringify(res.body));
      assert.equal(error.code, code);
      assert.equal(res.audit.errorCode, code);
      return { ...res, error };
    };
    const recovers = async (sql = PRS) => {
      github.reset();
      jiraAcme.reset();
      const res = await run(sql);
      assert.equal(res.status, 200, JSON.stringify(res.body));
    };

    await t.step("a source slower than the deadline: 504 naming it", async () => {
      github.inject({ latencyMs: 3_000, times: 10 });
      const { error } = await fails(PRS, "SOURCE_TIMEOUT", 504, { timeout_ms: 400 });
      assert.equal(error.details?.source, "github.pull_requests");
      await recovers();
    });

    await t.step("a 5xx once is retried and the query succeeds", async () => {
      github.inject({ status: 502, path: /\/pulls$/ });
      const res = await run(PRS);
      assert.equal(res.status, 200, JSON.stringify(res.body));
      await recovers();
    });

    await t.step("a source that keeps answering 5xx: 502 SOURCE_ERROR", async () => {
      jiraAcme.inject({ status: 503, times: 10 });
      await fails(ISSUES, "SOURCE_ERROR", 502);
      await recovers(ISSUES);
    });

    await t.step("a 429 whose Retry-After fits the deadline is waited out", async () => {
      jiraAcme.inject({ status: 429, retryAfterS: 1 });
      const res = await run(ISSUES, { timeout_ms: 10_000 });
      assert.equal(res.status, 200, JSON.stringify(res.body));
      await recovers(ISSUES);
    });

    await t.step("a 429 whose Retry-After passes the deadline: 429 with Retry-After", async () => {
      jiraAcme.inject({ status: 429, retryAfterS: 120, times: 3 });
      const res = await fails(ISSUES, "RATE_LIMIT_EXHAUSTED", 429, { timeout_ms: 5_000 });
      assert.ok(Number(res.headers.get("retry-after")) > 0);
      // The connection's budget now waits for the app's reset: go on as another tenant.
      token = await freshToken();
    });

    await t.step("GitHub's 403 rate limit with Retry-After: 429", async () => {
      github.inject({
        status: 403,
        retryAfterS: 60,
        times: 3,
        body: JSON.stringify({ message: "You have exceeded a secondary rate limit." }),
      });
      await fails(PRS, "RATE_LIMIT_EXHAUSTED", 429);
      token = await freshToken();
    });

    await t.step("a connection reset mid-answer: 502", async () => {
      github.inject({ reset: true, path: /\/pulls$/, times: 3 });
      await fails(PRS, "SOURCE_ERROR", 502);
      await recovers();
    });

    await t.step("truncated JSON: 502", async () => {
      jiraAcme.inject({ status: 200, body: '{"issues": [{"id": "10001", "key": "MOB-', times: 3 });
      await fails(ISSUES, "SOURCE_ERROR", 502);
      await recovers(ISSUES);
    });

    await t.step(
      "a page failing mid-pagination fails the query, never a partial answer",
      async () => {
        // The first list call answers; every later page fails (retries included).
        github.inject({ status: 500, path: /\/pulls$/, skip: 1, times: 50 });
        await fails(PRS, "SOURCE_ERROR", 502);
        await recovers();
      },
    );

    await t.step("an expired token: 502 saying the credentials were rejected", async () => {
      github.inject({
        status: 401,
        body: JSON.stringify({ message: "Bad credentials" }),
        times: 3,
      });
      const { error } = await fails(PRS, "SOURCE_ERROR", 502);
      assert.equal(error.details?.status, 401);
      await recovers();
    });

    await t.step("a join whose one source fails fails whole, with that source's code", async () => {
      jiraAcme.inject({ status: 500, times: 10 });
      const { error } = await fails(JOIN, "SOURCE_ERROR", 502);
      assert.equal(error.details?.connector, "jira");
      await recovers(JOIN);
    });

    await t.step("a source that keeps failing opens its breaker and fails fast", async () => {
      jiraAcme.inject({ status: 503, times: 1_000 });
      for (let i = 0; i < 3; i++) await fails(ISSUES, "SOURCE_ERROR", 502);
      const before = jiraAcme.requests.length;
      const { error } = await fails(ISSUES, "SOURCE_ERROR", 502);
      assert.equal(error.details?.breaker, "open");
      assert.match(String((error as { message?: string }).message), /jira/);
      assert.equal(jiraAcme.requests.length, before, "an open breaker still called the app");
      const states = stack.breakers.us.states();
      assert.ok(states.some((s) => s.source === "jira" && s.state === "open"));
    });
  } finally {
    await stack.close();
  }
});
