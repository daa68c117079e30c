import assert from "node:assert/strict";
import type { FetchedSource } from "../source/fetch.ts";
import type { QueryPlan, SourcePlan } from "../sql/plan.ts";
import { fetchSources } from "./fetch_sources.ts";

Deno.test("a JSON-RPC call is recorded without its id, a session's counter of every query's calls", async () => {
  const source = { key: "support.tickets" } as SourcePlan;
  const plan = { sources: [source], dependent: [] } as unknown as QueryPlan;
  const call = (id: number) =>
    JSON.stringify({ jsonrpc: "2.0", id, method: "tools/call", params: { name: "search" } });
  const scans = await fetchSources(plan, async (planned, fetcher) => {
    for (const id of [17, 18]) {
      await fetcher("http://mcp.invalid/mcp", { method: "POST", body: call(id) });
    }
    return { plan: planned.plan, rows: [], pages: 1, calls: 2 } as unknown as FetchedSource;
  }, { fetch: () => Promise.resolve(new Response("{}")) });
  const line = 'POST /mcp jsonrpc=2.0 method=tools/call params={"name":"search"}';
  assert.deepEqual(scans[0].requests, [line, line]);
});
