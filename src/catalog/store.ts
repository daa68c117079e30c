/**
 * The queries the servers and the admin CLI run against the catalog, over either driver.
 *
 * @module
 */
import { and, asc, desc, eq, inArray, sql } from "drizzle-orm";
import type { Connection } from "../../connectors/sdk/table.ts";
import { CryptoError, type KeyRing } from "../crypto/mod.ts";
import { OmniError } from "../errors.ts";
import type { CatalogDatabase } from "./db.ts";
import {
  type AuditRow,
  type CatalogColumn,
  type CatalogTableRow,
  catalogTables,
  type ConnectionRow,
  connections,
  jobs,
  policies,
  type PolicyRow,
  type TenantRow,
  tenants,
  type TenantSettings,
  type UserRow,
  users,
} from "./schema.ts";
import {
  type AuditRecord,
  type AuditVerification,
  AuditWriter,
  tailAudit,
  verifyAudit,
} from "./audit.ts";
import { canonicalJson } from "./_canonical_json.ts";
import { ReadCache } from "./_read_cache.ts";

/** A tenant to create. */
export interface NewTenant {
  /** Short stable id, e.g. `acme`. */
  id: string;
  name: string;
  /** Residency zone, e.g. `us`. */
  zone: string;
  /** @default false */
  directOnly?: boolean;
  /** @default {} */
  settings?: TenantSettings;
}

/** A user to create or replace. */
export interface UserInput {
  tenantId: string;
  email: string;
  role: string;
  /** @default null */
  teamId?: string | null;
  /** @default {} */
  attributes?: Record<string, unknown>;
}

/** A connection to add; credentials are encrypted with the tenant's key before storage. */
export interface ConnectionInput {
  tenantId: string;
  /** Connector id, e.g. `github`. */
  connector: string;
  /** Schema name in SQL, unique per tenant. */
  name: string;
  baseUrl: string;
  credentials: Record<string, string>;
  /** @default {} */
  config?: Record<string, unknown>;
  /** @default a random UUID */
  id?: string;
}

/** A connection without its credentials: safe to show to admins and to log. */
export type PublicConnection = Omit<Connection, "credentials"> & { createdAt: Date };

/** What other modules do when a tenant moves zone or leaves (see `onTenantLifecycle`). */
export interface TenantLifecycleHooks {
  /** Drops everything cached for the tenant: after a zone change and an off-boarding. */
  flushTenant?(tenantId: string): Promise<unknown> | unknown;
  /** Cancels the tenant's running jobs in this process; returns how many. */
  cancelJobs?(tenantId: string): Promise<number> | number;
}

/** What {@link Catalog.offboardTenant} did. */
export interface OffboardResult {
  jobsCancelled: number;
  keysShredded: number;
  connectionsDeleted: number;
}

/** The tables one connector declares, as {@link Catalog.syncCatalogTables} takes them. */
export interface ConnectorTables {
  connector: string;
  tables: { name: string; description: string; columns: CatalogColumn[] }[];
}

/** What {@link Catalog.syncCatalogTables} did. */
export interface SyncResult {
  created: string[];
  /** Tables whose columns changed: their version was bumped. */
  bumped: string[];
  unchanged: string[];
  /**
   * Columns a new declaration removes or retypes. Unless `allowBreaking`, the tables they belong
   * to were left as they were (listed here, not in `bumped`).
   */
  breaking: BreakingChange[];
}

/** A change of a table's declaration that can break a user's query. */
export interface BreakingChange {
  /** `connector.table`. */
  table: string;
  column: string;
  /** `removed`, or `retyped integer → text`. */
  change: string;
}

/** Options of {@link Catalog.syncCatalogTables}. */
export interface SyncOptions {
  /** Apply removals and retypings too (bumping the version). @default false */
  allowBreaking?: boolean;
}

