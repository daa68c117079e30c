/**
 * Caches that put freshness in the caller's hands (`max_staleness_ms`): the result cache at the
 * edge and the source cache in the worker, both in the tenant's residency zone, encrypted with
 * the tenant's key and never older than the tenant's TTL. Stores: Upstash Redis per zone, or this
 * process's memory (`deno task start` without Redis: one process only).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { MemoryKvStore, TenantCache } from "./mod.ts";
 * import { generateMasterKey, KeyRing, MemoryKeyStore } from "../crypto/mod.ts";
 * const keyRing = new KeyRing({ masterKey: generateMasterKey(), store: new MemoryKeyStore() });
 * const cache = new TenantCache({ store: new MemoryKvStore(), keyRing, zone: "eu" });
 * await cache.set("globex", "k", "v", 1000);
 * assert.ok((await cache.get("globex", "k")) === "v");
 * ```
 *
 * @module
 */
export * from "./kv_store.ts";
export * from "./memory_store.ts";
export * from "./upstash_store.ts";
export * from "./tenant_cache.ts";
export * from "./freshness.ts";
export * from "./result_cache.ts";
export * from "./source_cache.ts";
export * from "./zone_stores.ts";
export * from "./validators.ts";
export * from "./invalidations.ts";
export * from "./claims.ts";
export * from "./breaker_state.ts";
export * from "./notices.ts";
