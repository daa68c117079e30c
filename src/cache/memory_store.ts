/**
 * An in-process {@link KvStore}: what `deno task start` uses when no Redis is configured. It
 * serves one process only: two processes never see each other's entries.
 *
 * @module
 */
import type { KvStore } from "./kv_store.ts";

/** Options of {@link MemoryKvStore}. */
export interface MemoryKvStoreOptions {
  /** Entries kept at most; expired ones are swept first, then the oldest. @default 10000 */
  maxEntries?: number;
  /** The clock. @default Date.now */
  now?: () => number;
}

/**
 * A {@link KvStore} in this process's memory, with lazy expiry and a bounded size.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { MemoryKvStore } from "./memory_store.ts";
 * const store = new MemoryKvStore();
 * await store.set("a:1", "x", 60_000);
 * assert.ok((await store.get("a:1")) === "x");
 * await store.touch("a:1", 120_000);
 * assert.ok((await store.get("a:1")) === "x");
 * assert.ok((await store.deletePrefix("a:")) === 1);
 * ```
 */
export class MemoryKvStore implements KvStore {
  readonly #entries = new Map<string, { value: string; expiresAt: number }>();
  readonly #max: number;
  readonly #now: () => number;

  constructor(options: MemoryKvStoreOptions = {}) {
    this.#max = options.maxEntries ?? 10_000;
    this.#now = options.now ?? Date.now;
  }

  get(key: string): Promise<string | null> {
    const entry = this.#entries.get(key);
    if (!entry) return Promise.resolve(null);
    if (entry.expiresAt <= this.#now()) {
      this.#entries.delete(key);
      return Promise.resolve(null);
    }
    return Promise.resolve(entry.value);
  }

  set(key: string, value: string, ttlMs: number): Promise<void> {
    this.#entries.delete(key); // re-insert: Map order is then oldest-written first
    if (ttlMs > 0) {
      this.#entries.set(key, { value, expiresAt: this.#now() + ttlMs });
      if (this.#entries.size > this.#max) this.#evict();
    }
    return Promise.resolve();
  }

  touch(key: string, ttlMs: number): Promise<void> {
    const entry = this.#entries.get(key);
    if (!entry) return Promise.resolve();
    if (entry.expiresAt <= this.#now() || ttlMs <= 0) this.#entries.delete(key);
    else entry.expiresAt = this.#now() + ttlMs;
    return Promise.resolve();
  }

  deletePrefix(prefix: string): Promise<number> {
    let n = 0;
    for (const key of this.#entries.keys()) {
      if (key.startsWith(prefix)) {
        this.#entries.delete(key);
        n++;
      }
    }
    return Promise.resolve(n);
  }

  async claim(key: string, owner: string, ttlMs: number): Promise<boolean> {
    if ((await this.get(key)) !== null) return false;
    await this.set(key, owner, ttlMs);
    return true;
  }

  async renew(key: string, owner: string, ttlMs: number): Promise<boolean> {
    if ((await this.get(key)) !== owner) return false;
    await this.set(key, owner, ttlMs);
    return true;
  }

  async release(key: string, owner: string): Promise<void> {
    if ((await this.get(key)) === owner) this.#entries.delete(key);
  }

  #evict() {
    const now = this.#now();
    for (const [key, e] of this.#entries) if (e.expiresAt <= now) this.#entries.delete(key);
    for (const key of this.#entries.keys()) {
      if (this.#entries.size <= this.#max) break;
      this.#entries.delete(key);
    }
  }
}
