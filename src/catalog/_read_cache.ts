/**
 * A short-lived memo of catalog reads on the query path (tenant, user, connections, policy), so
 * a query does not pay a database round trip for each middleware that asks. Any write through
 * the same `Catalog` clears it at once; another process's writes are seen within the TTL.
 *
 * @module
 */

interface Entry {
  /** When the value was last known current (read, or revalidated). */
  at: number;
  value: Promise<unknown>;
  /** The catalog's change count read before the value was: unchanged since, it still holds. */
  changes?: number;
  refreshing?: Promise<unknown>;
}

/**
 * Memoises async reads by key for `ttlMs`. A value past half its life is still answered while a
 * fresh read runs behind it, so that a busy query path never waits for the database (which may
 * be busy with a write: an embedded PGlite has one session); no answer is ever older than `ttlMs`.
 *
 * With `changes` (the catalog's change count, `catalog_changes`, which a trigger on every table
 * read through this memo bumps as the writing transaction commits), a value is revalidated rather than
 * read again: one round trip that finds the count unchanged renews every value read under it.
 * A value is tagged with a count read before the value was, so a write in between only makes it
 * read again.
 */
export class ReadCache {
  readonly #ttlMs: number;
  readonly #now: () => number;
  readonly #changes?: () => Promise<number | undefined>;
  readonly #entries = new Map<string, Entry>();
  /** The last change count read, and when its read started. */
  #checked?: { at: number; changes: number | undefined };
  #checking?: Promise<{ at: number; changes: number | undefined }>;
  /** When `get` was last called, for {@link ReadCache.keepFresh}. */
  #lastUse = -Infinity;

  /** `now` is the clock (tests pass their own); `changes` reads the catalog's change count. */
  constructor(
    ttlMs: number,
    now: () => number = Date.now,
    changes?: () => Promise<number | undefined>,
  ) {
    this.#ttlMs = ttlMs;
    this.#now = now;
    this.#changes = changes;
  }

  /** The cached value of `key`, or the value `load` gives (shared by concurrent callers). */
  get<T>(key: string, load: () => Promise<T>): Promise<T> {
    if (this.#ttlMs <= 0) return load();
    const now = this.#now();
    this.#lastUse = now;
    const hit = this.#entries.get(key);
    if (hit && now - hit.at < this.#ttlMs) {
      if (!hit.refreshing && now - hit.at >= this.#ttlMs / 2) {
        hit.refreshing = this.#refresh(key, load, hit);
        hit.refreshing.catch(() => {});
      }
      return hit.value as Promise<T>;
    }
    if (hit?.refreshing) return hit.refreshing as Promise<T>;
    if (hit?.changes !== undefined && this.#changes) {
      hit.refreshing = this.#refresh(key, load, hit);
      return hit.refreshing as Promise<T>;
    }
    return this.#load(key, load, now);
  }

  /** The entry's value once known current: renewed when the change count has not moved. */
  async #refresh<T>(key: string, load: () => Promise<T>, entry: Entry): Promise<T> {
    if (entry.changes !== undefined && this.#changes) {
      const checked = await this.#check().catch(() => undefined);
      if (checked && checked.changes === entry.changes && this.#entries.get(key) === entry) {
        entry.at = Math.max(entry.at, checked.at);
        entry.refreshing = undefined;
        return await (entry.value as Promise<T>);
      }
    }
    return await this.#load(key, load, this.#now(), entry);
  }

  /**
   * Reads the change count every third of the TTL while the cache is in use (a `get` within the
   * last `activeForMs`), so that a read after a quiet second finds its value renewed by a count
   * already read, instead of waiting for that round trip on its way (2.5–3 ms on the embedded
   * catalog after quiet). A server's cost: three small reads a second while it serves. Returns
   * the function that stops it; without a change count there is nothing to keep.
   */
  keepFresh(activeForMs = 60_000): () => void {
    if (!this.#changes || this.#ttlMs <= 0) return () => {};
    let timer: ReturnType<typeof setTimeout> | undefined;
    let stopped = false;
    const schedule = () => {
      timer = setTimeout(tick, this.#ttlMs / 3);
      Deno.unrefTimer(timer);
    };
    const tick = async () => {
      if (this.#now() - this.#lastUse < activeForMs) await this.#check(0).catch(() => {});
      if (!stopped) schedule();
    };
    schedule();
    return () => {
      stopped = true;
      clearTimeout(timer);
    };
  }

  /**
   * The change count: read once for every caller meanwhile, and reused while it is younger than
   * `maxAgeMs`, by default half the TTL (a value renewed by it then still has half its life).
   */
  #check(maxAgeMs = this.#ttlMs / 2): Promise<{ at: number; changes: number | undefined }> {
    const now = this.#now();
    if (this.#checked && now - this.#checked.at < maxAgeMs) {
      return Promise.resolve(this.#checked);
    }
    this.#checking ??= this.#changes!().then(
      (changes) => this.#checked = { at: now, changes },
    ).finally(() => this.#checking = undefined);
    return this.#checking;
  }

  /** Reads `key` and remembers it as read at `at` (replacing `replaces`, if still there). */
  #load<T>(
    key: string,
    load: () => Promise<T>,
    at: number,
    replaces?: Entry,
  ): Promise<T> {
    // Any count read before this read started: a write after it only makes the value read again.
    const changes = this.#checked?.changes;
    // Adopted once into a promise: a Drizzle query is a thenable that runs again at every `then`.
    const value = Promise.resolve(load());
    if (replaces) {
      // Takes the old entry's place once read; a write meanwhile (clear) wins.
      value.then(() => {
        if (this.#entries.get(key) === replaces) this.#entries.set(key, { at, value, changes });
      }, () => {
        if (this.#entries.get(key) === replaces) this.#entries.delete(key);
      });
      return value;
    }
    this.#entries.set(key, { at, value, changes });
    // A failed read is not remembered.
    value.catch(() => {
      if (this.#entries.get(key)?.value === value) this.#entries.delete(key);
    });
    if (this.#entries.size > 10_000) this.#entries.clear();
    // The first reads of a process tag nothing: a count read now serves the next ones.
    if (this.#changes && !this.#checked) void this.#check().catch(() => {});
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
