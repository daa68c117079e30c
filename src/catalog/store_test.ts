import assert from "node:assert/strict";
import { eq, sql } from "drizzle-orm";
import { OmniError } from "../errors.ts";
import { executeRows } from "./db.ts";
import { DEMO_GITHUB, DEMO_JIRA, PLACEHOLDER_SANDBOXES } from "./demo.ts";
import { connections, tenantKeys } from "./schema.ts";
import { withCatalogs } from "./testing.ts";
import { Catalog } from "./store.ts";

withCatalogs("createTenant() then getTenant() round-trips, with defaults", async ({ catalog }) => {
  const created = await catalog.createTenant({ id: "initech", name: "Initech", zone: "eu" });
  assert.equal(created.directOnly, false);
  assert.deepEqual(created.settings, {});
  assert.ok(created.createdAt instanceof Date);
  const found = await catalog.getTenant("initech");
  assert.deepEqual(found, created);
  assert.equal(await catalog.getTenant("nobody"), undefined);
  await catalog.createTenant({
    id: "hooli",
    name: "Hooli",
    zone: "us",
    directOnly: true,
    settings: { maxStalenessMs: 5000, ttlMs: 60000, rateLimits: { userPerMinute: 100 } },
  });
  const hooli = await catalog.getTenant("hooli");
  assert.equal(hooli?.directOnly, true);
  assert.equal(hooli?.settings.rateLimits?.userPerMinute, 100);
  assert.deepEqual((await catalog.listTenants()).map((t) => t.id), ["hooli", "initech"]);
}, { seed: false });

withCatalogs("createTenant() refuses a taken id with INVALID_REQUEST", async ({ catalog }) => {
  await assert.rejects(
    () => catalog.createTenant({ id: "acme", name: "Again", zone: "eu" }),
    (err) => err instanceof OmniError && err.code === "INVALID_REQUEST",
  );
  assert.equal((await catalog.getTenant("acme"))?.name, "Acme Corp");
});

withCatalogs(
  "setTenantZone() moves a tenant; NOT_FOUND for an unknown one",
  async ({ catalog }) => {
    assert.equal((await catalog.setTenantZone("acme", "eu")).zone, "eu");
    assert.equal((await catalog.getTenant("acme"))?.zone, "eu");
    await assert.rejects(
      () => catalog.setTenantZone("nobody", "eu"),
      (err) => err instanceof OmniError && err.code === "NOT_FOUND",
    );
  },
);

withCatalogs("upsertUser() creates then replaces a user", async ({ catalog }) => {
  await catalog.upsertUser({ tenantId: "acme", email: "new@acme", role: "qa" });
  const user = await catalog.getUser("acme", "new@acme");
  assert.deepEqual(
    { ...user },
    { tenantId: "acme", email: "new@acme", role: "qa", teamId: null, attributes: {} },
  );
  await catalog.upsertUser({
    tenantId: "acme",
    email: "new@acme",
    role: "developer",
    teamId: "web",
    attributes: { region: "emea" },
  });
  const again = await catalog.getUser("acme", "new@acme");
  assert.equal(again?.role, "developer");
  assert.equal(again?.teamId, "web");
  assert.deepEqual(again?.attributes, { region: "emea" });
  assert.equal(await catalog.getUser("globex", "new@acme"), undefined);
  assert.equal((await catalog.listUsers("acme")).length, 5);
});

