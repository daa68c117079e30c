import assert from "node:assert/strict";
import { sql } from "drizzle-orm";
import { executeRows, openCatalog } from "./db.ts";
import { serveCatalog } from "./serve.ts";
import { openTestCatalog } from "./testing.ts";
import { tenants } from "./schema.ts";
import { CatalogKeyStore } from "./key_store.ts";
import { Catalog } from "./store.ts";
import { KeyRing } from "../crypto/mod.ts";

for (const pgliteInWorker of [false, true]) {
  Deno.test({
    name: `serveCatalog() lets a Postgres client use the PGlite catalog while the process does too${
      pgliteInWorker ? " (PGlite in a worker thread)" : ""
    }`,
    sanitizeOps: false,
    sanitizeResources: false,
    async fn() {
      const local = await openTestCatalog("pglite", { pgliteInWorker });
      const server = await serveCatalog(local.catalogDb.pglite!, { port: 0 });
      assert.match(server.url, /^postgres:\/\/postgres@127\.0\.0\.1:\d+\/postgres$/);
      const remoteDb = await openCatalog({ databaseUrl: server.url, maxConnections: 1 });
      try {
        // The admin CLI's view: same tenants, same keys (same master key), credentials decrypt.
        const remote = new Catalog(
          remoteDb.db,
          new KeyRing({ masterKey: local.masterKey, store: new CatalogKeyStore(remoteDb.db) }),
        );
        assert.equal((await remote.getTenant("acme"))?.zone, "us");
        assert.equal(
          (await remote.getConnection("acme", "github"))?.credentials.token,
          "ghp_demo_acme_0123456789",
        );
        await remote.setTenantZone("globex", "us");
        assert.equal((await local.catalog.getTenant("globex"))?.zone, "us");

        // Interleaved work: a remote transaction that rolls back, local writes and transactions,
        // remote reads and audit appends from both sides.
        const remoteTx = remoteDb.db.transaction(async (tx) => {
          await tx.insert(tenants).values({ id: "ghost", name: "Ghost", zone: "us" });
          await new Promise((r) => setTimeout(r, 50));
          throw new Error("roll back");
        }).catch((err: Error) => err.message);
        const localTx = local.catalogDb.db.transaction(async (tx) => {
          await tx.insert(tenants).values({ id: "ghost2", name: "Ghost", zone: "us" });
          await new Promise((r) => setTimeout(r, 50));
          throw new Error("roll back too");
        }).catch((err: Error) => err.message);
        const remoteWrites = (async () => {
          for (let i = 0; i < 5; i++) {
            await remote.createTenant({ id: `remote${i}`, name: "R", zone: "us" });
          }
        })();
        const localWrites = (async () => {
          for (let i = 0; i < 10; i++) {
            await local.catalog.createTenant({ id: `local${i}`, name: "L", zone: "eu" });
          }
        })();
        const audits = Promise.all(
          Array.from({ length: 10 }, (_, i) =>
            (i % 2 ? remote : local.catalog).appendAudit({
              tenantId: "acme",
              userEmail: "admin@acme",
              zone: "us",
              traceId: `t${i}`,
              sql: "tenants list",
              status: 200,
              kind: "admin",
            })),
        );
        const reads = Promise.all(Array.from({ length: 10 }, () => remote.listTenants()));
        const [rolledBack, localRolledBack] = await Promise.all([
          remoteTx,
          localTx,
          remoteWrites,
          localWrites,
          audits,
          reads,
        ]);
        assert.equal(rolledBack, "roll back");
        assert.equal(localRolledBack, "roll back too");
        // Neither side's statements slipped into the other's rolled-back transaction.
        assert.equal(await local.catalog.getTenant("ghost"), undefined);
        assert.equal(await local.catalog.getTenant("ghost2"), undefined);
        assert.equal((await remote.listTenants()).length, 17);
        assert.deepEqual(await local.catalog.verifyAudit("acme"), { ok: true, rows: 10 });
        const [{ n }] = await executeRows<{ n: number }>(
          local.catalogDb.db,
          sql`select count(*)::int as n from tenants`,
        );
        assert.equal(n, 17);
      } finally {
        await remoteDb.close();
        await server.stop();
        await local.close();
      }
    },
  });
}
