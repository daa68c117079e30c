/**
 * Async jobs end to end through the edge: submit, poll, read the result; only the owner sees
 * or cancels a job; a queued job outlives its runner; deeply nested SQL is refused with a 400.
 */
import assert from "node:assert/strict";
import { auditRows, cloneTenant, startReliabilityStack } from "./_reliability.ts";
import { postQuery, tokenFor } from "./_stack.ts";

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
    const settle = async (id: string) => {
      for (let i = 0; i < 200; i++) {
        const { body } = await job(admin, id);
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
