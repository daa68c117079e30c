/**
 * The stores of a deployment's zones, as the servers build them: each zone's caches on its own
 * Upstash database when one is configured (`UPSTASH_REDIS_REST_URL_<ZONE>`/`_TOKEN_<ZONE>`),
 * otherwise in this process's memory — which serves a single process only (`deno task start`).
 *
 * @module
 */
import type { KeyRing } from "../crypto/key_ring.ts";
import { MemoryRateLimiter, type RateLimiter, UpstashRateLimiter } from "../ratelimit/mod.ts";
import { type ClaimStore, MemoryClaimStore, UpstashClaimStore } from "./claims.ts";
import { MemoryKvStore } from "./memory_store.ts";
import { type NoticeBus, openNotices } from "./notices.ts";
import { ResultCache } from "./result_cache.ts";
import { TenantCache } from "./tenant_cache.ts";
import { upstashClient, type UpstashCredentials, UpstashKvStore } from "./upstash_store.ts";

/** Options of {@link openZoneStores}. */
export interface ZoneStoresOptions {
  zones: string[];
  /** Upstash database per zone; a zone without one uses memory. */
  upstash: Record<string, UpstashCredentials>;
  /** The tenants' keys (`catalog.keyRing`). */
  keyRing: KeyRing;
  /** First segment of every key (tests use a unique one). @default "omnisql" */
  prefix?: string;
  /**
   * Where the deployment's request budgets live, shared by every edge and zone endpoint.
   * @default the first zone's database that is configured
   */
  budgetStore?: UpstashCredentials;
  /**
   * Where the deployment's instances tell each other of key and tenant changes: one store for
   * every edge and zone instance (each role must be given the same one).
   * @default notices within this process only
   */
  noticeStore?: UpstashCredentials;
}

/** A deployment's zone stores. */
export interface ZoneStores {
  /** Each zone's tenant cache (source cache entries live here). */
  caches: Record<string, TenantCache>;
  /** Each zone's result cache. */
  results: Record<string, ResultCache>;
  /** Each zone's set-once markers (webhook deliveries seen). */
  claims: Record<string, ClaimStore>;
  /**
   * A zone's source budgets on the zone's database; without a zone, the deployment's request
   * budgets (user, tenant, global: one count for every edge and zone endpoint) on the budget
   * store, else on the first zone that has a database (they hold no tenant data); a fresh
   * in-process one where none is configured.
   */
  limiter(zone?: string): RateLimiter;
  /** Notices between the deployment's instances ({@link NoticeBus}); not listened to yet. */
  notices: NoticeBus;
}

/**
 * Opens the stores of every zone.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { openZoneStores } from "./zone_stores.ts";
 * import { generateMasterKey, KeyRing, MemoryKeyStore } from "../crypto/mod.ts";
 * const keyRing = new KeyRing({ masterKey: generateMasterKey(), store: new MemoryKeyStore() });
 * const stores = openZoneStores({ zones: ["us", "eu"], upstash: {}, keyRing });
 * assert.ok(stores.caches.eu.zone === "eu");
 * ```
 */
export function openZoneStores(options: ZoneStoresOptions): ZoneStores {
  const prefix = options.prefix ?? "omnisql";
  const caches: Record<string, TenantCache> = {};
  const results: Record<string, ResultCache> = {};
  const claims: Record<string, ClaimStore> = {};
  for (const zone of options.zones) {
    const upstash = options.upstash[zone];
    const store = upstash ? new UpstashKvStore(upstash) : new MemoryKvStore();
    claims[zone] = upstash
      ? new UpstashClaimStore(upstashClient(upstash), `${prefix}:claim:${zone}`)
      : new MemoryClaimStore();
    caches[zone] = new TenantCache({ store, keyRing: options.keyRing, zone, prefix });
    results[zone] = new ResultCache(caches[zone]);
  }
  // One limiter per zone (and one for the edge), however often asked for.
  const limiters = new Map<string, RateLimiter>();
  return {
    caches,
    results,
    claims,
    notices: openNotices(options.noticeStore, prefix),
    limiter(zone) {
      const key = zone ?? "edge";
      let limiter = limiters.get(key);
      if (limiter) return limiter;
      const name = zone ?? options.zones.find((z) => options.upstash[z]);
      const upstash = zone === undefined && options.budgetStore
        ? options.budgetStore
        : name
        ? options.upstash[name]
        : undefined;
      limiter = upstash
        ? new UpstashRateLimiter({
          redis: upstashClient(upstash),
          prefix: `${prefix}:rl:${key}`,
          // Request budgets hold over any window; source budgets count charges after the fact.
          window: zone === undefined ? "rolling" : "fixed",
        })
        : new MemoryRateLimiter();
      limiters.set(key, limiter);
      return limiter;
    },
  };
}
