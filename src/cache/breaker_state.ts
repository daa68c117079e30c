/**
 * The zone's open circuit breakers, shared by its instances through the zone's tenant cache (so
 * the state is scoped and encrypted like any other entry of the tenant's).
 *
 * @module
 */
import type { SharedBreakerState } from "../reliability/circuit_breaker.ts";
import type { TenantCache } from "./tenant_cache.ts";

/**
 * A {@link SharedBreakerState} on a zone's tenant cache.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { sharedBreakerState } from "./breaker_state.ts";
 * import { MemoryKvStore } from "./memory_store.ts";
 * import { TenantCache } from "./tenant_cache.ts";
 * import { generateMasterKey, KeyRing, MemoryKeyStore } from "../crypto/mod.ts";
 * const keyRing = new KeyRing({ masterKey: generateMasterKey(), store: new MemoryKeyStore() });
 * const shared = sharedBreakerState(new TenantCache({ store: new MemoryKvStore(), keyRing, zone: "us" }));
 * await shared.publish("acme", "conn-1", 1_000, 60_000);
 * assert.equal(await shared.openUntil("acme", "conn-1"), 1_000);
 * ```
 */
export function sharedBreakerState(cache: TenantCache): SharedBreakerState {
  const key = (connectionId: string) => `b:${connectionId}`;
  return {
    openUntil: (tenantId, connectionId) => cache.get<number>(tenantId, key(connectionId)),
    publish: (tenantId, connectionId, until, ttlMs) =>
      cache.set(tenantId, key(connectionId), until, ttlMs),
  };
}
