import assert from "node:assert/strict";
import { sql } from "drizzle-orm";
import { executeRows, openCatalog } from "./db.ts";
import { openTestCatalog, withCatalogs } from "./testing.ts";

const TABLES = [
  "api_usage",
  "audit_heads",
  "audit_log",
  "catalog_changes",
  "catalog_tables",
  "connections",
  "cost_alerts",
  "cost_budgets",
  "jobs",
  "policies",
  "tenant_keys",
  "tenant_notifications",
  "tenants",
  "users",
  "webhook_secrets",
];

withCatalogs("openCatalog() applies the migrations", async ({ catalogDb }) => {
  const rows = await executeRows<{ table_name: string }>(
    catalogDb.db,
    sql`select table_name from information_schema.tables
        where table_schema = 'public' order by table_name`,
  );
  assert.deepEqual(rows.map((r) => r.table_name), TABLES);
  const [applied] = await executeRows<{ n: number }>(
    catalogDb.db,
    sql`select count(*)::int as n from drizzle.__drizzle_migrations`,
  );
  assert.ok(applied.n >= 1);
}, { seed: false });

withCatalogs(
  "every table whose reads are remembered bumps the change count",
  async ({ catalogDb }) => {
    const rows = await executeRows<{ table_name: string }>(
      catalogDb.db,
      sql`select distinct tgrelid::regclass::text as table_name from pg_trigger
        where tgname like '%\_changed' or tgname like '%\_truncated' order by 1`,
    );
    assert.deepEqual(rows.map((r) => r.table_name), [
      "connections",
      "cost_budgets",
      "policies",
      "tenant_keys",
      "tenants",
      "users",
    ]);
  },
  { seed: false },
);

withCatalogs("executeRows() returns plain rows on either driver", async ({ catalogDb }) => {
  const rows = await executeRows<{ n: number; s: string }>(
    catalogDb.db,
    sql`select 1::int as n, ${"x"}::text as s`,
  );
  assert.deepEqual([...rows].map((r) => ({ ...r })), [{ n: 1, s: "x" }]);
}, { seed: false });

Deno.test({
  name: "reopening a migrated Postgres database applies nothing twice",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const t = await openTestCatalog("postgres", { seed: false });
    const again = await openCatalog({ databaseUrl: t.databaseUrl });
    try {
      const [applied] = await executeRows<{ n: number }>(
        again.db,
        sql`select count(*)::int as n from drizzle.__drizzle_migrations`,
      );
      const files = [...Deno.readDirSync(new URL("../../migrations", import.meta.url))]
        .filter((e) => e.name.endsWith(".sql"));
      assert.equal(applied.n, files.length);
    } finally {
      await again.close();
      await t.close();
    }
  },
});
