/**
 * The key-value store under the caches: plain strings with a time-to-live, deletion by key
 * prefix (a tenant's flush), and leases (single-flight across processes). Values reach it already encrypted ({@link TenantCache}); it never
 * sees source data in the clear.
 *
 * @module
 */

/** A string store with expiry. Implementations: Upstash Redis, and this process's memory. */
export interface KvStore {
  /** The value, or `null` when absent or expired. */
  get(key: string): Promise<string | null>;
  /** Stores a value that expires after `ttlMs`. */
  set(key: string, value: string, ttlMs: number): Promise<void>;
  /**
   * Gives a stored value `ttlMs` more to live from now, unchanged; nothing when it is absent or
   * expired.
   */
  touch(key: string, ttlMs: number): Promise<void>;
  /** Deletes every key that starts with `prefix`; returns how many were deleted. */
  deletePrefix(prefix: string): Promise<number>;
  /**
   * Sets `key` to `owner` for `ttlMs` only if it is absent (a lease shared by every process on
   * the store); true when this call took it.
   */
  claim(key: string, owner: string, ttlMs: number): Promise<boolean>;
  /** Extends a lease `owner` still holds; false when it no longer does. */
  renew(key: string, owner: string, ttlMs: number): Promise<boolean>;
  /** Gives up a lease if `owner` still holds it. */
  release(key: string, owner: string): Promise<void>;
}
