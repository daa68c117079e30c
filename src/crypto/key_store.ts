/**
 * Where a {@link KeyRing} keeps wrapped data keys: a tiny interface, implemented over the catalog
 * database (`src/catalog/key_store.ts`) and in memory ({@link MemoryKeyStore}).
 *
 * @module
 */

/** A tenant data key as stored: wrapped by the master key. */
export interface WrappedKey {
  version: number;
  /** The data key wrapped with AES-KW under the master key, base64. */
  wrappedKey: string;
}

/** Storage of wrapped tenant keys. */
export interface KeyStore {
  /** The tenant's highest key version, or `undefined` when it has none. */
  current(tenantId: string): Promise<WrappedKey | undefined>;
  /** One version of the tenant's key, or `undefined` when it does not exist (any more). */
  get(tenantId: string, version: number): Promise<WrappedKey | undefined>;
  /**
   * Stores a new version and marks the older ones retired; returns `false`, storing nothing, when
   * that version already exists (another process created it first).
   */
  insert(tenantId: string, key: WrappedKey): Promise<boolean>;
  /** Deletes every version of the tenant's key; returns how many were deleted. */
  deleteAll(tenantId: string): Promise<number>;
}

/**
 * A {@link KeyStore} in process memory: for tests and single-process tools.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { MemoryKeyStore } from "./key_store.ts";
 * const store = new MemoryKeyStore();
 * await store.insert("acme", { version: 1, wrappedKey: "AAAA" });
 * assert.ok((await store.current("acme"))?.version === 1);
 * ```
 */
export class MemoryKeyStore implements KeyStore {
  readonly #keys = new Map<string, Map<number, WrappedKey>>();

  current(tenantId: string): Promise<WrappedKey | undefined> {
    const versions = [...(this.#keys.get(tenantId)?.values() ?? [])];
    versions.sort((a, b) => b.version - a.version);
    return Promise.resolve(versions[0]);
  }

  get(tenantId: string, version: number): Promise<WrappedKey | undefined> {
    return Promise.resolve(this.#keys.get(tenantId)?.get(version));
  }

  insert(tenantId: string, key: WrappedKey): Promise<boolean> {
    let versions = this.#keys.get(tenantId);
    if (!versions) this.#keys.set(tenantId, versions = new Map());
    if (versions.has(key.version)) return Promise.resolve(false);
    versions.set(key.version, { ...key });
    return Promise.resolve(true);
  }

  deleteAll(tenantId: string): Promise<number> {
    const n = this.#keys.get(tenantId)?.size ?? 0;
    this.#keys.delete(tenantId);
    return Promise.resolve(n);
  }
}
