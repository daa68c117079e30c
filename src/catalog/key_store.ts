/**
 * The catalog's `tenant_keys` table as the key store of a `KeyRing`.
 *
 * @module
 */
import { and, desc, eq, isNull, lt } from "drizzle-orm";
import type { KeyStore, WrappedKey } from "../crypto/mod.ts";
import type { CatalogDatabase } from "./db.ts";
import { tenantKeys } from "./schema.ts";

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

  constructor(db: CatalogDatabase) {
    this.#db = db;
  }

  async current(tenantId: string): Promise<WrappedKey | undefined> {
    const [row] = await this.#db
      .select({ version: tenantKeys.version, wrappedKey: tenantKeys.wrappedKey })
      .from(tenantKeys)
      .where(eq(tenantKeys.tenantId, tenantId))
      .orderBy(desc(tenantKeys.version))
      .limit(1);
    return row;
  }

  async get(tenantId: string, version: number): Promise<WrappedKey | undefined> {
    const [row] = await this.#db
      .select({ version: tenantKeys.version, wrappedKey: tenantKeys.wrappedKey })
      .from(tenantKeys)
      .where(and(eq(tenantKeys.tenantId, tenantId), eq(tenantKeys.version, version)));
    return row;
  }

  async insert(tenantId: string, key: WrappedKey): Promise<boolean> {
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
    const deleted = await this.#db
      .delete(tenantKeys)
      .where(eq(tenantKeys.tenantId, tenantId))
      .returning({ version: tenantKeys.version });
    return deleted.length;
  }
}
