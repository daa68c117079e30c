/**
 * A zone's cache, scoped and encrypted per tenant: every value is sealed with the tenant's data
 * key (so shredding the key makes the tenant's entries unreadable, wherever they live) and bound
 * to its key name (a value copied under another key does not decrypt as a hit). Every key of a
 * tenant shares one prefix, so a flush is one prefix delete.
 *
 * The cache never fails a query: a store or decryption failure reads as a miss and a failed
 * write is dropped, each logged.
 *
 * @module
 */
import { deepFreeze } from "../deep_freeze.ts";
import type { KeyRing } from "../crypto/key_ring.ts";
import type { KvStore } from "./kv_store.ts";
import { processLog } from "../telemetry/log.ts";

/** Options of {@link TenantCache}. */
export interface TenantCacheOptions {
  /** Where sealed values live: the zone's Upstash database, or memory. */
  store: KvStore;
  /** The tenants' keys (`catalog.keyRing`). */
  keyRing: KeyRing;
  /** The residency zone this store belongs to. */
  zone: string;
  /** First segment of every key (tests use a unique one). @default "omnisql" */
  prefix?: string;
  /**
   * A value whose sealed form would be longer than this is not stored (a store refuses large
   * requests: Upstash's limit is 10 MB by default, the bridge's 16 MiB). @default 8 MiB
   */
  maxEntryBytes?: number;
}

/** {@link TenantCacheOptions.maxEntryBytes}'s default. */
const MAX_ENTRY_BYTES = 8 * 2 ** 20;

interface Sealed {
  /** The key this value was written under. */
  k: string;
  v: unknown;
}

/**
 * A tenant-scoped, encrypted key-value cache of one zone.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { TenantCache } from "./tenant_cache.ts";
 * import { MemoryKvStore } from "./memory_store.ts";
 * import { generateMasterKey, KeyRing, MemoryKeyStore } from "../crypto/mod.ts";
 * const keyRing = new KeyRing({ masterKey: generateMasterKey(), store: new MemoryKeyStore() });
 * const cache = new TenantCache({ store: new MemoryKvStore(), keyRing, zone: "us" });
 * await cache.set("acme", "r:1", { rows: [1] }, 60_000);
 * assert.ok((await cache.get<{ rows: number[] }>("acme", "r:1"))?.rows[0] === 1);
 * assert.ok((await cache.get("globex", "r:1")) === undefined);
 * ```
 */
export class TenantCache {
  readonly zone: string;
  readonly #store: KvStore;
  readonly #keyRing: KeyRing;
  readonly #prefix: string;
  readonly #maxEntryBytes: number;

  constructor(options: TenantCacheOptions) {
    if (!/^[\w-]+$/.test(options.zone)) throw new Error(`bad zone name ${options.zone}`);
    this.zone = options.zone;
    this.#store = options.store;
    this.#keyRing = options.keyRing;
    this.#prefix = options.prefix ?? "omnisql";
    this.#maxEntryBytes = options.maxEntryBytes ?? MAX_ENTRY_BYTES;
  }

  /**
   * The stored value, or `undefined` (absent, expired, unreadable). The value is frozen and may
   * be shared with other readers of the same stored entry: a hot entry (a warm source on every
   * query) is decrypted and parsed once while the tenant's key is held
   * ({@link KeyRing.decryptDecoded}); the store is read every time.
   */
  async get<T>(tenantId: string, key: string): Promise<T | undefined> {
    return await (await this.peek<T>(tenantId, key)).open();
  }

  /**
   * The value stored now, opened (decrypted and decoded) only when asked, at most once: for a
   * caller that needs the value only in some outcomes, and should not pay for a large one in the
   * others. `open()` answers as {@link TenantCache.get} does.
   *
   * @example
   * ```ts
   * import { deepStrictEqual as assertEquals } from "node:assert/strict";
   * import { TenantCache } from "./tenant_cache.ts";
   * import { MemoryKvStore } from "./memory_store.ts";
   * import { generateMasterKey, KeyRing, MemoryKeyStore } from "../crypto/mod.ts";
   * const keyRing = new KeyRing({ masterKey: generateMasterKey(), store: new MemoryKeyStore() });
   * const cache = new TenantCache({ store: new MemoryKvStore(), keyRing, zone: "us" });
   * await cache.set("acme", "r:1", { n: 1 }, 60_000);
   * const before = await cache.peek<{ n: number }>("acme", "r:1");
   * await cache.set("acme", "r:1", { n: 2 }, 60_000);
   * assertEquals(await before.open(), { n: 1 });
   * ```
   */
  async peek<T>(tenantId: string, key: string): Promise<{ open(): Promise<T | undefined> }> {
    const full = this.#key(tenantId, key);
    let token: string | null;
    try {
      token = await this.#store.get(full);
    } catch (err) {
      warn("cache read failed; treated as a miss", this.zone, err);
      token = null;
    }
    let opened: Promise<T | undefined> | undefined;
    const open = async (): Promise<T | undefined> => {
      if (token === null) return undefined;
      try {
        const sealed = await this.#keyRing.decryptDecoded(tenantId, token, parseSealed);
        return sealed.k === full ? sealed.v as T : undefined;
      } catch (err) {
        warn("cache read failed; treated as a miss", this.zone, err);
        return undefined;
      }
    };
    return { open: () => opened ??= open() };
  }

