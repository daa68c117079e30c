/**
 * The catalog: tenants, users, connections, the connectors' tables, policies and the audit log,
 * in Postgres through Drizzle (an embedded PGlite locally), with one query layer for both.
 *
 * - {@link openCatalog} opens and migrates the database; {@link serveCatalog} exposes an embedded
 *   PGlite over TCP for the admin CLI.
 * - One store per noun — {@link TenantStore}, {@link UserStore}, {@link ConnectionStore},
 *   {@link PolicyStore}, {@link TableStore} (the connectors' tables), {@link AuditLog} — and
 *   {@link Catalog}, the facade that holds them (`catalog.tenants`, …) and keeps the method names
 *   call sites use. Connection credentials are encrypted with the tenant's key (a `KeyRing` from
 *   `src/crypto`, stored through {@link CatalogKeyStore}).
 * - {@link seedDemo} seeds the demo tenants from the constants in `demo.ts`.
 * - Tests use `src/catalog/testing.ts` (`withCatalogs`, `openTestCatalog`), not exported here.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { Catalog, CatalogKeyStore, openCatalog, PLACEHOLDER_SANDBOXES, seedDemo } from "./mod.ts";
 * import { generateMasterKey, KeyRing } from "../crypto/mod.ts";
 * const { db, close } = await openCatalog({});
 * const keyRing = new KeyRing({ masterKey: generateMasterKey(), store: new CatalogKeyStore(db) });
 * const catalog = new Catalog(db, keyRing);
 * await seedDemo(catalog, PLACEHOLDER_SANDBOXES);
 * const [github] = await catalog.listConnections("acme");
 * assert.ok(github.credentials.token === "ghp_demo_acme_0123456789");
 * await close();
 * ```
 *
 * @module
 */
export {
  type CatalogDatabase,
  type CatalogDb,
  type CatalogSchema,
  executeRows,
  MIGRATIONS_FOLDER,
  openCatalog,
  type OpenCatalogOptions,
} from "./db.ts";
export { type CatalogServer, serveCatalog, type ServeCatalogOptions } from "./serve.ts";
export {
  type BreakingChange,
  Catalog,
  type CatalogOptions,
  type ConnectionInput,
  type ConnectorTables,
  type NewTenant,
  type OffboardResult,
  type PublicConnection,
  type SyncOptions,
  type SyncResult,
  type TenantLifecycleHooks,
  type UserInput,
  type ZoneAuditLog,
} from "./store.ts";
export {
  appendAudit,
  auditHash,
  type AuditKeyOptions,
  type AuditRecord,
  type AuditVerification,
  GENESIS_HASH,
  sqlDigest,
  tailAudit,
  verifyAudit,
} from "./audit.ts";
export { CatalogKeyStore } from "./key_store.ts";
export { TenantStore } from "./tenants.ts";
export { UserStore } from "./users.ts";
export { ConnectionStore } from "./connections.ts";
export { PolicyStore } from "./policies.ts";
export { TableStore } from "./tables.ts";
export { AuditLog } from "./audit_log.ts";
export { type AuditAppender, digestAuditAppender, zoneAuditAppender } from "./zone_audit.ts";
export { seedDemo } from "./seed.ts";
export {
  DEMO_GITHUB,
  DEMO_JIRA,
  DEMO_POLICY_ACME,
  DEMO_TENANTS,
  DEMO_USERS,
  type DemoConnection,
  type DemoSandboxes,
  PLACEHOLDER_SANDBOXES,
} from "./demo.ts";
export {
  auditLog,
  catalogTables,
  connections,
  policies,
  tenantKeys,
  tenants,
  users,
} from "./schema.ts";
export type {
  AuditRow,
  CatalogColumn,
  CatalogTableRow,
  ConnectionRow,
  NewAuditRow,
  NewTenantRow,
  NewUserRow,
  PolicyRow,
  TenantKeyRow,
  TenantRow,
  TenantSettings,
  UserRow,
} from "./schema.ts";
