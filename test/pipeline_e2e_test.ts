/**
 * The query pipeline end to end: every door's queries are recorded once, with their door, by
 * whoever answered them (the edge for what it answers itself, the zone for what it runs), and a
 * door other than HTTP gets the same answers as HTTP.
 *
 * @module
 */
import assert from "node:assert/strict";
import { eq } from "drizzle-orm";
import { auditLog } from "../src/catalog/schema.ts";
import { postQuery, startTestStack, tokenFor } from "./_stack.ts";

const opts = { sanitizeOps: false, sanitizeResources: false };
const SQL = "SELECT pr_id, status FROM github.pull_requests WHERE status = 'merged' LIMIT 3";

Deno.test("every door's query is recorded exactly once, with its door", opts, async () => {
  const stack = await startTestStack();
  try {
    const token = await tokenFor(stack, "acme", "dev@acme");
    const rows = async (traceId: string) => {
      await stack.auditSettled();
      return await stack.catalog.db.select().from(auditLog).where(eq(auditLog.traceId, traceId));
    };
    const meta = (trace_id: string) => ({ trace_id, max_staleness_ms: 600_000 });

    // Run in the zone (forwarded), then served from the edge's result cache: both doors.
    const http = await postQuery(stack.edgeUrl, token, { sql: SQL, metadata: meta("p-http") });
    assert.equal(http.status, 200, JSON.stringify(http.body));
    const pg = await stack.pipeline.run({
      door: "pg",
      token,
      body: { sql: SQL, metadata: meta("p-pg") },
    });
    assert.equal(pg.status, 200, pg.body);
    const answer = JSON.parse(pg.body);
    assert.equal(answer.from_cache, true);
    assert.deepEqual(answer.rows, http.body.rows);
    assert.equal(answer.trace_id, "p-pg");
    const mcpLive = await stack.pipeline.run({
      door: "mcp",
      token,
      body: { sql: SQL, metadata: { trace_id: "p-mcp", max_staleness_ms: 0 } },
    });
    assert.equal(mcpLive.status, 200, mcpLive.body);

    for (const [trace, door] of [["p-http", "http"], ["p-pg", "pg"], ["p-mcp", "mcp"]]) {
      const recorded = await rows(trace);
      assert.equal(recorded.length, 1, `${trace}: ${JSON.stringify(recorded)}`);
      assert.equal(recorded[0].door, door);
      assert.equal(recorded[0].status, 200);
      assert.deepEqual(recorded[0].tables, ["github.pull_requests"]);
      assert.equal(recorded[0].rows, 3);
    }

    // An async job is recorded when it runs, with the door it was submitted through.
    const queued = await stack.pipeline.run({
      door: "pg",
      token,
      body: { sql: SQL, metadata: { trace_id: "p-job", async: true } },
    });
    assert.equal(queued.status, 202, queued.body);
    const statusUrl = `${stack.edgeUrl}${JSON.parse(queued.body).status_url}`;
    for (let status = "queued"; status !== "succeeded";) {
      assert.ok(status === "queued" || status === "running", status);
      await new Promise((r) => setTimeout(r, 50));
      const res = await fetch(statusUrl, { headers: { authorization: `Bearer ${token}` } });
      status = (await res.json()).status;
    }
    const job = await rows("p-job");
    assert.equal(job.length, 1, JSON.stringify(job));
    assert.equal(job[0].door, "pg");
    assert.equal(job[0].rows, 3);

    // Refusals, at the edge (bad body) and in the zone (unknown column), once each.
    const bad = await stack.pipeline.run({ door: "pg", token, body: { sql: 5 }, traceId: "p-bad" });
    assert.equal(bad.status, 400);
    assert.equal(JSON.parse(bad.body).error.code, "INVALID_REQUEST");
    const unknown = await stack.pipeline.run({
      door: "mcp",
      token,
      body: { sql: "SELECT nope FROM github.pull_requests", metadata: { trace_id: "p-plan" } },
    });
    assert.equal(JSON.parse(unknown.body).error.code, "PLAN_FAILED");
    for (
      const [trace, code, door] of [["p-bad", "INVALID_REQUEST", "pg"], [
        "p-plan",
        "PLAN_FAILED",
        "mcp",
      ]]
    ) {
      const recorded = await rows(trace);
      assert.equal(recorded.length, 1, trace);
      assert.equal(recorded[0].errorCode, code);
      assert.equal(recorded[0].door, door);
    }

    // A caller who is not identified has no chain to record in, and is told so.
    const stranger = await stack.pipeline.run({ door: "pg", token: "nope", body: { sql: SQL } });
    assert.equal(stranger.status, 401);
    assert.equal(JSON.parse(stranger.body).error.code, "UNAUTHENTICATED");
    assert.equal((await stack.catalog.verifyAudit("acme")).ok, true);
  } finally {
    await stack.close();
  }
});
