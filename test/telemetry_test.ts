/**
 * Telemetry end to end on the local stack: one OTel trace per query across edge → worker →
 * each source and DuckDB, Prometheus figures on edge and workers, and logs that never carry a
 * credential, a token or a source value.
 */
import assert from "node:assert/strict";
import type { ReadableSpan } from "@opentelemetry/sdk-trace";
import { DEMO_GITHUB, DEMO_JIRA } from "../src/catalog/demo.ts";
import { demoOrg } from "../connectors/demo/world.ts";
import { captureSpans } from "../src/telemetry/testing.ts";
import { postQuery, startTestStack, tokenFor } from "./_stack.ts";

const JOIN = "SELECT gh.pr_id, gh.title, gh.branch, jira.issue_key, jira.status " +
  "FROM github.pull_requests gh JOIN jira.issues jira ON gh.branch = jira.branch_name " +
  "WHERE gh.status = 'merged' AND jira.status != 'Done'";

/** Every line written to the console while `fn` runs (the stack logs through it). */
async function captureConsole<T>(fn: () => Promise<T>): Promise<{ lines: string[]; value: T }> {
  const lines: string[] = [];
  const methods = ["log", "info", "warn", "error", "debug"] as const;
  const saved = methods.map((m) => console[m]);
  for (const m of methods) {
    // Log lines leave in batches: one call may carry several.
    console[m] = (...args: unknown[]) => lines.push(...args.map(String).join(" ").split("\n"));
  }
  try {
    const value = await fn();
    await new Promise((r) => setTimeout(r, 10)); // the last batch of lines leaves
    return { lines, value };
  } finally {
    methods.forEach((m, i) => (console[m] = saved[i]));
  }
}