/** An audit chain in a zone's own store (see {@link Catalog.zoneAudit}). */
export interface ZoneAuditLog {
  append(record: AuditRecord): Promise<AuditRow>;
  verify(tenantId: string): Promise<AuditVerification>;
  tail(tenantId: string, n: number): Promise<AuditRow[]>;
}

/** Options of {@link Catalog}. */
export interface CatalogOptions {
  /**
   * How long query-path reads (tenant, user, connections, policy) are remembered; writes through
   * this instance clear them at once. @default 1000
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
 * await catalog.createTenant({ id: "acme", name: "Acme", zone: "us" });
 * assert.ok((await catalog.getTenant("acme"))?.zone === "us");
 * await close();
 * ```
 */
export class Catalog {
  /** The Drizzle database. */
  readonly db: CatalogDatabase;
  readonly #hooks = new Set<TenantLifecycleHooks>();
  /** The tenants' key ring (rotate and shred through it). */
  readonly keyRing: KeyRing;

  readonly #reads: ReadCache;
  readonly #audit: AuditWriter;
  readonly #auditKey: string | undefined;

  constructor(db: CatalogDatabase, keyRing: KeyRing, options: CatalogOptions = {}) {
    this.db = db;
    this.keyRing = keyRing;
    this.#reads = new ReadCache(options.readCacheTtlMs ?? 1000);
    this.#auditKey = options.auditKey;
    this.#audit = new AuditWriter(db, { auditKey: options.auditKey });
  }

