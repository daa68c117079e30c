import assert from "node:assert/strict";
import { CatalogViews } from "./catalog_view.ts";
import type { CatalogTable } from "../gateway.ts";

const TABLES: CatalogTable[] = [{
  table: "github.pull_requests",
  connector: "github",
  columns: [{ name: "pr_id", type: "integer" }],
}];

Deno.test({
  name: "catalog views are shared within a tenant, never across tenants",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const views = new CatalogViews({ statementTimeoutMs: 2_000 });
    try {
      const acme = await views.acquire("acme", TABLES);
      const acme2 = await views.acquire("acme", TABLES);
      const globex = await views.acquire("globex", TABLES);
      assert.equal(acme.view, acme2.view);
      assert.notEqual(acme.view, globex.view);
      // A statement that outruns the timeout is stopped; the view answers again after.
      const slow = await acme.view.query(
        "SELECT count(g) FROM (SELECT generate_series(1, 2000000000) AS g) s",
      ).then(() => "finished", (err: { fields?: { code: string } }) => err.fields?.code);
      assert.equal(slow, "57014");
      const reply = await globex.view.query(
        "SELECT current_user, current_setting('transaction_read_only')",
      );
      assert.equal(reply.find(([c]) => c === "E"), undefined);
      const row = reply.find(([c]) => c === "D")![1];
      const text = new TextDecoder().decode(row);
      assert.match(text, /omnisql_reader/);
      assert.match(text, /on/);
      for (const lease of [acme, acme2, globex]) lease.release();
    } finally {
      await views.close();
    }
  },
});

Deno.test({
  name: "a catalog view grown past its memory limit is replaced by a fresh one",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const started = async (views: CatalogViews) => {
      const lease = await views.acquire("acme", TABLES);
      const times: string[] = [];
      for (let i = 0; i < 2; i++) {
        const reply = await lease.view.query("SELECT pg_postmaster_start_time()::text");
        times.push(new TextDecoder().decode(reply.find(([c]) => c === "D")![1].subarray(11)));
      }
      lease.release();
      await views.close();
      return times;
    };
    const [a, b] = await started(new CatalogViews());
    assert.equal(a, b);
    const [c, d] = await started(new CatalogViews({ maxViewHeapBytes: 1 }));
    assert.notEqual(c, d);
  },
});
