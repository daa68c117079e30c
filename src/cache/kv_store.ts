/**
 * The key-value store under the caches: plain strings with a time-to-live, and deletion by key
 * prefix (a tenant's flush). Values reach it already encrypted ({@link TenantCache}); it never
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
  /** Deletes every key that starts with `prefix`; returns how many were deleted. */
  deletePrefix(prefix: string): Promise<number>;
}
