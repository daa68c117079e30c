/**
 * The catalog as the servers and the admin CLI use it: one object over the per-noun stores —
 * {@link TenantStore} (`tenants.ts`), {@link UserStore} (`users.ts`), {@link ConnectionStore}
 * (`connections.ts`), {@link PolicyStore} (`policies.ts`), {@link TableStore} (`tables.ts`),
 * {@link AuditLog} (`audit_log.ts`) and the tenants' key ring — sharing one database and one
 * memo of query-path reads. Its methods are the stores' own, under the names call sites use.
 *
 * @module
 */
import { KeyRing } from "../crypto/mod.ts";
import type { CatalogDatabase } from "./db.ts";
import { AuditLog } from "./audit_log.ts";
import { ConnectionStore } from "./connections.ts";
import { PolicyStore } from "./policies.ts";
import { TableStore } from "./tables.ts";
import { TenantStore } from "./tenants.ts";
import { UserStore } from "./users.ts";
import { ReadCache } from "./_read_cache.ts";
import { CatalogKeyStore, type CatalogReads } from "./key_store.ts";
import { catalogChanges } from "./schema.ts";
import { eq } from "drizzle-orm";

export type { NewTenant, OffboardResult, TenantLifecycleHooks } from "./tenants.ts";
export type { UserInput } from "./users.ts";
export type { ConnectionInput, PublicConnection } from "./connections.ts";
export type { BreakingChange, ConnectorTables, SyncOptions, SyncResult } from "./tables.ts";

/** An audit chain in a zone's own store (see {@link Catalog.zoneAudit}). */
export type ZoneAuditLog = AuditLog;

/** Options of {@link Catalog}. */
export interface CatalogOptions {
  /**
   * How long query-path reads (tenant, user, connections, policy) are remembered before they are
   * revalidated (one read of the catalog's change count renews them all while nothing changed);
   * writes through this instance clear them at once. @default 1000
   */
  readCacheTtlMs?: number;
  /**
   * The audit key (`OMNISQL_AUDIT_KEY`): audit hashes are HMACs with it, so whoever owns the
   * table cannot rewrite the chain consistently. @default none: unkeyed SHA-256 (local stack)
   */
  auditKey?: string;
}

/**
 * The catalog: tenants, users, connections (credentials encrypted with the tenant's key), the
 * connectors' tables, policies and the hash-chained audit log.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { Catalog, CatalogKeyStore, openCatalog } from "./mod.ts";
 * import { generateMasterKey, KeyRing } from "../crypto/mod.ts";
 * const { db, close } = await openCatalog({});
 * const catalog = new Catalog(db, new KeyRing({
 *   masterKey: generateMasterKey(), store: new CatalogKeyStore(db),
 * }));
 * await catalog.tenants.create({ id: "acme", name: "Acme", zone: "us" });
 * assert.ok((await catalog.getTenant("acme"))?.zone === "us");
 * await close();
 * ```
 */
export class Catalog {
  /** The Drizzle database. */
  readonly db: CatalogDatabase;
  /** The tenants' key ring (rotate and shred through it). */
  readonly keyRing: KeyRing;
  readonly tenants: TenantStore;
  readonly users: UserStore;
  readonly connections: ConnectionStore;
  readonly policies: PolicyStore;
  readonly tables: TableStore;
  /** The catalog's own audit chain. */
  readonly audit: AuditLog;
  readonly #reads: ReadCache;
  readonly #auditKey: string | undefined;

