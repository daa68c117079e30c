import assert from "node:assert/strict";
import { Hono } from "hono";
import type { ErrorHandler } from "hono";
import { toOmniError } from "../errors.ts";
import type { TelemetryEnv } from "./env.ts";
import { metricsRoute } from "./http_metrics.ts";
import { Metrics } from "./metrics.ts";

// Errors answer as the apps answer them: the error's own status and body.
const renderErrors: ErrorHandler<TelemetryEnv> = (err, c) => {
  const error = toOmniError(err);
  return c.json(error.toBody(), error.status as 400);
};

Deno.test("Metrics gauges read breakers and queue depth at scrape time", async () => {
  const metrics = new Metrics();
  let depth = 3;
  metrics.observeQueueDepth(() => depth);
  metrics.observeBreakers(() => [{ tenant: "acme", source: "github", state: "open" }]);
  assert.match(await metrics.render(), /^omnisql_async_queue_depth 3$/m);
  depth = 0;
  const text = await metrics.render();
  assert.match(text, /^omnisql_async_queue_depth 0$/m);
  assert.match(text, /^omnisql_breaker_state\{source="github"\} 2$/m);
});

Deno.test("Metrics carry no tenant id unless configured", async () => {
  const metrics = new Metrics();
  metrics.query({ status: "ok", tenant: "globex", zone: "eu" }, 0.01);
  metrics.observeBreakers(() => [{ tenant: "globex", source: "github", state: "open" }]);
  const text = await metrics.render();
  assert.ok(!text.includes("globex"), text);
  assert.match(text, /^omnisql_queries_total\{status="ok",zone="eu"\} 1$/m);
  const labelled = new Metrics({ tenantLabels: true });
  labelled.observeBreakers(() => [{ tenant: "globex", source: "github", state: "open" }]);
  assert.match(await labelled.render(), /^omnisql_breaker_state\{source="globex\/github"\} 2$/m);
});

Deno.test("metricsRoute() with a scrape token answers 401 without it", async () => {
  const app = new Hono<TelemetryEnv>();
  app.onError(renderErrors);
  app.get("/metrics", metricsRoute(new Metrics(), { token: "scrape-secret" }));
  assert.equal((await app.request("/metrics")).status, 401);
  const wrong = await app.request("/metrics", { headers: { authorization: "Bearer nope" } });
  assert.equal(wrong.status, 401);
  const ok = await app.request("/metrics", { headers: { authorization: "Bearer scrape-secret" } });
  assert.equal(ok.status, 200);
  assert.match(await ok.text(), /omnisql_queries_total/);
});