  /** Stores a value for at most `ttlMs`; nothing is stored when `ttlMs` ≤ 0. */
  async set(tenantId: string, key: string, value: unknown, ttlMs: number): Promise<void> {
    if (!(ttlMs > 0)) return;
    const full = this.#key(tenantId, key);
    try {
      const plain = JSON.stringify({ k: full, v: value } satisfies Sealed);
      // Sealing adds a third (base64) and a few bytes; a string's length undercounts UTF-8.
      if (plain.length * 4 / 3 > this.#maxEntryBytes) {
        processLog.info("cache entry too large; not stored", {
          zone: this.zone,
          chars: plain.length,
          max_bytes: this.#maxEntryBytes,
        });
        return;
      }
      const token = await this.#keyRing.encrypt(tenantId, plain);
      await this.#store.set(full, token, ttlMs);
    } catch (err) {
      warn("cache write failed; dropped", this.zone, err);
    }
  }

  /**
   * Starts loading the tenant's current key, when this process does not hold it, without waiting:
   * for a caller about to read and write several entries at once (a source fetch's pages), which
   * would otherwise each wait for the same load. Failures surface on the reads and writes.
   */
  warm(tenantId: string): void {
    this.#keyRing.dataKey(tenantId).catch(() => {});
  }

  /**
   * Calls `listener` when this process forgets a tenant's keys (rotated, shredded, or a notice
   * from another instance; `undefined`: every tenant's): what a caller remembers in the clear
   * beside the sealed entries should go with them ({@link KeyRing.onForget}).
   */
  onForget(listener: (tenantId: string | undefined) => void): () => void {
    return this.#keyRing.onForget(listener);
  }

  /**
   * Gives a stored value `ttlMs` more to live, unchanged (nothing when absent): what re-storing
   * the same value does, without sealing it again.
   */
  async touch(tenantId: string, key: string, ttlMs: number): Promise<void> {
    try {
      await this.#store.touch(this.#key(tenantId, key), ttlMs);
    } catch (err) {
      warn("cache expiry not extended; the entry expires as it was", this.zone, err);
    }
  }

  /**
   * Takes a lease on one of the tenant's keys for `ttlMs`, shared by every process on the store;
   * true when taken. A store that cannot answer grants it (the cache never holds a query up).
   */
  claim(tenantId: string, key: string, owner: string, ttlMs: number): Promise<boolean> {
    return this.#lease(
      () => this.#store.claim(this.#key(tenantId, key), owner, ttlMs),
      true,
      "lease not taken; going ahead alone",
    );
  }

  /** Extends a lease `owner` holds; false when it was lost (or the store cannot answer). */
  renew(tenantId: string, key: string, owner: string, ttlMs: number): Promise<boolean> {
    return this.#lease(
      () => this.#store.renew(this.#key(tenantId, key), owner, ttlMs),
      false,
      "lease not renewed",
    );
  }

  /** A lease operation's answer, or `fallback` (with a warning) when the store cannot answer. */
  async #lease(op: () => Promise<boolean>, fallback: boolean, warning: string): Promise<boolean> {
    try {
      return await op();
    } catch (err) {
      warn(warning, this.zone, err);
      return fallback;
    }
  }

  /** Gives a lease up (it expires by itself if this fails). */
  async release(tenantId: string, key: string, owner: string): Promise<void> {
    try {
      await this.#store.release(this.#key(tenantId, key), owner);
    } catch (err) {
      warn("lease not released; it expires", this.zone, err);
    }
  }

  /** Whether any process holds a lease on the key (false when the store cannot answer). */
  async held(tenantId: string, key: string): Promise<boolean> {
    try {
      return (await this.#store.get(this.#key(tenantId, key))) !== null;
    } catch {
      return false;
    }
  }

  /** Deletes every entry of a tenant in this zone; returns how many. */
  flush(tenantId: string): Promise<number> {
    return this.#store.deletePrefix(this.#key(tenantId, ""));
  }

  #key(tenantId: string, key: string): string {
    return `${this.#prefix}:${this.zone}:${encodeURIComponent(tenantId)}:${key}`;
  }
}

/** One decoder for every entry, so that `decryptDecoded` remembers what it decoded. */
function parseSealed(text: string): Sealed {
  return deepFreeze(JSON.parse(text) as Sealed);
}

function warn(msg: string, zone: string, err: unknown) {
  processLog.warn(msg, { zone, error: storeError(err) });
}

/**
 * A store error, fit for a log line: Upstash's client appends the whole command to its errors
 * (`…, command was: [["set", key, sealed value]]`), which is no log's business.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { storeError } from "./tenant_cache.ts";
 * const err = new Error('ERR request too large, command was: [["set","k","v1.1.abc"]]');
 * assert.equal(storeError(err), "Error: ERR request too large");
 * ```
 */
export function storeError(err: unknown): string {
  const text = String(err);
  const cut = text.indexOf(", command was:");
  return (cut >= 0 ? text.slice(0, cut) : text).slice(0, 300);
}