  constructor(db: CatalogDatabase, keyRing: KeyRing, options: CatalogOptions = {}) {
    this.db = db;
    this.keyRing = keyRing;
    this.#reads = new ReadCache(options.readCacheTtlMs ?? 1000, Date.now, async () => {
      const [row] = await db.select({ changes: catalogChanges.version }).from(catalogChanges)
        .where(eq(catalogChanges.id, 1));
      return row?.changes;
    });
    this.#auditKey = options.auditKey;
    this.tenants = new TenantStore(db, keyRing, this.#reads);
    this.users = new UserStore(db, this.#reads);
    this.connections = new ConnectionStore(db, keyRing, this.#reads);
    this.policies = new PolicyStore(db, this.#reads);
    this.tables = new TableStore(db);
    this.audit = new AuditLog(db, { auditKey: options.auditKey });
  }

  /**
   * A catalog whose tenants' keys are sealed by `masterKey` and kept in its own `tenant_keys`,
   * read through its memo of hot reads (see {@link CatalogKeyStore}): what a server runs.
   *
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { Catalog, openCatalog } from "./mod.ts";
   * import { generateMasterKey } from "../crypto/mod.ts";
   * const { db, close } = await openCatalog({});
   * const catalog = Catalog.withKeys(db, generateMasterKey());
   * const token = await catalog.keyRing.encrypt("acme", "secret");
   * assert.equal(await catalog.keyRing.decryptText("acme", token), "secret");
   * await close();
   * ```
   */
  static withKeys(db: CatalogDatabase, masterKey: string, options: CatalogOptions = {}): Catalog {
    // Read only once the catalog exists: nothing reads a key while it is being built.
    const reads: CatalogReads = {
      remembered: (key, load) => catalog.remembered(key, load),
      forgetReads: () => catalog.forgetReads(),
    };
    const store = new CatalogKeyStore(db, reads);
    const catalog: Catalog = new Catalog(db, new KeyRing({ masterKey, store }), options);
    return catalog;
  }

  /**
   * Reads `key` through the catalog's memo of hot reads: for a module outside the catalog that
   * reads a table the change count covers (a migration adds the table's triggers), so its value
   * is revalidated with the rest instead of read again after a quiet second.
   *
   * @example
   * ```ts ignore
   * const budgets = await catalog.remembered(`cost-budgets:${tenantId}`, () => read(tenantId));
   * ```
   */
  remembered<T>(key: string, load: () => Promise<T>): Promise<T> {
    return this.#reads.get(key, load);
  }

  /** Drops remembered reads (after a write this instance did not make). */
  forgetReads(): void {
    this.#reads.clear();
  }

  /**
   * Keeps the remembered reads current while queries come (a server's catalog): the change count
   * is read in the background, so a query after a quiet second does not wait for that read.
   * Returns the function that stops it.
   *
   * @example
   * ```ts ignore
   * const stop = catalog.keepReadsFresh();
   * // … serve …
   * stop();
   * ```
   */
  keepReadsFresh(): () => void {
    return this.#reads.keepFresh();
  }

  /**
   * The audit chain kept in a zone's own store (`ZONE_<NAME>_DATABASE_URL`), where the SQL text
   * of the zone's queries lives; hashed like this catalog's chain, with the same audit key.
   */
  zoneAudit(db: CatalogDatabase): ZoneAuditLog {
    return new AuditLog(db, { auditKey: this.#auditKey });
  }

  // The names call sites use, each the noun store's own method.
  getTenant: TenantStore["get"] = (id) => this.tenants.get(id);
  listTenants: TenantStore["list"] = () => this.tenants.list();
  createTenant: TenantStore["create"] = (input) => this.tenants.create(input);
  setTenantZone: TenantStore["setZone"] = (id, zone) => this.tenants.setZone(id, zone);
  setTenantSettings: TenantStore["setSettings"] = (id, s) => this.tenants.setSettings(id, s);
  setTenantDirectOnly: TenantStore["setDirectOnly"] = (id, d) => this.tenants.setDirectOnly(id, d);
  onTenantLifecycle: TenantStore["onLifecycle"] = (hooks) => this.tenants.onLifecycle(hooks);
  offboardTenant: TenantStore["offboard"] = (id) => this.tenants.offboard(id);
  rotateTenantKey: ConnectionStore["rotateKey"] = (id) => this.connections.rotateKey(id);
  getUser: UserStore["get"] = (tenantId, email) => this.users.get(tenantId, email);
  upsertUser: UserStore["upsert"] = (input) => this.users.upsert(input);
  listUsers: UserStore["list"] = (tenantId) => this.users.list(tenantId);
  addConnection: ConnectionStore["add"] = (input) => this.connections.add(input);
  putConnection: ConnectionStore["put"] = (input) => this.connections.put(input);
  setConnectionCredentials: ConnectionStore["setCredentials"] = (t, n, c) =>
    this.connections.setCredentials(t, n, c);
  updateConnection: ConnectionStore["update"] = (t, n, c) => this.connections.update(t, n, c);
  removeConnection: ConnectionStore["remove"] = (t, n) => this.connections.remove(t, n);
  listConnections: ConnectionStore["list"] = (tenantId) => this.connections.list(tenantId);
  getConnection: ConnectionStore["get"] = (t, name) => this.connections.get(t, name);
  listConnectionsPublic: ConnectionStore["listPublic"] = (t) => this.connections.listPublic(t);
  syncCatalogTables: TableStore["sync"] = (defs, options) => this.tables.sync(defs, options);
  listCatalogTables: TableStore["list"] = () => this.tables.list();
  putPolicy: PolicyStore["put"] = (t, source, by) => this.policies.put(t, source, by);
  getPolicy: PolicyStore["get"] = (tenantId) => this.policies.get(tenantId);
  appendAudit: AuditLog["append"] = (record) => this.audit.append(record);
  verifyAudit: AuditLog["verify"] = (tenantId) => this.audit.verify(tenantId);
  tailAudit: AuditLog["tail"] = (tenantId, n) => this.audit.tail(tenantId, n);
}
