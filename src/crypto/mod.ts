/**
 * Tenant keys and envelope encryption. A master key (from config; a KMS in production) wraps one
 * AES-256 data key per tenant and version, stored through a {@link KeyStore} (the catalog's
 * `tenant_keys` table). Everything OmniSQL keeps that holds source data or credentials is
 * encrypted with the tenant's current key; deleting the tenant's keys ({@link KeyRing.shred})
 * makes all of it unreadable: crypto-shredding.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { generateMasterKey, KeyRing, MemoryKeyStore } from "./mod.ts";
 * const ring = new KeyRing({ masterKey: generateMasterKey(), store: new MemoryKeyStore() });
 * const token = await ring.encrypt("acme", "hello");
 * assert.ok(await ring.decryptText("acme", token) === "hello");
 * ```
 *
 * @module
 */
export { CryptoError, type CryptoErrorReason } from "./crypto_error.ts";
export { type DataKey, generateMasterKey, KeyRing, type KeyRingOptions } from "./key_ring.ts";
export { type KeyStore, MemoryKeyStore, type WrappedKey } from "./key_store.ts";
export { sha256Hex } from "./sha256.ts";
