/**
 * A short-lived memo of catalog reads on the query path (tenant, user, connections, policy), so
 * a query does not pay a database round trip for each middleware that asks. Any write through
 * the same `Catalog` clears it at once; another process's writes are seen within the TTL.
 *
 * @module
 */

/** Memoises async reads by key for `ttlMs`. */
export class ReadCache {
  readonly #ttlMs: number;
  readonly #entries = new Map<string, { at: number; value: Promise<unknown> }>();

  constructor(ttlMs: number) {
    this.#ttlMs = ttlMs;
  }

  /** The cached value of `key`, or the value `load` gives (shared by concurrent callers). */
  get<T>(key: string, load: () => Promise<T>): Promise<T> {
    if (this.#ttlMs <= 0) return load();
    const now = Date.now();
    const hit = this.#entries.get(key);
    if (hit && now - hit.at < this.#ttlMs) return hit.value as Promise<T>;
    const value = load();
    this.#entries.set(key, { at: now, value });
    // A failed read is not remembered.
    value.catch(() => {
      if (this.#entries.get(key)?.value === value) this.#entries.delete(key);
    });
    if (this.#entries.size > 10_000) this.#entries.clear();
    return value;
  }

  /** Runs a write; everything remembered is forgotten once it is done (or failed). */
  async write<T>(fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } finally {
      this.clear();
    }
  }

  /** Forgets everything. */
  clear(): void {
    this.#entries.clear();
  }
}
