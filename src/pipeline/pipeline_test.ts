import assert from "node:assert/strict";
import { AuditJournal } from "../audit/journal.ts";
import { OmniError } from "../errors.ts";
import type { AuditRecord } from "../catalog/audit.ts";
import type { TenantRow } from "../catalog/schema.ts";
import { MemoryRateLimiter } from "../ratelimit/mod.ts";
import { Metrics } from "../telemetry/metrics.ts";
import type { Step } from "./context.ts";
import type { ZoneAnswer } from "./steps.ts";
import { QueryPipeline } from "./pipeline.ts";
import { forward, parseRequest, spendBudgets } from "./steps.ts";

const GLOBEX: TenantRow = {
  id: "globex",
  name: "Globex",
  zone: "eu",
  directOnly: false,
  settings: {},
  createdAt: new Date(0),
};

/** Identifies every caller as dev@globex (what `identify` does once a token verified). */
const asGlobex: Step = function asGlobex(ctx) {
  ctx.user = { sub: "dev@globex", tenant: "globex" };
  ctx.tenant = GLOBEX;
};

const answer: Step = function answer(ctx) {
  ctx.answer = { status: 200, body: { rows: [] }, summary: { tables: ["jira.issues"], rows: 0 } };
};

function pipeline(steps: Step[], options: { metrics?: Metrics; journal?: AuditJournal } = {}) {
  return new QueryPipeline({ steps, zoneOf: (ctx) => ctx.tenant?.zone ?? "unknown", ...options });
}

Deno.test("QueryPipeline counts answered queries as ok with tenant and zone", async () => {
  const metrics = new Metrics({ tenantLabels: true });
  const res = await pipeline([asGlobex, parseRequest(), answer], { metrics })
    .run({ door: "http", body: { sql: "SELECT 1" } });
  assert.equal(res.status, 200);
  const text = await metrics.render();
  assert.match(text, /^omnisql_queries_total\{status="ok",tenant="globex",zone="eu"\} 1$/m);
  assert.match(text, /^omnisql_query_latency_seconds_count\{zone="eu"\} 1$/m);
});

Deno.test("QueryPipeline counts a spent budget by its level, with Retry-After", async () => {
  const metrics = new Metrics({ tenantLabels: true });
  const steps = [
    asGlobex,
    parseRequest(),
    spendBudgets({
      limiter: new MemoryRateLimiter(),
      budgetsOf: () => ({
        user: { tokens: 1, windowMs: 60_000 },
        tenant: { tokens: 100, windowMs: 60_000 },
      }),
    }),
    answer,
  ];
  const p = pipeline(steps, { metrics });
  assert.equal((await p.run({ door: "pg", body: { sql: "SELECT 1" } })).status, 200);
  const refused = await p.run({ door: "pg", body: { sql: "SELECT 1" } });
  assert.equal(refused.status, 429);
  assert.ok(Number(refused.headers["retry-after"]) >= 1);
  assert.equal(JSON.parse(refused.body).error.details.level, "user");
  const text = await metrics.render();
  assert.match(text, /^omnisql_rate_limit_refusals_total\{level="user"\} 1$/m);
  assert.match(
    text,
    /^omnisql_queries_total\{status="RATE_LIMIT_EXHAUSTED",tenant="globex",zone="eu"\} 1$/m,
  );
});

Deno.test("QueryPipeline records each identified query once, with its door and outcome", async () => {
  const committed: AuditRecord[] = [];
  const journal = new AuditJournal({
    commit: (rs) => Promise.resolve(void committed.push(...rs)),
  });
  const p = pipeline([asGlobex, parseRequest(), answer], { journal });
  await p.run({ door: "mcp", body: { sql: "SELECT 1" }, traceId: "t-ok" });
  await p.run({ door: "pg", body: { sql: 5 }, traceId: "t-bad" });
  // A query that fails once planned lists the tables it names: no answer says what was read.
  const timesOut = () => {
    throw new OmniError("QUERY_TIMEOUT", "too slow");
  };
  await pipeline([asGlobex, parseRequest(), timesOut], { journal }).run({
    door: "http",
    body: { sql: "SELECT a.x FROM GitHub.pull_requests a JOIN jira.issues b ON a.x = b.y" },
    traceId: "t-slow",
  });
  // Not identified: nothing to record under.
  await pipeline([parseRequest(), answer], { journal }).run({ door: "http", body: {} });
  await journal.settled();
  assert.deepEqual(
    committed.map((r) => [r.traceId, r.door, r.status, r.errorCode, r.zone, r.tables, r.rows]),
    [
      ["t-ok", "mcp", 200, null, "eu", ["jira.issues"], 0],
      ["t-bad", "pg", 400, "INVALID_REQUEST", "eu", [], null],
      ["t-slow", "http", 504, "QUERY_TIMEOUT", "eu", ["github.pull_requests", "jira.issues"], null],
    ],
  );
  await journal.close();
});

Deno.test("QueryPipeline withholds an answer whose record cannot be made durable", async () => {
  // A journal whose directory cannot exist: no record is ever durable.
  const journal = new AuditJournal({ dir: "/dev/null/journal", commit: () => Promise.resolve() });
  const res = await pipeline([asGlobex, parseRequest(), answer], { journal })
    .run({ door: "http", body: { sql: "SELECT 1" } });
  assert.equal(res.status, 500);
  assert.equal(JSON.parse(res.body).error.code, "INTERNAL");
  assert.ok(!res.body.includes("rows"), "no data leaves without its record");
});

Deno.test("a caller who leaves before the zone answers stops waiting; the query is recorded once, by the zone or else here", async () => {
  for (const zoneRecorded of [true, false]) {
    const committed: AuditRecord[] = [];
    const journal = new AuditJournal({
      commit: (rs) => Promise.resolve(void committed.push(...rs)),
    });
    const zone = Promise.withResolvers<ZoneAnswer>();
    const caller = new AbortController();
    const metrics = new Metrics();
    const run = pipeline([asGlobex, parseRequest(), forward(() => zone.promise)], {
      journal,
      metrics,
    })
      .run({ door: "pg", body: { sql: "SELECT 1" }, traceId: "t-left", signal: caller.signal });
    await new Promise((r) => setTimeout(r, 10));
    caller.abort();
    const res = await run; // before the zone answers
    assert.equal(JSON.parse(res.body).error.code, "INVALID_REQUEST");
    assert.match(
      await metrics.render(),
      /^omnisql_queries_total\{status="cancelled",zone="eu"\} 1$/m,
    );
    await journal.settled();
    assert.equal(committed.length, 0);
    zone.resolve({ status: 200, text: "{}", body: () => ({}), recorded: zoneRecorded });
    await new Promise((r) => setTimeout(r, 10));
    await journal.settled();
    assert.deepEqual(
      committed.map((r) => [r.traceId, r.errorCode]),
      zoneRecorded ? [] : [["t-left", "INVALID_REQUEST"]],
    );
  }
});
