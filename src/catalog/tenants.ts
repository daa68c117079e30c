/**
 * Tenants in the catalog: their residency zone, settings and direct-only flag, and their
 * lifecycle — a zone move flushes their caches, an off-boarding cancels their jobs and shreds
 * their keys.
 *
 * @module
 */
import { and, asc, eq, inArray } from "drizzle-orm";
import type { KeyRing } from "../crypto/mod.ts";
import { OmniError } from "../errors.ts";
import type { CatalogDatabase } from "./db.ts";
import { connections, jobs, type TenantRow, tenants, type TenantSettings } from "./schema.ts";
import type { ReadCache } from "./_read_cache.ts";

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

/** What other modules do when a tenant moves zone or leaves (see `onLifecycle`). */
export interface TenantLifecycleHooks {
  /** Drops everything cached for the tenant: after a zone change and an off-boarding. */
  flushTenant?(tenantId: string): Promise<unknown> | unknown;
  /** Cancels the tenant's running jobs in this process; returns how many. */
  cancelJobs?(tenantId: string): Promise<number> | number;
}

/** What {@link TenantStore.offboard} did. */
export interface OffboardResult {
  jobsCancelled: number;
  keysShredded: number;
  connectionsDeleted: number;
}

/**
 * The catalog's tenants. Reads go through the catalog's read memo; writes clear it.
 *
 * @example
 * ```ts ignore
 * // Needs an open catalog: `Catalog`'s example in store.ts runs one.
 * const tenants = new TenantStore(db, keyRing, reads);
 * await tenants.create({ id: "acme", name: "Acme", zone: "us" });
 * ```
 */
export class TenantStore {
  readonly #hooks = new Set<TenantLifecycleHooks>();

  constructor(
    private readonly db: CatalogDatabase,
    private readonly keyRing: KeyRing,
    private readonly reads: ReadCache,
  ) {}

  /** The tenant, or `undefined`. */
  get(id: string): Promise<TenantRow | undefined> {
    // Postgres text cannot hold NUL: no such tenant exists (and the query would fail).
    if (id.includes("\0")) return Promise.resolve(undefined);
    return this.reads.get(`tenant:${id}`, async () => {
      const [row] = await this.db.select().from(tenants).where(eq(tenants.id, id));
      return row;
    });
  }

  /** All tenants, by id. */
  list(): Promise<TenantRow[]> {
    return this.db.select().from(tenants).orderBy(asc(tenants.id));
  }

  /** Creates a tenant; `INVALID_REQUEST` when the id is taken. */
  create(input: NewTenant): Promise<TenantRow> {
    return this.reads.write(async () => {
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
  setZone(id: string, zone: string): Promise<TenantRow> {
    return this.reads.write(async () => {
      const row = await this.#update(id, { zone });
      // Data cached in the old zone must not outlive the move.
      for (const hooks of this.#hooks) await hooks.flushTenant?.(id);
      return row;
    });
  }

  /** Replaces a tenant's settings (budgets, TTL, default staleness, limits). */
  setSettings(id: string, settings: TenantSettings): Promise<TenantRow> {
    return this.reads.write(() => this.#update(id, { settings }));
  }

  /** Marks a tenant direct-only (its policy forbids traffic through the global edge) or not. */
  setDirectOnly(id: string, directOnly: boolean): Promise<TenantRow> {
    return this.reads.write(() => this.#update(id, { directOnly }));
  }

  /**
   * Registers what other modules do when a tenant moves zone or is off-boarded (flush its caches,
   * cancel its jobs). Returns a function that unregisters them.
   */
  onLifecycle(hooks: TenantLifecycleHooks): () => void {
    this.#hooks.add(hooks);
    return () => this.#hooks.delete(hooks);
  }

  /**
   * Off-boards a tenant: cancels and deletes its jobs, shreds its keys (everything encrypted for it — caches,
   * stored results, credentials — becomes unreadable), deletes it with its users, connections
   * and policies, and flushes its caches. The audit log is kept (and the caller audits this).
   */
  offboard(id: string): Promise<OffboardResult> {
    return this.reads.write(async () => {
      let jobsCancelled = 0;
      for (const hooks of this.#hooks) jobsCancelled += (await hooks.cancelJobs?.(id)) ?? 0;
      // Jobs no process has claimed yet, or whose worker is elsewhere: cancelled in the catalog.
      const cancelled = await this.db.update(jobs)
        .set({ status: "cancelled", finishedAt: new Date() })
        .where(and(eq(jobs.tenantId, id), inArray(jobs.status, ["queued", "running"])))
        .returning({ id: jobs.id });
      jobsCancelled += cancelled.length;
      const keysShredded = await this.keyRing.shred(id);
      // Nothing of the tenant's jobs stays for a tenant created later under the same id to find.
      await this.db.delete(jobs).where(eq(jobs.tenantId, id));
      const removedConnections = await this.db.delete(connections)
        .where(eq(connections.tenantId, id)).returning({ id: connections.id });
      await this.db.delete(tenants).where(eq(tenants.id, id));
      for (const hooks of this.#hooks) await hooks.flushTenant?.(id);
      return { jobsCancelled, keysShredded, connectionsDeleted: removedConnections.length };
    });
  }

  async #update(id: string, values: Partial<typeof tenants.$inferInsert>): Promise<TenantRow> {
    const [row] = await this.db.update(tenants).set(values).where(eq(tenants.id, id)).returning();
    if (!row) throw new OmniError("NOT_FOUND", `no tenant ${id}`);
    return row;
  }
}
