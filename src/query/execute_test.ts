import assert from "node:assert/strict";
import { CONNECTORS } from "../../connectors/mod.ts";
import { acmeConnection } from "../../connectors/github/_testing.ts";
import { EnginePool } from "../duckdb/pool.ts";
import { OmniError } from "../errors.ts";
import { parseQuery } from "../sql/parse.ts";
import { type ExecuteContext, executeQuery, type ExplainResponse } from "./execute.ts";

const context: ExecuteContext = {
  tenantId: "acme",
  user: { sub: "dev@acme", tenant: "acme" },
  connections: [acmeConnection("http://127.0.0.1:1")],
  traceId: "t",
  zone: "us",
};

Deno.test("executeQuery() plans the query as its door analysed it, without parsing the text again", async () => {
  // Never started: EXPLAIN answers from the plan alone.
  const engine = new EnginePool({ size: 1 });
  const deps = { engine, connectors: CONNECTORS };
  const request = { sql: "this text is not SQL", metadata: {} };
  const parsed = parseQuery("EXPLAIN SELECT pr_id FROM github.pull_requests WHERE status = 'open'");
  try {
    const res = await executeQuery(request, { ...context, parsed }, deps) as ExplainResponse;
    assert.equal(res.explain, true);
    assert.equal(res.sql, "SELECT pr_id FROM github.pull_requests WHERE status = 'open'");
    assert.deepEqual(res.sources.map((s) => [s.table, s.pushdown.pushed]), [
      ["github.pull_requests", ["status = 'open'"]],
    ]);
    // Without the door's analysis the text itself is parsed, and refused.
    const refused = await executeQuery(request, context, deps).then(() => undefined, (e) => e);
    assert.ok(refused instanceof OmniError);
    assert.equal(refused.code, "PLAN_FAILED");
  } finally {
    await engine.close();
  }
});
