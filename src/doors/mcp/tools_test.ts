import assert from "node:assert/strict";
// @ts-types="npm:@modelcontextprotocol/sdk@1.32.2/client/index"
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
// @ts-types="npm:@modelcontextprotocol/sdk@1.32.2/inMemory"
import { InMemoryTransport } from "@modelcontextprotocol/sdk/inMemory.js";
import { appGateway } from "../gateway.ts";
import { doorOf } from "../../http/door.ts";
import { buildMcpServer } from "./tools.ts";

/** An app answering `/v1/query` with `rows` rows, recording the doors it was called by. */
function app(rows: number, doors: string[]) {
  return appGateway((request) => {
    doors.push(doorOf(request));
    return Response.json({
      columns: ["id"],
      rows: Array.from({ length: rows }, (_, id) => ({ id })),
      freshness_ms: 5,
      from_cache: false,
      truncated: false,
      trace_id: "t",
      sources: [{ table: "github.pull_requests", rows, from_cache: false, freshness_ms: 5 }],
    });
  });
}

async function connect(server: ReturnType<typeof buildMcpServer>): Promise<Client> {
  const [a, b] = InMemoryTransport.createLinkedPair();
  const client = new Client({ name: "t", version: "1" });
  await Promise.all([server.connect(a), client.connect(b)]);
  return client;
}

Deno.test("query cuts a large answer and tells the agent how to narrow it", async () => {
  const doors: string[] = [];
  const client = await connect(
    buildMcpServer({ gateway: app(500, doors), token: "t", maxRows: 50 }),
  );
  const result = await client.callTool({ name: "query", arguments: { sql: "SELECT id FROM x.y" } });
  const structured = result.structuredContent as {
    rows: unknown[];
    row_count: number;
    truncated: boolean;
  };
  assert.equal(structured.rows.length, 50);
  assert.equal(structured.row_count, 500);
  assert.equal(structured.truncated, true);
  assert.match(JSON.stringify(result.content), /add a LIMIT/);
  assert.deepEqual(doors, ["mcp"]);
  await client.close();
});

Deno.test("query reports the pipeline's error code as a tool error", async () => {
  const gateway = appGateway(() =>
    Response.json({
      error: { code: "RATE_LIMIT_EXHAUSTED", message: "user budget spent", retry_after_ms: 1200 },
    }, { status: 429 })
  );
  const client = await connect(buildMcpServer({ gateway, token: "t" }));
  const result = await client.callTool({ name: "query", arguments: { sql: "SELECT 1" } });
  assert.equal(result.isError, true);
  assert.match(JSON.stringify(result.content), /RATE_LIMIT_EXHAUSTED.*retry after 1200 ms/);
  await client.close();
});
