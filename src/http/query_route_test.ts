import assert from "node:assert/strict";
import { Hono } from "hono";
import { QueryPipeline } from "../pipeline/pipeline.ts";
import type { AppEnv } from "./env.ts";
import { queryRoute } from "./query_route.ts";

Deno.test("queryRoute: the pipeline learns when the response has been sent, when the server tells", async () => {
  const delivered: (Promise<void> | undefined)[] = [];
  const pipeline = new QueryPipeline({
    steps: [(ctx) => {
      delivered.push(ctx.input.delivered);
      ctx.answer = { status: 200, body: { rows: [{ n: 1 }] } };
    }],
    zoneOf: () => "us",
  });
  const app = new Hono<AppEnv>().post("/v1/query", queryRoute(pipeline));
  const server = Deno.serve({ port: 0, hostname: "127.0.0.1", onListen: () => {} }, app.fetch);
  try {
    const res = await fetch(`http://127.0.0.1:${server.addr.port}/v1/query`, {
      method: "POST",
      body: JSON.stringify({ sql: "SELECT 1" }),
    });
    assert.deepEqual(await res.json(), { rows: [{ n: 1 }] });
    assert.ok(delivered[0], "served by Deno.serve: the response's delivery is known");
    await delivered[0];
    // Called in process (the doors' gateway): nothing to wait for.
    await app.fetch(new Request("http://local/v1/query", { method: "POST", body: "{}" }));
    assert.equal(delivered.length, 2);
    assert.equal(delivered[1], undefined);
  } finally {
    await server.shutdown();
  }
});