withCatalogs(
  "addConnection() stores credentials as ciphertext and listConnections() decrypts them",
  async ({ catalog, catalogDb }) => {
    await catalog.createTenant({ id: "initech", name: "Initech", zone: "us" });
    const input = {
      tenantId: "initech",
      connector: "github",
      name: "gh",
      baseUrl: "http://127.0.0.1:1",
      credentials: { token: "ghp_super_secret_value" },
      config: { owner: "initech", repos: ["tps"] },
    };
    const added = await catalog.addConnection(input);
    assert.equal("credentials" in added, false);

    const [raw] = await executeRows<{ credentials_enc: string }>(
      catalogDb.db,
      sql`select credentials_enc from connections where id = ${added.id}`,
    );
    assert.match(raw.credentials_enc, /^v1\.1\./);
    assert.ok(!raw.credentials_enc.includes("ghp_super_secret_value"));
    const [dump] = await executeRows<{ t: string }>(
      catalogDb.db,
      sql`select string_agg(c::text, '|') as t from connections c`,
    );
    assert.ok(!dump.t.includes("ghp_super_secret_value"));
    assert.ok(!dump.t.includes("ghp_demo_acme_0123456789"));

    const [conn] = await catalog.listConnections("initech");
    assert.deepEqual(conn, { id: added.id, ...input });
    const [pub] = await catalog.listConnectionsPublic("initech");
    assert.equal("credentials" in pub, false);
    assert.equal(pub.name, "gh");
    assert.equal(
      (await catalog.getConnection("initech", "gh"))?.credentials.token,
      "ghp_super_secret_value",
    );
  },
  { seed: false },
);

withCatalogs(
  "addConnection() refuses a second connection of the same name",
  async ({ catalog }) => {
    await assert.rejects(
      () =>
        catalog.addConnection({
          tenantId: "acme",
          connector: "github",
          name: "github",
          baseUrl: "http://x",
          credentials: {},
        }),
      (err) => err instanceof OmniError && err.code === "INVALID_REQUEST",
    );
  },
);

withCatalogs(
  "the seeded connections carry the demo credentials and configs",
  async ({ catalog }) => {
    const acme = await catalog.listConnections("acme");
    assert.deepEqual(acme.map((c) => c.name), ["github", "jira"]);
    assert.deepEqual(acme[0].credentials, DEMO_GITHUB.acme.credentials);
    assert.deepEqual(acme[0].config, DEMO_GITHUB.acme.config);
    assert.equal(acme[0].baseUrl, PLACEHOLDER_SANDBOXES.github.url);
    assert.deepEqual(acme[1].credentials, DEMO_JIRA.acme.credentials);
    assert.equal(acme[1].baseUrl, PLACEHOLDER_SANDBOXES.jira.acme.url);
    const globex = await catalog.listConnections("globex");
    assert.deepEqual(globex[1].config, DEMO_JIRA.globex.config);
    assert.equal(globex[1].baseUrl, PLACEHOLDER_SANDBOXES.jira.globex.url);
  },
);

withCatalogs("setConnectionCredentials() replaces the stored credentials", async ({ catalog }) => {
  await catalog.setConnectionCredentials("acme", "github", { token: "ghp_rotated" });
  assert.equal((await catalog.getConnection("acme", "github"))?.credentials.token, "ghp_rotated");
  await assert.rejects(
    () => catalog.setConnectionCredentials("acme", "nope", {}),
    (err) => err instanceof OmniError && err.code === "NOT_FOUND",
  );
});

withCatalogs(
  "after the tenant's keys are shredded its credentials fail with SOURCE_ERROR",
  async ({ catalog, catalogDb }) => {
    assert.equal(await catalog.keyRing.shred("acme"), 1);
    const [{ n }] = await executeRows<{ n: number }>(
      catalogDb.db,
      sql`select count(*)::int as n from tenant_keys where tenant_id = 'acme'`,
    );
    assert.equal(n, 0);
    await assert.rejects(
      () => catalog.listConnections("acme"),
      (err) => err instanceof OmniError && err.code === "SOURCE_ERROR",
    );
    // Public data and other tenants are unaffected.
    assert.equal((await catalog.listConnectionsPublic("acme")).length, 2);
    assert.equal((await catalog.listConnections("globex")).length, 2);
  },
);

