/**
 * Seeding the demo tenants into a catalog.
 *
 * @module
 */
import type { Catalog } from "./store.ts";
import {
  DEMO_GITHUB,
  DEMO_JIRA,
  DEMO_LINEAR,
  DEMO_POLICY_ACME,
  DEMO_SALESFORCE,
  DEMO_SUPPORT,
  DEMO_TENANTS,
  DEMO_USERS,
  type DemoSandboxes,
} from "./demo.ts";
import { tenants } from "./schema.ts";

/**
 * Seeds the demo: tenants `acme` (zone `us`) and `globex` (zone `eu`), their users, a `github`
 * and a `jira` connection each — plus `linear`, `salesforce` and `support` (MCP) when those
 * sandboxes are given —
 * (pointing at the given sandboxes) and acme's default policy.
 * Idempotent: running it again updates the connections' URLs, credentials and configs and the
 * users, and leaves tenants' zones and any policy already stored alone.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { Catalog, CatalogKeyStore, openCatalog, PLACEHOLDER_SANDBOXES, seedDemo } from "./mod.ts";
 * import { generateMasterKey, KeyRing } from "../crypto/mod.ts";
 * const { db, close } = await openCatalog({});
 * const catalog = new Catalog(db, new KeyRing({
 *   masterKey: generateMasterKey(), store: new CatalogKeyStore(db),
 * }));
 * await seedDemo(catalog, PLACEHOLDER_SANDBOXES);
 * assert.ok((await catalog.listUsers("acme")).length === 4);
 * await close();
 * ```
 */
export async function seedDemo(catalog: Catalog, sandboxes: DemoSandboxes): Promise<void> {
  for (const tenant of DEMO_TENANTS) {
    await catalog.db.insert(tenants).values(tenant).onConflictDoNothing();
  }
  for (const user of DEMO_USERS) await catalog.upsertUser(user);
  for (const tenantId of ["acme", "globex"] as const) {
    // Each connection is named after its connector; linear and salesforce only when running.
    const demo = [
      ["github", sandboxes.github.url, DEMO_GITHUB[tenantId]],
      ["jira", sandboxes.jira[tenantId].url, DEMO_JIRA[tenantId]],
      ["linear", sandboxes.linear?.[tenantId].url, DEMO_LINEAR[tenantId]],
      ["salesforce", sandboxes.salesforce?.[tenantId].url, DEMO_SALESFORCE[tenantId]],
    ] as const;
    for (const [connector, baseUrl, connection] of demo) {
      if (baseUrl === undefined) continue;
      await catalog.putConnection({ tenantId, connector, name: connector, baseUrl, ...connection });
    }
    if (sandboxes.support) {
      await catalog.putConnection({
        tenantId,
        connector: "mcp",
        name: "support",
        baseUrl: sandboxes.support[tenantId].url,
        credentials: DEMO_SUPPORT[tenantId].credentials,
        // The desk is its own authorization server: the OAuth client's issuer is its origin.
        config: DEMO_SUPPORT[tenantId].credentials.clientId
          ? {
            ...DEMO_SUPPORT[tenantId].config,
            oauth: { issuer: new URL(sandboxes.support[tenantId].url).origin },
          }
          : DEMO_SUPPORT[tenantId].config,
      });
    }
  }
  if (!await catalog.getPolicy("acme")) {
    await catalog.putPolicy("acme", DEMO_POLICY_ACME, "seed");
  }
}
