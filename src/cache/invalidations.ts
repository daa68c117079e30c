/**
 * Invalidation watermarks: when an app says a table changed (a signed webhook), the table's
 * watermark in the tenant's zone store moves to now, and every cached thing built from data
 * fetched at or before it — source-cache entries and the result-cache answers that used them —
 * stops being served. Entries already record when their data was fetched, so a watermark needs
 * no index from source entries to result entries, and it works across processes: every reader
 * compares against the zone store. A timestamp rather than an incremented counter, because the
 * cache store offers no atomic increment; two invalidations racing within the same milliseconds
 * may leave the earlier time, which the data fetched in between is then judged against.
 *
 * @module
 */
import type { TenantCache } from "./tenant_cache.ts";

/** How long a watermark is kept: longer than any entry lives (TTLs are at most a day). */
const WATERMARK_TTL_MS = 2 * 86_400_000;

/** One cached piece of a table's data: which table (`schema.table`), fetched when (epoch ms). */
export interface CachedPiece {
  table: string;
  fetchedAt: number;
}

/**
 * Reads and moves the invalidation watermarks of a zone.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { Invalidations, MemoryKvStore, TenantCache } from "./mod.ts";
 * import { generateMasterKey, KeyRing, MemoryKeyStore } from "../crypto/mod.ts";
 * const keyRing = new KeyRing({ masterKey: generateMasterKey(), store: new MemoryKeyStore() });
 * const marks = new Invalidations(new TenantCache({ store: new MemoryKvStore(), keyRing, zone: "us" }));
 * const before = Date.now() - 1;
 * assert.ok(await marks.current("acme", [{ table: "github.pull_requests", fetchedAt: before }]));
 * await marks.invalidate("acme", ["github.pull_requests"]);
 * assert.ok(!await marks.current("acme", [{ table: "github.pull_requests", fetchedAt: before }]));
 * ```
 */
export class Invalidations {
  readonly #cache: TenantCache;

  constructor(cache: TenantCache) {
    this.#cache = cache;
  }

  /** Marks the tables (`schema.table`) changed now; returns the watermark. */
  async invalidate(tenantId: string, tables: readonly string[], now = Date.now()): Promise<number> {
    await Promise.all(
      [...new Set(tables)].map(async (table) => {
        const previous = await this.watermark(tenantId, table);
        await this.#cache.set(tenantId, key(table), Math.max(previous, now), WATERMARK_TTL_MS);
      }),
    );
    return now;
  }

  /** When the table was last marked changed, epoch ms (0: never, or too long ago to matter). */
  async watermark(tenantId: string, table: string): Promise<number> {
    const at = await this.#cache.get<number>(tenantId, key(table));
    return typeof at === "number" ? at : 0;
  }

  /** Whether every piece was fetched after its table's watermark. */
  async current(tenantId: string, pieces: readonly CachedPiece[]): Promise<boolean> {
    const marks = await Promise.all(pieces.map((p) => this.watermark(tenantId, p.table)));
    return pieces.every((p, i) => p.fetchedAt > marks[i]);
  }
}

function key(table: string): string {
  return `w:${table.toLowerCase()}`;
}