Deno.test("a query is one trace, counted in /metrics, and leaves no secret or row in the logs", async (t) => {
  const capture = captureSpans();
  const logged = await captureConsole(async () => {
    const stack = await startTestStack();
    try {
      const token = await tokenFor(stack, "acme", "admin@acme");

      await t.step("the trace spans edge, forward, worker, plan, each source, DuckDB", async () => {
        const res = await postQuery(stack.edgeUrl, token, {
          sql: JOIN,
          metadata: { trace_id: "trace-telemetry-1", max_staleness_ms: 0 },
        });
        assert.equal(res.status, 200, JSON.stringify(res.body));
        assert.equal(res.body.trace_id, "trace-telemetry-1");
        const spans = capture.spans().filter((s) =>
          s.attributes["omnisql.trace_id"] === "trace-telemetry-1"
        );
        const byName = (name: string) => capture.spans().filter((s) => s.name === name);
        const edge = spans.find((s) => s.name === "edge POST /v1/query");
        assert.ok(edge, "edge server span tagged with the request's trace id");
        const traceId = edge.spanContext().traceId;
        const inTrace = capture.spans().filter((s) => s.spanContext().traceId === traceId);
        const forward = inTrace.find((s) => s.name === "edge forward");
        const worker = inTrace.find((s) => s.name === "worker us POST /internal/v1/query");
        assert.ok(forward && worker, inTrace.map((s) => s.name).join(", "));
        assert.equal(parentOf(forward), edge.spanContext().spanId);
        // The worker continued the trace from the traceparent the edge sent.
        assert.equal(parentOf(worker), forward.spanContext().spanId);
        assert.equal(worker.attributes["omnisql.trace_id"], "trace-telemetry-1");
        const names = inTrace.map((s) => s.name);
        for (const name of ["plan", "security", "duckdb"]) {
          assert.ok(names.includes(name), `${name} in ${names.join(", ")}`);
        }
        for (const source of ["github.pull_requests", "jira.issues"]) {
          const span = inTrace.find((s) => s.name === `source ${source}`);
          assert.ok(span, `a span for ${source}`);
          assert.equal(parentOf(span), worker.spanContext().spanId);
        }
        const calls = inTrace.filter((s) => s.name === "github call" || s.name === "jira call");
        assert.ok(calls.length >= 2, "each call to an app is a client span");
        for (const call of calls) {
          assert.equal(typeof call.attributes["http.response.status_code"], "number");
          // An app's paths carry data (`/users/{login}`): never in a span.
          assert.equal(call.attributes["url.path"], undefined);
        }
        assert.ok(byName("duckdb").some((s) => s.spanContext().traceId === traceId));
      });

      await t.step("a failed query's spans carry its error code", async () => {
        const res = await postQuery(stack.edgeUrl, token, {
          sql: "SELECT nope FROM github.pull_requests",
          metadata: { trace_id: "trace-telemetry-2" },
        });
        assert.equal(res.status, 400);
        const edge = capture.spans().find((s) =>
          s.attributes["omnisql.trace_id"] === "trace-telemetry-2" && s.name.startsWith("edge")
        );
        assert.equal(edge?.attributes["omnisql.error_code"], "PLAN_FAILED");
      });

      await t.step("/metrics on the edge and the worker count queries and app calls", async () => {
        const edge = await (await fetch(`${stack.edgeUrl}/metrics`)).text();
        assert.match(edge, /^omnisql_queries_total\{status="ok",zone="us"\} 1$/m);
        assert.match(
          edge,
          /^omnisql_queries_total\{status="PLAN_FAILED",zone="us"\} 1$/m,
        );
        assert.match(edge, /^omnisql_query_latency_seconds_count\{zone="us"\} 2$/m);
        const worker = await (await fetch(`${stack.workerUrls.us}/metrics`)).text();
        assert.match(worker, /^omnisql_queries_total\{status="ok",zone="us"\} 1$/m);
        assert.match(
          worker,
          /^omnisql_connector_requests_total\{connector="github",status="200"\} \d+$/m,
        );
        assert.match(
          worker,
          /^omnisql_connector_requests_total\{connector="jira",status="200"\} \d+$/m,
        );
        assert.match(worker, /^omnisql_cache_misses_total\{kind="source"\} 2$/m);
        assert.match(worker, /^omnisql_async_queue_depth 0$/m);
        // No tenant ids unless configured (OMNISQL_METRICS_TENANT_LABELS=on).
        assert.ok(!edge.includes("acme") && !worker.includes("acme"));
        assert.match(worker, /^# TYPE omnisql_breaker_state gauge$/m);
      });

      await t.step("/metrics counts the edge's result-cache hits and misses", async () => {
        const ask = () =>
          postQuery(stack.edgeUrl, token, { sql: JOIN, metadata: { max_staleness_ms: 60_000 } });
        // The first step's live answer was stored: this repeat is a hit.
        assert.equal((await ask()).body.from_cache, true);
        const miss = await postQuery(stack.edgeUrl, token, {
          sql: "SELECT count(*) AS n FROM jira.issues",
          metadata: { max_staleness_ms: 60_000 },
        });
        assert.equal(miss.body.from_cache, false);
        const edge = await (await fetch(`${stack.edgeUrl}/metrics`)).text();
        assert.match(edge, /^omnisql_cache_hits_total\{kind="result"\} 1$/m);
        assert.match(edge, /^omnisql_cache_misses_total\{kind="result"\} \d+$/m);
      });

      return token;
    } finally {
      await stack.close();
    }
  }).finally(() => capture.stop());
  const { lines, value: token } = logged;

  await t.step("logs are JSON with trace ids and never a credential, token or row", () => {
    const log = lines.join("\n");
    const access = lines.filter((l) => l.includes('"msg":"request"')).map((l) => JSON.parse(l));
    assert.ok(access.some((l) => l.trace_id === "trace-telemetry-1" && l.status === 200));
    const secrets = [
      token,
      DEMO_GITHUB.acme.credentials.token,
      DEMO_JIRA.acme.credentials.apiToken,
    ];
    for (const secret of secrets) assert.ok(!log.includes(secret), "a secret in the logs");
    assert.ok(!/eyJ[\w-]+\.eyJ[\w-]+\./.test(log), "a JWT in the logs");
    for (const p of demoOrg("acme").pulls) {
      for (const value of [p.title, p.head]) {
        assert.ok(!log.includes(value), `source value ${value} in the logs`);
      }
    }
  });
});

function parentOf(span: ReadableSpan): string | undefined {
  return span.parentSpanContext?.spanId;
}
