/**
 * A short-lived memo of catalog reads on the query path (tenant, user, connections, policy), so
 * a query does not pay a database round trip for each middleware that asks. Any write through
 * the same `Catalog` clears it at once; another process's writes are seen within the TTL.
 *
 * @module
 */

/**
 * Memoises async reads by key for `ttlMs`. A value past half its life is still answered while a
 * fresh read runs behind it, so that a busy query path never waits for the database (which may
 * be busy with a write: an embedded PGlite has one session); no answer is ever older than `ttlMs`.
 */
export class ReadCache {
  readonly #ttlMs: number;
  readonly #now: () => number;
  readonly #entries = new Map<
    string,
    { at: number; value: Promise<unknown>; refreshing?: Promise<unknown> }
  >();

  /** `now` is the clock (tests pass their own). */
  constructor(ttlMs: number, now: () => number = Date.now) {
    this.#ttlMs = ttlMs;
    this.#now = now;
  }

  /** The cached value of `key`, or the value `load` gives (shared by concurrent callers). */
  get<T>(key: string, load: () => Promise<T>): Promise<T> {
    if (this.#ttlMs <= 0) return load();
    const now = this.#now();
    const hit = this.#entries.get(key);
    if (hit && now - hit.at < this.#ttlMs) {
      if (!hit.refreshing && now - hit.at >= this.#ttlMs / 2) {
        hit.refreshing = this.#load(key, load, now, hit);
      }
      return hit.value as Promise<T>;
    }
    if (hit?.refreshing) return hit.refreshing as Promise<T>;
    return this.#load(key, load, now);
  }

  /** Reads `key` and remembers it as read at `at` (replacing `replaces`, if still there). */
  #load<T>(
    key: string,
    load: () => Promise<T>,
    at: number,
    replaces?: { value: Promise<unknown> },
  ): Promise<T> {
    const value = load();
    if (replaces) {
      // Takes the old entry's place once read; a write meanwhile (clear) wins.
      value.then(() => {
        if (this.#entries.get(key) === replaces) this.#entries.set(key, { at, value });
      }, () => {
        if (this.#entries.get(key) === replaces) this.#entries.delete(key);
      });
      return value;
    }
    this.#entries.set(key, { at, value });
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
