/**
 * Async jobs end to end through the edge: submit, poll, read the result; only the owner sees
 * or cancels a job; a queued job outlives its runner; deeply nested SQL is refused with a 400;
 * a job's result is withheld once its owner's entitlements changed.
 */
import assert from "node:assert/strict";
import { auditRows, cloneTenant, startReliabilityStack } from "./_reliability.ts";
import { postQuery, tokenFor } from "./_stack.ts";
import { DEMO_POLICY_ACME } from "../src/catalog/demo.ts";

const opts = { sanitizeResources: false, sanitizeOps: false };
const JOIN =
  "SELECT gh.pr_id, ji.issue_key FROM github.pull_requests gh JOIN jira.issues ji ON gh.branch = ji.branch_name";

Deno.test("async jobs: submit, progress, result, owner-only, cancel, restart", opts, async (t) => {
  const stack = await startReliabilityStack({ jobs: { pollMs: 100 } });
  try {
    const tenant = await cloneTenant(stack, "acme");
    const admin = await tokenFor(stack, tenant, "admin@acme");
    const dev = await tokenFor(stack, tenant, "dev@acme");
    const job = async (token: string, id: string, method = "GET") => {
      const res = await fetch(`${stack.edgeUrl}/v1/jobs/${id}`, {
        method,
        headers: { authorization: `Bearer ${token}` },
      });
      return { status: res.status, body: await res.json() };
    };
    const submit = async (sql = JOIN) => {
      const res = await postQuery(stack.edgeUrl, admin, {
        sql,
        metadata: { async: true, max_staleness_ms: 0 },
      });
      assert.equal(res.status, 202, JSON.stringify(res.body));
      assert.equal(res.body.status_url, `/v1/jobs/${res.body.job_id}`);
      return res.body as { job_id: string; trace_id: string };
    };
    const settle = async (id: string, token = admin) => {
      for (let i = 0; i < 200; i++) {
        const { body } = await job(token, id);
        if (!["queued", "running"].includes(body.status)) return body;
        await new Promise((r) => setTimeout(r, 100));
      }
      assert.fail(`job ${id} did not finish`);
    };

    await t.step("a job runs, reports progress and returns the query's rows", async () => {
      const { job_id, trace_id } = await submit();
      const done = await settle(job_id);
      assert.equal(done.status, "succeeded", JSON.stringify(done));
      assert.ok(done.result.rows.length > 0);
      assert.equal(done.progress.sources_done, 2);
      assert.equal(done.progress.sources_total, 2);
      assert.ok(done.progress.pages >= 2 && done.progress.rows > 0);
      assert.equal((await auditRows(stack, trace_id)).length, 1, "the job is audited once");
    });

    await t.step("another user of the tenant gets 404 for the job", async () => {
      const { job_id } = await submit("SELECT 1 AS one");
      await settle(job_id);
      assert.equal((await job(dev, job_id)).status, 404);
      assert.equal((await job(dev, job_id, "DELETE")).status, 404);
      assert.equal((await job(admin, crypto.randomUUID())).status, 404);
    });

    await t.step("DELETE cancels a job that has not finished", async () => {
      stack.sandboxes.github.inject({ latencyMs: 3_000, times: 20 });
      const { job_id } = await submit();
      const cancelled = await job(admin, job_id, "DELETE");
      assert.equal(cancelled.status, 200);
      assert.equal(cancelled.body.status, "cancelled");
      const after = await settle(job_id);
      assert.equal(after.status, "cancelled");
      assert.equal(after.result, undefined);
      stack.sandboxes.github.reset();
    });

    await t.step("a queued job waits for a stopped runner and runs when one starts", async () => {
      await stack.jobs.us.stop();
      const { job_id } = await submit("SELECT 2 AS two");
      await new Promise((r) => setTimeout(r, 300));
      assert.equal((await job(admin, job_id)).body.status, "queued");
      stack.jobs.us.start();
      const done = await settle(job_id);
      assert.equal(done.status, "succeeded");
      assert.deepEqual(done.result.rows, [{ two: 2 }]);
    });

    await t.step("a job's rows are withheld once its owner's entitlements changed", async () => {
      const scoped = await cloneTenant(stack, "acme");
      const { catalog } = stack;
      const setScope = (email: string, teamId: string, scope: string) =>
        catalog.upsertUser({
          tenantId: scoped,
          email,
          role: "developer",
          teamId,
          attributes: { repo_scope: scope },
        });
      await setScope("dev@acme", "mobile", "ios-app");
      await setScope("webdev@acme", "web", "web-app");
      const policy = `${DEMO_POLICY_ACME}  - id: rls_repo_scope
    rule: "SELECT * FROM github.pull_requests WHERE repo = user.repo_scope FOR role:developer"
`;
      await catalog.putPolicy(scoped, policy, "test");
      const ana = await tokenFor(stack, scoped, "dev@acme");
      const bo = await tokenFor(stack, scoped, "webdev@acme");
      const sql = "SELECT DISTINCT repo FROM github.pull_requests ORDER BY repo";
      const live = (token: string) => postQuery(stack.edgeUrl, token, { sql });
      // The new policy is compiled within its refresh time.
      const until = async (token: string, done: (res: { status: number }) => boolean) => {
        for (let i = 0; i < 50; i++) {
          const res = await live(token);
          if (done(res)) return res;
          await new Promise((r) => setTimeout(r, 200));
        }
        assert.fail("the change never reached live queries");
      };
      await until(ana, (res) => JSON.stringify(res).includes('"rows":[{"repo":"ios-app"}]'));
      const ran = async (token: string) => {
        const res = await postQuery(stack.edgeUrl, token, { sql, metadata: { async: true } });
        assert.equal(res.status, 202, JSON.stringify(res.body));
        const id = String(res.body.job_id);
        const done = await settle(id, token);
        assert.equal(done.status, "succeeded", JSON.stringify(done));
        return id;
      };
      const anaJob = await ran(ana);
      const boJob = await ran(bo);
      assert.deepEqual((await job(ana, anaJob)).body.result.rows, [{ repo: "ios-app" }]);
      const refused = (answer: { status: number; body: Record<string, unknown> }) => {
        assert.equal(answer.status, 403, JSON.stringify(answer.body));
        assert.equal(answer.body.result, undefined);
        assert.doesNotMatch(JSON.stringify(answer.body), /ios-app|web-app/);
        const error = answer.body.error as { code: string; details: Record<string, unknown> };
        assert.equal(error.code, "ENTITLEMENT_DENIED");
        assert.equal(error.details.reason, "entitlements_changed");
        assert.equal(error.details.status, "succeeded");
      };
      const onZone = async (token: string, id: string) => {
        const res = await fetch(`${stack.workerUrls.us}/v1/jobs/${id}`, {
          headers: { authorization: `Bearer ${token}` },
        });
        return { status: res.status, body: await res.json() };
      };

      // The admin moves ana to another repo: her live queries see it at once, her job too.
      await setScope("dev@acme", "mobile", "mobile-app");
      refused(await job(ana, anaJob));
      refused(await onZone(ana, anaJob));
      const bos = await job(bo, boJob);
      assert.equal(bos.status, 200, JSON.stringify(bos.body));
      assert.ok(Array.isArray(bos.body.result.rows));
      assert.equal((await onZone(bo, boJob)).status, 200);

      // Back under the entitlements it ran under, the job is hers to read again.
      await setScope("dev@acme", "mobile", "ios-app");
      assert.deepEqual((await job(ana, anaJob)).body.result.rows, [{ repo: "ios-app" }]);

      // A policy that now denies the table: refused like a live query.
      await catalog.putPolicy(
        scoped,
        `${policy}  - id: deny_prs
    rule: "DENY TABLE github.pull_requests FOR role:developer"
`,
        "test",
      );
      await until(bo, (res) => res.status === 403);
      refused(await job(bo, boJob));
      refused(await onZone(bo, boJob));
    });

    await t.step("5000 nested parentheses answer 400, not a crash", async () => {
      const sql = "SELECT " + "(".repeat(5000) + "1" + ")".repeat(5000);
      const res = await postQuery(stack.edgeUrl, admin, { sql });
      assert.equal(res.status, 400);
      assert.equal((res.body.error as { code: string }).code, "INVALID_REQUEST");
      assert.match((res.body.error as { message: string }).message, /nested too deeply/);
    });
  } finally {
    await stack.close();
  }
});