withCatalogs(
  "rotate() keeps old credentials readable and encrypts new ones with the new version",
  async ({ catalog, catalogDb }) => {
    assert.equal(await catalog.keyRing.rotate("acme"), 2);
    assert.equal(
      (await catalog.getConnection("acme", "github"))?.credentials.token,
      DEMO_GITHUB.acme.credentials.token,
    );
    await catalog.setConnectionCredentials("acme", "jira", { apiToken: "new" });
    const [row] = await catalogDb.db.select().from(connections)
      .where(sql`${connections.tenantId} = 'acme' and ${connections.name} = 'jira'`);
    assert.match(row.credentialsEnc, /^v1\.2\./);
    const keys = await catalogDb.db.select().from(tenantKeys)
      .where(eq(tenantKeys.tenantId, "acme")).orderBy(tenantKeys.version);
    assert.deepEqual(keys.map((k) => [k.version, k.retiredAt !== null]), [[1, true], [2, false]]);
  },
);

withCatalogs("a second key ring (another process) decrypts with the stored keys", async (t) => {
  const { KeyRing } = await import("../crypto/mod.ts");
  const { CatalogKeyStore } = await import("./key_store.ts");
  const { Catalog } = await import("./store.ts");
  const other = new Catalog(
    t.catalogDb.db,
    new KeyRing({ masterKey: t.masterKey, store: new CatalogKeyStore(t.catalogDb.db) }),
  );
  assert.equal(
    (await other.getConnection("globex", "github"))?.credentials.token,
    DEMO_GITHUB.globex.credentials.token,
  );
});

withCatalogs("offboardTenant() shreds keys and removes the tenant's rows", async ({ catalog }) => {
  await catalog.appendAudit({
    tenantId: "globex",
    userEmail: "dev@globex",
    zone: "eu",
    traceId: "t",
    sql: "SELECT 1",
    status: 200,
    kind: "query",
  });
  await catalog.offboardTenant("globex");
  assert.equal(await catalog.getTenant("globex"), undefined);
  assert.deepEqual(await catalog.listUsers("globex"), []);
  assert.deepEqual(await catalog.listConnectionsPublic("globex"), []);
  assert.equal((await catalog.tailAudit("globex", 10)).length, 1);
  assert.equal((await catalog.listUsers("acme")).length, 4);
});

withCatalogs("syncCatalogTables() bumps a table's version only when its columns change", async ({
  catalog,
}) => {
  const v1 = [{ name: "id", type: "integer", description: "PR number" }];
  const first = await catalog.syncCatalogTables([
    { connector: "github", tables: [{ name: "pull_requests", description: "PRs", columns: v1 }] },
    { connector: "jira", tables: [{ name: "issues", description: "Issues", columns: v1 }] },
  ]);
  assert.deepEqual(first.created, ["github.pull_requests", "jira.issues"]);

  const same = await catalog.syncCatalogTables([
    { connector: "github", tables: [{ name: "pull_requests", description: "PRs", columns: v1 }] },
  ]);
  assert.deepEqual(same.unchanged, ["github.pull_requests"]);

  const described = await catalog.syncCatalogTables([
    { connector: "github", tables: [{ name: "pull_requests", description: "Pulls", columns: v1 }] },
  ]);
  assert.deepEqual(described.unchanged, ["github.pull_requests"]);

  const v2 = [...v1, { name: "title", type: "text", description: "Title" }];
  const changed = await catalog.syncCatalogTables([
    { connector: "github", tables: [{ name: "pull_requests", description: "Pulls", columns: v2 }] },
  ]);
  assert.deepEqual(changed.bumped, ["github.pull_requests"]);

  const tables = await catalog.listCatalogTables();
  assert.deepEqual(
    tables.map((t) => [t.connector, t.tableName, t.version, t.description]),
    [["github", "pull_requests", 2, "Pulls"], ["jira", "issues", 1, "Issues"]],
  );
  assert.deepEqual(tables[0].columns, v2);
}, { seed: false });

