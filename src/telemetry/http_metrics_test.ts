import assert from "node:assert/strict";
import { Hono } from "hono";
import { OmniError } from "../errors.ts";
import type { AppEnv } from "../http/env.ts";
import { renderErrors } from "../http/errors.ts";
import { recordQueries } from "./http_metrics.ts";
import { Metrics } from "./metrics.ts";

function appThatThrows(metrics: Metrics, err?: OmniError) {
  const app = new Hono<AppEnv>();
  app.onError(renderErrors);
  app.use("/v1/query", recordQueries({ metrics, zoneOf: () => "eu" }));
  app.post("/v1/query", (c) => {
    c.set("user", { sub: "dev@globex", tenant: "globex" });
    if (err) throw err;
    return c.json({ rows: [] });
  });
  return app;
}

Deno.test("recordQueries() counts answered queries as ok with tenant and zone", async () => {
  const metrics = new Metrics();
  await appThatThrows(metrics).request("/v1/query", { method: "POST" });
  const text = await metrics.render();
  assert.match(text, /^omnisql_queries_total\{status="ok",tenant="globex",zone="eu"\} 1$/m);
  assert.match(text, /^omnisql_query_latency_seconds_count\{zone="eu"\} 1$/m);
});

Deno.test("recordQueries() counts a spent budget by its level and the query by its code", async () => {
  const metrics = new Metrics();
  const refused = new OmniError("RATE_LIMIT_EXHAUSTED", "spent", { details: { level: "tenant" } });
  const res = await appThatThrows(metrics, refused).request("/v1/query", { method: "POST" });
  assert.equal(res.status, 429);
  const text = await metrics.render();
  assert.match(text, /^omnisql_rate_limit_refusals_total\{level="tenant"\} 1$/m);
  assert.match(
    text,
    /^omnisql_queries_total\{status="RATE_LIMIT_EXHAUSTED",tenant="globex",zone="eu"\} 1$/m,
  );
});

Deno.test("Metrics gauges read breakers and queue depth at scrape time", async () => {
  const metrics = new Metrics();
  let depth = 3;
  metrics.observeQueueDepth(() => depth);
  metrics.observeBreakers(() => [{ source: "acme/github", state: "open" }]);
  assert.match(await metrics.render(), /^omnisql_async_queue_depth 3$/m);
  depth = 0;
  const text = await metrics.render();
  assert.match(text, /^omnisql_async_queue_depth 0$/m);
  assert.match(text, /^omnisql_breaker_state\{source="acme\/github"\} 2$/m);
});
