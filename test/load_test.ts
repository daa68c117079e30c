/**
 * Load: concurrent users of two tenants (zones us and eu) for a bounded time (`LOAD_MS`; 10 s
 * in `deno task test`, 60 s in `deno task test:load`; `LOAD_USERS` per tenant, default 4),
 * loopback only. No answer may be a 5xx, every request
 * is audited exactly once (counted by trace id), memory stays flat; latency percentiles are
 * printed, never asserted.
 */
import assert from "node:assert/strict";
import { inArray, sql } from "drizzle-orm";
import { auditLog } from "../src/catalog/schema.ts";
import {
  cloneTenant,
  envMs,
  memoryMb,
  startReliabilityStack,
  UNBOUNDED_BUDGETS,
} from "./_reliability.ts";
import { postQuery, tokenFor } from "./_stack.ts";

const opts = { sanitizeResources: false, sanitizeOps: false };
// Every other request is live (`max_staleness_ms: 0`: edge, worker, sources, DuckDB, audit);
// the rest may be answered from the result cache at the edge, which audits them itself.
const LIVE = { max_staleness_ms: 0 };
const CACHED_OK = { max_staleness_ms: 60_000 };
const QUERIES = [
  "SELECT pr_id, title, status FROM github.pull_requests WHERE status = 'merged'",
  "SELECT gh.pr_id, ji.issue_key FROM github.pull_requests gh JOIN jira.issues ji ON gh.branch = ji.branch_name",
  "SELECT issue_key, status FROM jira.issues WHERE status != 'Done'",
  "SELECT count(*) AS n FROM jira.issues",
];

Deno.test("concurrent users across tenants: no 5xx, each request audited once", opts, async () => {
  // Short in `deno task test` (CI); `deno task test:load` runs a minute; `LOAD_MS` sets any length.
  const durationMs = envMs("LOAD_MS", Deno.env.get("LOAD_LONG") ? 60_000 : 10_000);
  const usersPerTenant = envMs("LOAD_USERS", 4);
  const stack = await startReliabilityStack();
  try {
    const users: { token: string; label: string }[] = [];
    for (const [from, email] of [["acme", "dev@acme"], ["globex", "dev@globex"]] as const) {
      const tenant = await cloneTenant(stack, from, { rateLimits: UNBOUNDED_BUDGETS });
      const token = await tokenFor(stack, tenant, email);
      for (let i = 0; i < usersPerTenant; i++) users.push({ token, label: `${from}-${i}` });
    }
    // Warm-up: the first query of a process loads DuckDB.
    for (const { token } of users.slice(0, 1)) {
      await postQuery(stack.edgeUrl, token, { sql: QUERIES[0] });
    }

    const latencies: number[] = [];
    const traceIds: string[] = [];
    const statuses = new Map<number, number>();
    const memory: number[] = [];
    const sampler = setInterval(() => memory.push(memoryMb()), 500);
    const started = Date.now();
    await Promise.all(users.map(async ({ token, label }, u) => {
      for (let i = 0; Date.now() - started < durationMs; i++) {
        const query = QUERIES[(u + i) % QUERIES.length];
        const traceId = `load-${label}-${i}-${crypto.randomUUID().slice(0, 8)}`;
        const t0 = performance.now();
        const res = await postQuery(stack.edgeUrl, token, {
          sql: query,
          metadata: { ...(i % 2 === 0 ? LIVE : CACHED_OK), trace_id: traceId },
        });
        latencies.push(performance.now() - t0);
        traceIds.push(traceId);
        statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
        assert.ok(res.status < 500, `${res.status} ${JSON.stringify(res.body)}`);
      }
    }));
    clearInterval(sampler);
    const elapsed = Date.now() - started;

    latencies.sort((a, b) => a - b);
    const pct = (p: number) =>
      latencies[Math.min(latencies.length - 1, Math.floor(p * latencies.length))];
    console.log(
      `load: ${users.length} users, ${latencies.length} requests in ${elapsed} ms ` +
        `(${(latencies.length / (elapsed / 1000)).toFixed(1)} req/s); ` +
        `p50 ${pct(0.5).toFixed(0)} ms, p95 ${pct(0.95).toFixed(0)} ms, p99 ${
          pct(0.99).toFixed(0)
        } ms; ` +
        `statuses ${JSON.stringify(Object.fromEntries(statuses))}`,
    );

    await stack.auditSettled();
    const counted = new Map<string, number>();
    for (let i = 0; i < traceIds.length; i += 500) {
      const rows = await stack.catalog.db
        .select({ traceId: auditLog.traceId, n: sql<number>`count(*)::int` })
        .from(auditLog)
        .where(inArray(auditLog.traceId, traceIds.slice(i, i + 500)))
        .groupBy(auditLog.traceId);
      for (const row of rows) counted.set(row.traceId, Number(row.n));
    }
    const wrong = traceIds.filter((id) => counted.get(id) !== 1);
    assert.deepEqual(
      wrong.slice(0, 5).map((id) => `${id}: ${counted.get(id) ?? 0}`),
      [],
      `${wrong.length} of ${traceIds.length} requests not audited exactly once`,
    );

    // Flat memory: the second half of the run grows no more than a loose bound over the first.
    const half = Math.floor(memory.length / 2);
    const firstHalf = Math.max(...memory.slice(0, half));
    const secondHalf = Math.max(...memory.slice(half));
    console.log(
      `load: isolate memory first half max ${firstHalf.toFixed(0)} MB, second ${
        secondHalf.toFixed(0)
      } MB`,
    );
    assert.ok(secondHalf - firstHalf < 256, "memory kept growing under load");
  } finally {
    await stack.close();
  }
});