withCatalogs("syncCatalogTables() reports removed and retyped columns and refuses them", async ({
  catalog,
}) => {
  const v1 = [
    { name: "id", type: "integer", description: "Id" },
    { name: "title", type: "text", description: "Title" },
    { name: "points", type: "integer", description: "Points" },
  ];
  const sync = (columns: typeof v1, options?: { allowBreaking?: boolean }) =>
    catalog.syncCatalogTables([
      { connector: "linear", tables: [{ name: "issues", description: "Issues", columns }] },
    ], options);
  await sync(v1);
  const v2 = [
    { name: "id", type: "text", description: "Id" },
    { name: "points", type: "integer", description: "Points" },
    { name: "team", type: "text", description: "Team" },
  ];
  const refused = await sync(v2);
  assert.deepEqual(refused.breaking, [
    { table: "linear.issues", column: "id", change: "retyped integer → text" },
    { table: "linear.issues", column: "title", change: "removed" },
  ]);
  assert.deepEqual(refused.bumped, []);
  let [row] = await catalog.listCatalogTables();
  assert.deepEqual([row.version, row.columns], [1, v1], "a breaking change was applied");

  // Adding a column is not breaking: applied, version bumped.
  const added = await sync([...v1, { name: "team", type: "text", description: "Team" }]);
  assert.deepEqual([added.breaking, added.bumped], [[], ["linear.issues"]]);

  const forced = await sync(v2, { allowBreaking: true });
  assert.equal(forced.breaking.length, 2);
  assert.deepEqual(forced.bumped, ["linear.issues"]);
  [row] = await catalog.listCatalogTables();
  assert.deepEqual([row.version, row.columns], [3, v2]);
}, { seed: false });

withCatalogs(
  "putPolicy() adds versions and getPolicy() returns the latest",
  async ({ catalog }) => {
    const seeded = await catalog.getPolicy("acme");
    assert.equal(seeded?.version, 1);
    assert.match(seeded!.source, /rls_by_team/);
    assert.equal(await catalog.getPolicy("globex"), undefined);
    const next = await catalog.putPolicy("acme", "policies: []\n", "admin@acme");
    assert.equal(next.version, 2);
    assert.equal(next.createdBy, "admin@acme");
    const latest = await catalog.getPolicy("acme");
    assert.equal(latest?.version, 2);
    assert.equal(latest?.source, "policies: []\n");
    const parallel = await Promise.all(
      [1, 2, 3].map((i) => catalog.putPolicy("globex", `# ${i}`, "admin")),
    );
    assert.deepEqual(parallel.map((p) => p.version).sort(), [1, 2, 3]);
  },
);

withCatalogs(
  "another instance's remembered reads see a hand edit in the database once their TTL passes",
  async ({ catalog, catalogDb, keyRing }) => {
    const other = new Catalog(catalogDb.db, keyRing, { readCacheTtlMs: 50 });
    await catalog.upsertUser({ tenantId: "acme", email: "u@acme", role: "analyst", teamId: null });
    assert.equal((await other.getUser("acme", "u@acme"))?.role, "analyst");
    await new Promise((resolve) => setTimeout(resolve, 60));
    assert.equal((await other.getUser("acme", "u@acme"))?.role, "analyst"); // revalidated
    // Not through any Catalog: only the table's trigger can tell the other instance.
    await catalogDb.db.execute(sql`update users set role = 'admin' where email = 'u@acme'`);
    await new Promise((resolve) => setTimeout(resolve, 60));
    assert.equal((await other.getUser("acme", "u@acme"))?.role, "admin");
    await catalogDb.db.execute(sql`delete from policies where tenant_id = 'acme'`);
    await other.getPolicy("acme");
    await catalogDb.db.execute(
      sql`insert into policies (tenant_id, version, source, created_by)
          values ('acme', 99, 'policies: []', 'hand')`,
    );
    await new Promise((resolve) => setTimeout(resolve, 60));
    assert.equal((await other.getPolicy("acme"))?.version, 99);
  },
);