  /** Runs a write; this instance's remembered reads are dropped once it is done. */
  async #write<T>(fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } finally {
      this.#reads.clear();
    }
  }

  async #updateTenant(
    id: string,
    values: Partial<typeof tenants.$inferInsert>,
  ): Promise<TenantRow> {
    const [row] = await this.db.update(tenants).set(values).where(eq(tenants.id, id)).returning();
    if (!row) throw new OmniError("NOT_FOUND", `no tenant ${id}`);
    return row;
  }

  /** Drops remembered reads (after a write this instance did not make). */
  forgetReads(): void {
    this.#reads.clear();
  }

  // --- tenants ---

  /** The tenant, or `undefined`. */
  getTenant(id: string): Promise<TenantRow | undefined> {
    return this.#reads.get(`tenant:${id}`, () => this.#readTenant(id));
  }

  async #readTenant(id: string): Promise<TenantRow | undefined> {
    const [row] = await this.db.select().from(tenants).where(eq(tenants.id, id));
    return row;
  }

  /** All tenants, by id. */
  listTenants(): Promise<TenantRow[]> {
    return this.db.select().from(tenants).orderBy(asc(tenants.id));
  }

  /** Creates a tenant; `INVALID_REQUEST` when the id is taken. */
  async createTenant(input: NewTenant): Promise<TenantRow> {
    return await this.#write(async () => {
      const [row] = await this.db
        .insert(tenants)
        .values({
          id: input.id,
          name: input.name,
          zone: input.zone,
          directOnly: input.directOnly ?? false,
          settings: input.settings ?? {},
        })
        .onConflictDoNothing()
        .returning();
      if (!row) throw new OmniError("INVALID_REQUEST", `tenant ${input.id} already exists`);
      return row;
    });
  }

  /** Moves a tenant to another residency zone; `NOT_FOUND` when it does not exist. */
  async setTenantZone(id: string, zone: string): Promise<TenantRow> {
    return await this.#write(async () => {
      const row = await this.#updateTenant(id, { zone });
      // Data cached in the old zone must not outlive the move.
      for (const hooks of this.#hooks) await hooks.flushTenant?.(id);
      return row;
    });
  }

  /**
   * Rotates the tenant's data key: a new version becomes current, and the connections'
   * credentials are re-encrypted with it. Older versions stay until shredded, so tokens made
   * with them (by this or another process, e.g. cache entries) keep decrypting: no downtime.
   */
  async rotateTenantKey(tenantId: string): Promise<{ version: number; reencrypted: number }> {
    return await this.#write(async () => {
      const version = await this.keyRing.rotate(tenantId);
      const rows = await this.db.select().from(connections).where(
        eq(connections.tenantId, tenantId),
      );
      for (const row of rows) {
        const plain = await this.keyRing.decrypt(tenantId, row.credentialsEnc);
        const credentialsEnc = await this.keyRing.encrypt(tenantId, plain);
        await this.db.update(connections).set({ credentialsEnc })
          .where(
            and(eq(connections.id, row.id), eq(connections.credentialsEnc, row.credentialsEnc)),
          );
      }
      return { version, reencrypted: rows.length };
    });
  }

  /**
   * Registers what other modules do when a tenant moves zone or is off-boarded (flush its caches,
   * cancel its jobs). Returns a function that unregisters them.
   */
  onTenantLifecycle(hooks: TenantLifecycleHooks): () => void {
    this.#hooks.add(hooks);
    return () => this.#hooks.delete(hooks);
  }

  /** Replaces a tenant's settings (budgets, TTL, default staleness, limits). */
  async setTenantSettings(id: string, settings: TenantSettings): Promise<TenantRow> {
    return await this.#write(() => this.#updateTenant(id, { settings }));
  }

  /**
   * Marks a tenant direct-only (its policy forbids traffic through the global edge) or not.
   */
  async setTenantDirectOnly(id: string, directOnly: boolean): Promise<TenantRow> {
    return await this.#write(() => this.#updateTenant(id, { directOnly }));
  }

  /**
   * Off-boards a tenant: cancels its jobs, shreds its keys (everything encrypted for it — caches,
   * stored results, credentials — becomes unreadable), deletes it with its users, connections
   * and policies, and flushes its caches. The audit log is kept (and the caller audits this).
   */
  async offboardTenant(id: string): Promise<OffboardResult> {
    return await this.#write(async () => {
      let jobsCancelled = 0;
      for (const hooks of this.#hooks) jobsCancelled += (await hooks.cancelJobs?.(id)) ?? 0;
      // Jobs no process has claimed yet, or whose worker is elsewhere: cancelled in the catalog.
      const cancelled = await this.db.update(jobs)
        .set({ status: "cancelled", finishedAt: new Date() })
        .where(and(eq(jobs.tenantId, id), inArray(jobs.status, ["queued", "running"])))
        .returning({ id: jobs.id });
      jobsCancelled += cancelled.length;
      const keysShredded = await this.keyRing.shred(id);
      const removedConnections = await this.db.delete(connections)
        .where(eq(connections.tenantId, id)).returning({ id: connections.id });
      await this.db.delete(tenants).where(eq(tenants.id, id));
      for (const hooks of this.#hooks) await hooks.flushTenant?.(id);
      return { jobsCancelled, keysShredded, connectionsDeleted: removedConnections.length };
    });
  }

  // --- users ---

  /** The user, or `undefined`. */
  getUser(tenantId: string, email: string): Promise<UserRow | undefined> {
    return this.#reads.get(`user:${tenantId}:${email}`, () => this.#readUser(tenantId, email));
  }

  async #readUser(tenantId: string, email: string): Promise<UserRow | undefined> {
    const [row] = await this.db.select().from(users)
      .where(and(eq(users.tenantId, tenantId), eq(users.email, email)));
    return row;
  }

  /** Creates or replaces a user. */
  async upsertUser(input: UserInput): Promise<UserRow> {
    return await this.#write(async () => {
      const values = {
        tenantId: input.tenantId,
        email: input.email,
        role: input.role,
        teamId: input.teamId ?? null,
        attributes: input.attributes ?? {},
      };
      const [row] = await this.db
        .insert(users)
        .values(values)
        .onConflictDoUpdate({
          target: [users.tenantId, users.email],
          set: { role: values.role, teamId: values.teamId, attributes: values.attributes },
        })
        .returning();
      return row;
    });
  }

  /** The tenant's users, by email. */
  listUsers(tenantId: string): Promise<UserRow[]> {
    return this.db.select().from(users).where(eq(users.tenantId, tenantId))
      .orderBy(asc(users.email));
  }

  // --- connections ---

  /** Adds a connection; `INVALID_REQUEST` when the tenant already has one of that name. */
  async addConnection(input: ConnectionInput): Promise<PublicConnection> {
    return await this.#write(async () => {
      const credentialsEnc = await this.#encryptCredentials(input.tenantId, input.credentials);
      const [row] = await this.db
        .insert(connections)
        .values({
          id: input.id ?? crypto.randomUUID(),
          tenantId: input.tenantId,
          connector: input.connector,
          name: input.name,
          baseUrl: input.baseUrl,
          credentialsEnc,
          config: input.config ?? {},
        })
        .onConflictDoNothing()
        .returning();
      if (!row) {
        throw new OmniError(
          "INVALID_REQUEST",
          `tenant ${input.tenantId} already has a connection named ${input.name}`,
        );
      }
      return toPublic(row);
    });
  }

  /**
   * Adds the connection, or replaces the connector, URL, credentials and config of the tenant's
   * connection of that name (keeping its id).
   */
  async putConnection(input: ConnectionInput): Promise<PublicConnection> {
    return await this.#write(async () => {
      const credentialsEnc = await this.#encryptCredentials(input.tenantId, input.credentials);
      const [row] = await this.db
        .insert(connections)
        .values({
          id: input.id ?? crypto.randomUUID(),
          tenantId: input.tenantId,
          connector: input.connector,
          name: input.name,
          baseUrl: input.baseUrl,
          credentialsEnc,
          config: input.config ?? {},
        })
        .onConflictDoUpdate({
          target: [connections.tenantId, connections.name],
          set: {
            connector: input.connector,
            baseUrl: input.baseUrl,
            credentialsEnc,
            config: input.config ?? {},
          },
        })
        .returning();
      return toPublic(row);
    });
  }

  /** Replaces a connection's credentials; `NOT_FOUND` when there is no such connection. */
  async setConnectionCredentials(
    tenantId: string,
    name: string,
    credentials: Record<string, string>,
  ): Promise<void> {
    return await this.#write(async () => {
      const credentialsEnc = await this.#encryptCredentials(tenantId, credentials);
      const updated = await this.db.update(connections).set({ credentialsEnc })
        .where(and(eq(connections.tenantId, tenantId), eq(connections.name, name)))
        .returning({ id: connections.id });
      if (updated.length === 0) {
        throw new OmniError("NOT_FOUND", `tenant ${tenantId} has no connection named ${name}`);
      }
    });
  }

  /**
   * Changes a connection's base URL and/or config (credentials stay); `NOT_FOUND` when there is
   * no such connection.
   */
  async updateConnection(
    tenantId: string,
    name: string,
    change: { baseUrl?: string; config?: Record<string, unknown> },
  ): Promise<PublicConnection> {
    return await this.#write(async () => {
      const set: Partial<typeof connections.$inferInsert> = {};
      if (change.baseUrl !== undefined) set.baseUrl = change.baseUrl;
      if (change.config !== undefined) set.config = change.config;
      const where = and(eq(connections.tenantId, tenantId), eq(connections.name, name));
      const [row] = Object.keys(set).length
        ? await this.db.update(connections).set(set).where(where).returning()
        : await this.db.select().from(connections).where(where);
      if (!row) {
        throw new OmniError("NOT_FOUND", `tenant ${tenantId} has no connection named ${name}`);
      }
      return toPublic(row);
    });
  }

  /** Removes a connection; `NOT_FOUND` when there is no such connection. */
  async removeConnection(tenantId: string, name: string): Promise<void> {
    return await this.#write(async () => {
      const removed = await this.db.delete(connections)
        .where(and(eq(connections.tenantId, tenantId), eq(connections.name, name)))
        .returning({ id: connections.id });
      if (removed.length === 0) {
        throw new OmniError("NOT_FOUND", `tenant ${tenantId} has no connection named ${name}`);
      }
    });
  }

  /**
   * The tenant's connections with their credentials decrypted, by name. `SOURCE_ERROR` when the
   * credentials cannot be decrypted (the tenant's keys were shredded).
   */
  listConnections(tenantId: string): Promise<Connection[]> {
    return this.#reads.get(`connections:${tenantId}`, () => this.#readConnections(tenantId));
  }

  async #readConnections(tenantId: string): Promise<Connection[]> {
    const rows = await this.db.select().from(connections)
      .where(eq(connections.tenantId, tenantId)).orderBy(asc(connections.name));
    return await Promise.all(rows.map((row) => this.#withCredentials(row)));
  }

  /** The tenant's connection of that name with credentials decrypted, or `undefined`. */
  async getConnection(tenantId: string, name: string): Promise<Connection | undefined> {
    const [row] = await this.db.select().from(connections)
      .where(and(eq(connections.tenantId, tenantId), eq(connections.name, name)));
    return row ? await this.#withCredentials(row) : undefined;
  }

  /** The tenant's connections without credentials, by name. */
  async listConnectionsPublic(tenantId: string): Promise<PublicConnection[]> {
    const rows = await this.db.select().from(connections)
      .where(eq(connections.tenantId, tenantId)).orderBy(asc(connections.name));
    return rows.map(toPublic);
  }

  // --- connector tables ---

  /**
   * Upserts the connectors' table declarations. A table's version is bumped when its columns
   * change (names, types, descriptions or order); a new description alone does not bump it. A
   * declaration that removes or retypes a column is detected and reported in `breaking`, and not
   * applied unless `options.allowBreaking`.
   */
  async syncCatalogTables(
    defs: ConnectorTables[],
    options: SyncOptions = {},
  ): Promise<SyncResult> {
    const result: SyncResult = { created: [], bumped: [], unchanged: [], breaking: [] };
    await this.db.transaction(async (tx) => {
      const existing = new Map(
        (await tx.select().from(catalogTables)).map((r) => [`${r.connector}.${r.tableName}`, r]),
      );
      for (const def of defs) {
        for (const table of def.tables) {
          const key = `${def.connector}.${table.name}`;
          const columns = table.columns.map((c) => ({
            name: c.name,
            type: c.type,
            description: c.description,
          }));
          const before = existing.get(key);
          if (!before) {
            await tx.insert(catalogTables).values({
              connector: def.connector,
              tableName: table.name,
              version: 1,
              description: table.description,
              columns,
            });
            result.created.push(key);
            continue;
          }
          const changed = canonicalJson(before.columns) !== canonicalJson(columns);
          if (!changed && before.description === table.description) {
            result.unchanged.push(key);
            continue;
          }
          const breaking = breakingChanges(key, before.columns, columns);
          if (breaking.length) {
            result.breaking.push(...breaking);
            if (!options.allowBreaking) continue;
          }
          await tx.update(catalogTables)
            .set({
              description: table.description,
              columns,
              version: changed ? sql`${catalogTables.version} + 1` : before.version,
              updatedAt: new Date(),
            })
            .where(and(
              eq(catalogTables.connector, def.connector),
              eq(catalogTables.tableName, table.name),
            ));
          (changed ? result.bumped : result.unchanged).push(key);
        }
      }
    });
    return result;
  }

  /** Every connector table, by connector and name. */
  listCatalogTables(): Promise<CatalogTableRow[]> {
    return this.db.select().from(catalogTables)
      .orderBy(asc(catalogTables.connector), asc(catalogTables.tableName));
  }

  // --- policies ---

  /** Stores a new version of the tenant's policy source; it is in force at once. */
  async putPolicy(tenantId: string, source: string, by: string): Promise<PolicyRow> {
    return await this.#write(async () => {
      for (let attempt = 0;; attempt++) {
        const [row] = await this.db
          .insert(policies)
          .values({
            tenantId,
            version: sql`(select coalesce(max(${policies.version}), 0) + 1 from ${policies}
              where ${policies.tenantId} = ${tenantId})`,
            source,
            createdBy: by,
          })
          .onConflictDoNothing()
          .returning();
        if (row) return row;
        if (attempt >= 10) {
          throw new OmniError("INTERNAL", `could not store a policy version for ${tenantId}`);
        }
      }
    });
  }

  /** The tenant's policy in force (its latest version), or `undefined`. */
  getPolicy(tenantId: string): Promise<PolicyRow | undefined> {
    return this.#reads.get(`policy:${tenantId}`, () => this.#readPolicy(tenantId));
  }

  async #readPolicy(tenantId: string): Promise<PolicyRow | undefined> {
    const [row] = await this.db.select().from(policies).where(eq(policies.tenantId, tenantId))
      .orderBy(desc(policies.version)).limit(1);
    return row;
  }

  // --- audit ---

  /** Appends to the tenant's hash-chained audit log (safe under concurrent appends). */
  appendAudit(record: AuditRecord): Promise<AuditRow> {
    return this.#audit.append(record);
  }

  /** Checks the tenant's audit chain from the start (with this catalog's audit key). */
  verifyAudit(tenantId: string): Promise<AuditVerification> {
    return verifyAudit(this.db, tenantId, { auditKey: this.#auditKey });
  }

  /**
   * The audit chain kept in a zone's own store (`ZONE_<NAME>_DATABASE_URL`), where the SQL text
   * of the zone's queries lives; hashed like this catalog's chain, with the same audit key.
   */
  zoneAudit(db: CatalogDatabase): ZoneAuditLog {
    const auditKey = this.#auditKey;
    const writer = new AuditWriter(db, { auditKey });
    return {
      append: (record) => writer.append(record),
      verify: (tenantId) => verifyAudit(db, tenantId, { auditKey }),
      tail: (tenantId, n) => tailAudit(db, tenantId, n),
    };
  }

  /** The tenant's newest `n` audit rows, oldest first. */
  tailAudit(tenantId: string, n: number): Promise<AuditRow[]> {
    return tailAudit(this.db, tenantId, n);
  }

  async #encryptCredentials(
    tenantId: string,
    credentials: Record<string, string>,
  ): Promise<string> {
    return await this.keyRing.encrypt(tenantId, JSON.stringify(credentials));
  }

  async #withCredentials(row: ConnectionRow): Promise<Connection> {
    let credentials: Record<string, string>;
    try {
      credentials = JSON.parse(await this.keyRing.decryptText(row.tenantId, row.credentialsEnc));
    } catch (cause) {
      const why = cause instanceof CryptoError && cause.reason === "KEY_UNAVAILABLE"
        ? "the tenant's key no longer exists"
        : "they do not decrypt";
      throw new OmniError(
        "SOURCE_ERROR",
        `credentials of connection ${row.name} are unusable: ${why}`,
        { cause, details: { connection: row.name } },
      );
    }
    const { createdAt: _createdAt, ...rest } = toPublic(row);
    return { ...rest, credentials };
  }
}

/** Columns of `before` that `after` removes or retypes. */
function breakingChanges(
  table: string,
  before: CatalogColumn[],
  after: CatalogColumn[],
): BreakingChange[] {
  const next = new Map(after.map((c) => [c.name, c]));
  const out: BreakingChange[] = [];
  for (const col of before) {
    const now = next.get(col.name);
    if (!now) out.push({ table, column: col.name, change: "removed" });
    else if (now.type !== col.type) {
      out.push({ table, column: col.name, change: `retyped ${col.type} → ${now.type}` });
    }
  }
  return out;
}

function toPublic(row: ConnectionRow): PublicConnection {
  return {
    id: row.id,
    tenantId: row.tenantId,
    connector: row.connector,
    name: row.name,
    baseUrl: row.baseUrl,
    config: row.config,
    createdAt: row.createdAt,
  };
}
