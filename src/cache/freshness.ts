/**
 * A tenant's freshness settings: how long cached data may live (`ttlMs`, at most 15 minutes by
 * default) and the `max_staleness_ms` a query gets when it does not say. Read from the tenant's
 * `settings` in the catalog.
 *
 * @module
 */
import type { TenantSettings } from "../catalog/schema.ts";

/** Nothing cached lives longer than this unless the tenant says otherwise. */
export const DEFAULT_TTL_MS = 15 * 60_000;

/** `max_staleness_ms` of a query that sets none, unless the tenant says otherwise. */
export const DEFAULT_MAX_STALENESS_MS = 30_000;

/** What the caches need to know about a tenant. */
export interface Freshness {
  /** Longest life of any cached entry, ms. */
  ttlMs: number;
  /** Default `max_staleness_ms`, ms (never more than `ttlMs`). */
  maxStalenessMs: number;
}

/** Reads a tenant's settings (memoised briefly by {@link tenantSettingsLookup}). */
export type TenantSettingsLookup = (tenantId: string) => Promise<TenantSettings | undefined>;

/**
 * The freshness of a tenant, from its settings with the defaults filled in.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { freshnessOf } from "./freshness.ts";
 * assert.ok(freshnessOf({ ttlMs: 60_000 }).ttlMs === 60_000);
 * assert.ok(freshnessOf(undefined).ttlMs === 15 * 60_000);
 * ```
 */
export function freshnessOf(settings: TenantSettings | undefined): Freshness {
  const positive = (v: unknown) => typeof v === "number" && Number.isFinite(v) && v >= 0;
  const ttlMs = positive(settings?.ttlMs) ? settings!.ttlMs! : DEFAULT_TTL_MS;
  const stale = positive(settings?.maxStalenessMs)
    ? settings!.maxStalenessMs!
    : DEFAULT_MAX_STALENESS_MS;
  return { ttlMs, maxStalenessMs: Math.min(stale, ttlMs) };
}

/**
 * A settings lookup over the catalog, memoised for `memoMs` so a query does not pay a catalog
 * read per cache and budget decision.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { tenantSettingsLookup } from "./freshness.ts";
 * const lookup = tenantSettingsLookup({ getTenant: () => Promise.resolve({ settings: { ttlMs: 5 } }) });
 * assert.ok((await lookup("acme"))?.ttlMs === 5);
 * ```
 */
export function tenantSettingsLookup(
  catalog: { getTenant(id: string): Promise<{ settings: TenantSettings } | undefined> },
  memoMs = 2_000,
): TenantSettingsLookup {
  const memo = new Map<string, { at: number; value: Promise<TenantSettings | undefined> }>();
  return (tenantId) => {
    const now = Date.now();
    const hit = memo.get(tenantId);
    if (hit && now - hit.at < memoMs) return hit.value;
    const value = catalog.getTenant(tenantId).then((t) => t?.settings);
    value.catch(() => memo.delete(tenantId));
    memo.set(tenantId, { at: now, value });
    if (memo.size > 10_000) memo.clear();
    return value;
  };
}
