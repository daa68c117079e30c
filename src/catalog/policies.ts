/**
 * Policies in the catalog: each tenant's `policy.yaml`, versioned; the latest version is in force.
 *
 * @module
 */
import { desc, eq, sql } from "drizzle-orm";
import { OmniError } from "../errors.ts";
import type { CatalogDatabase } from "./db.ts";
import { policies, type PolicyRow } from "./schema.ts";
import type { ReadCache } from "./_read_cache.ts";

/**
 * The catalog's policies. Reads go through the catalog's read memo; writes clear it.
 *
 * @example
 * ```ts ignore
 * // Needs an open catalog: `Catalog`'s example in store.ts runs one.
 * await new PolicyStore(db, reads).put("acme", "version: 1\nrules: []\n", "admin@acme.com");
 * ```
 */
export class PolicyStore {
  constructor(
    private readonly db: CatalogDatabase,
    private readonly reads: ReadCache,
  ) {}

  /** Stores a new version of the tenant's policy source; it is in force at once. */
  put(tenantId: string, source: string, by: string): Promise<PolicyRow> {
    return this.reads.write(async () => {
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
  get(tenantId: string): Promise<PolicyRow | undefined> {
    return this.reads.get(`policy:${tenantId}`, async () => {
      const [row] = await this.db.select().from(policies).where(eq(policies.tenantId, tenantId))
        .orderBy(desc(policies.version)).limit(1);
      return row;
    });
  }
}
