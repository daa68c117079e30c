/**
 * The catalog's `tenant_keys` table as the key store of a `KeyRing`.
 *
 * @module
 */
import { and, desc, eq, isNull, lt } from "drizzle-orm";
import type { KeyStore, WrappedKey } from "../crypto/mod.ts";
import type { CatalogDatabase } from "./db.ts";
import { tenantKeys } from "./schema.ts";

/** The catalog's memo of hot reads, as `Catalog` offers it. */
export interface CatalogReads {
  /** The remembered value of `key`, else what `load` reads (see `Catalog.remembered`). */
  remembered<T>(key: string, load: () => Promise<T>): Promise<T>;
  /** Forgets every remembered read (after a write). */
  forgetReads(): void;
}

/**
 * A {@link KeyStore} over the catalog database: inserting a version retires the older ones
 * (`retired_at`); {@link KeyStore.deleteAll} deletes the rows (crypto-shredding).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { openCatalog } from "./db.ts";
 * import { CatalogKeyStore } from "./key_store.ts";
 * import { generateMasterKey, KeyRing } from "../crypto/mod.ts";
 * const { db, close } = await openCatalog({});
 * const ring = new KeyRing({ masterKey: generateMasterKey(), store: new CatalogKeyStore(db) });
 * assert.ok((await ring.dataKey("acme")).version === 1);
 * await close();
 * ```
 */
export class CatalogKeyStore implements KeyStore {
  readonly #db: CatalogDatabase;
  readonly #reads?: CatalogReads;

  /**
   * With `reads`, keys are read through the catalog's memo of hot reads: after a quiet second a
   * key is revalidated with the tenant's other rows (one read of the change count, kept current
   * in the background while the server is in use) instead of read again on a query's way to its
   * first cache read. A key ring then holds a key up to two of its TTLs after a shred elsewhere,
   * not one (its own, and the memo's).
   */
  constructor(db: CatalogDatabase, reads?: CatalogReads) {
    this.#db = db;
    this.#reads = reads;
  }

  current(tenantId: string): Promise<WrappedKey | undefined> {
    return this.#read(`tenant-key:${tenantId}`, async () => {
      const [row] = await this.#db
        .select({ version: tenantKeys.version, wrappedKey: tenantKeys.wrappedKey })
        .from(tenantKeys)
        .where(eq(tenantKeys.tenantId, tenantId))
        .orderBy(desc(tenantKeys.version))
        .limit(1);
      return row;
    });
  }

  get(tenantId: string, version: number): Promise<WrappedKey | undefined> {
    return this.#read(`tenant-key:${tenantId}:${version}`, async () => {
      const [row] = await this.#db
        .select({ version: tenantKeys.version, wrappedKey: tenantKeys.wrappedKey })
        .from(tenantKeys)
        .where(and(eq(tenantKeys.tenantId, tenantId), eq(tenantKeys.version, version)));
      return row;
    });
  }

  #read(key: string, load: () => Promise<WrappedKey | undefined>) {
    return this.#reads ? this.#reads.remembered(key, load) : load();
  }

  async insert(tenantId: string, key: WrappedKey): Promise<boolean> {
    try {
      return await this.#insert(tenantId, key);
    } finally {
      this.#reads?.forgetReads();
    }
  }

  async #insert(tenantId: string, key: WrappedKey): Promise<boolean> {
    return await this.#db.transaction(async (tx) => {
      const inserted = await tx
        .insert(tenantKeys)
        .values({ tenantId, version: key.version, wrappedKey: key.wrappedKey })
        .onConflictDoNothing()
        .returning({ version: tenantKeys.version });
      if (inserted.length === 0) return false;
      await tx
        .update(tenantKeys)
        .set({ retiredAt: new Date() })
        .where(
          and(
            eq(tenantKeys.tenantId, tenantId),
            lt(tenantKeys.version, key.version),
            isNull(tenantKeys.retiredAt),
          ),
        );
      return true;
    });
  }

  async deleteAll(tenantId: string): Promise<number> {
    try {
      const deleted = await this.#db
        .delete(tenantKeys)
        .where(eq(tenantKeys.tenantId, tenantId))
        .returning({ version: tenantKeys.version });
      return deleted.length;
    } finally {
      this.#reads?.forgetReads();
    }
  }
}
