/**
 * Validators per request URL: the `ETag`/`Last-Modified` of each GET a connection made, with the
 * body and headers that rebuild its page, in the zone's tenant cache (encrypted, expiring like
 * every cached source datum). Keyed by the connection's identity and the URL alone — not by
 * cache entry or column set — so any later fetch of the same URL revalidates it, whichever query
 * asks.
 *
 * The validator and its page are two entries: a request waits only for the small one before it
 * leaves, and the page (hundreds of rows to decrypt and parse) is opened while it is out. What a
 * fetch learns is written when the fetch's owner {@link UrlValidators.flush}es it, behind the
 * query's answer: sealing a page costs the only thread as much as opening one.
 *
 * @module
 */
import type {
  ConditionalEntry,
  ConditionalStore,
  ConditionalValidator,
} from "../../connectors/sdk/http.ts";
import type { Connection } from "../../connectors/sdk/table.ts";
import { sha256Hex } from "../crypto/sha256.ts";
import type { TenantCache } from "./tenant_cache.ts";

/** Options of {@link UrlValidators}. */
export interface UrlValidatorsOptions {
  /** The zone's tenant cache. */
  cache: TenantCache;
  tenantId: string;
  /** The connection whose calls these are: its id, base URL and credentials scope the keys. */
  connection: Pick<Connection, "id" | "baseUrl" | "credentials">;
  /** How long a validator (and the page it rebuilds) is kept. */
  ttlMs: number;
  /** What this process wrote lately, asked before the store. @default none: the store only */
  recent?: RecentValidators;
}

/**
 * The validators this process wrote (or gave a new life with a 304) lately, until they expire in
 * the store: a request whose validator is here leaves without a store round trip first (one per
 * page of a fetch, along its whole chain of pages, where the store is Redis). A validator another
 * instance wrote since costs at worst a page answered in full: an app that no longer knows the
 * ETag answers 200, and a 304 whose page the store no longer holds is asked again in full. Only
 * validators are kept here, never a page; a tenant's go when its keys do
 * ({@link RecentValidators.forget}).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { RecentValidators } from "./validators.ts";
 * let now = 0;
 * const recent = new RecentValidators({ now: () => now });
 * recent.set("acme", "s:v:1", { etag: 'W/"1"' }, 60_000);
 * assert.deepEqual(recent.get("acme", "s:v:1"), { etag: 'W/"1"' });
 * now = 60_000;
 * assert.equal(recent.get("acme", "s:v:1"), undefined);
 * ```
 */
export class RecentValidators {
  readonly #entries = new Map<string, { validator: ConditionalValidator; expiresAt: number }>();
  readonly #now: () => number;
  readonly #maxEntries: number;

  constructor(options: { now?: () => number; maxEntries?: number } = {}) {
    this.#now = options.now ?? Date.now;
    this.#maxEntries = options.maxEntries ?? 10_000;
  }

  get(tenantId: string, key: string): ConditionalValidator | undefined {
    const at = `${tenantId}\n${key}`;
    const known = this.#entries.get(at);
    if (known && known.expiresAt > this.#now()) return known.validator;
    this.#entries.delete(at);
    return undefined;
  }

  set(tenantId: string, key: string, validator: ConditionalValidator, ttlMs: number): void {
    const at = `${tenantId}\n${key}`;
    this.#entries.delete(at); // to the newest end: the oldest are the first forgotten
    this.#entries.set(at, { validator, expiresAt: this.#now() + ttlMs });
    if (this.#entries.size > this.#maxEntries) {
      this.#entries.delete(this.#entries.keys().next().value!);
    }
  }

  /** Drops a tenant's validators (every tenant's without one): its keys were changed. */
  forget(tenantId?: string): void {
    if (tenantId === undefined) return this.#entries.clear();
    for (const at of this.#entries.keys()) {
      if (at.startsWith(`${tenantId}\n`)) this.#entries.delete(at);
    }
  }
}

/**
 * A {@link ConditionalStore} over the tenant cache, two keys per connection and URL.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { UrlValidators } from "./validators.ts";
 * import { TenantCache } from "./tenant_cache.ts";
 * import { MemoryKvStore } from "./memory_store.ts";
 * import { generateMasterKey, KeyRing, MemoryKeyStore } from "../crypto/mod.ts";
 * const keyRing = new KeyRing({ masterKey: generateMasterKey(), store: new MemoryKeyStore() });
 * const cache = new TenantCache({ store: new MemoryKvStore(), keyRing, zone: "us" });
 * const connection = { id: "c1", baseUrl: "https://api.github.com", credentials: { token: "t" } };
 * const one = new UrlValidators({ cache, tenantId: "acme", connection, ttlMs: 60_000 });
 * await one.store("https://api.github.com/x", { etag: 'W/"1"', body: [1], headers: {} }, 200);
 * await one.flush();
 * const other = new UrlValidators({ cache, tenantId: "acme", connection, ttlMs: 60_000 });
 * const validator = await other.lookup("https://api.github.com/x");
 * assert.deepEqual(validator, { etag: 'W/"1"' });
 * assert.deepEqual((await other.entry("https://api.github.com/x", validator!))?.body, [1]);
 * ```
 */
export class UrlValidators implements ConditionalStore {
  readonly #options: UrlValidatorsOptions;
  #scope?: Promise<string>;
  /** What this fetch learned, by URL, not written yet: the last word on each URL wins. */
  readonly #pending = new Map<string, { entry: ConditionalEntry; status: 200 | 304 }>();

  constructor(options: UrlValidatorsOptions) {
    this.#options = options;
  }

  async lookup(url: string): Promise<ConditionalValidator | undefined> {
    const { cache, tenantId, recent } = this.#options;
    const key = `s:v:${await this.#hash(url)}`;
    return recent?.get(tenantId, key) ?? await cache.get<ConditionalValidator>(tenantId, key);
  }

  async entry(
    url: string,
    validator: ConditionalValidator,
  ): Promise<ConditionalEntry | undefined> {
    const { cache, tenantId } = this.#options;
    const entry = await cache.get<ConditionalEntry>(tenantId, `s:vp:${await this.#hash(url)}`);
    // Two fetches of the URL may have stored their validator and page in either order.
    const same = entry?.etag === validator.etag && entry?.lastModified === validator.lastModified;
    return same ? entry : undefined;
  }

  store(url: string, entry: ConditionalEntry, status: 200 | 304): void {
    const earlier = this.#pending.get(url);
    // A 304 after this fetch's own 200 of the URL confirms a page not written yet.
    this.#pending.set(url, { entry, status: earlier?.status === 200 ? 200 : status });
  }

  /**
   * Writes what this fetch learned: a 200's validator and page, sealed anew; a 304's, given
   * their time to live again (sealing a page of hundreds of rows again would cost as much as
   * its first store). Failures are the cache's: logged there, and a later fetch is in full.
   */
  async flush(): Promise<void> {
    const { cache, tenantId, ttlMs, recent } = this.#options;
    const learned = [...this.#pending];
    this.#pending.clear();
    // All at once: a validator seen before its page is written only costs a request in full.
    await Promise.all(learned.map(async ([url, { entry, status }]) => {
      const hash = await this.#hash(url);
      const validator: ConditionalValidator = {
        ...(entry.etag ? { etag: entry.etag } : {}),
        ...(entry.lastModified ? { lastModified: entry.lastModified } : {}),
      };
      if (status === 304) {
        await Promise.all([
          cache.touch(tenantId, `s:vp:${hash}`, ttlMs),
          cache.touch(tenantId, `s:v:${hash}`, ttlMs),
        ]);
      } else {
        await Promise.all([
          cache.set(tenantId, `s:vp:${hash}`, entry, ttlMs),
          cache.set(tenantId, `s:v:${hash}`, validator, ttlMs),
        ]);
      }
      recent?.set(tenantId, `s:v:${hash}`, validator, ttlMs);
    }));
  }

  async #hash(url: string): Promise<string> {
    this.#scope ??= (() => {
      const c = this.#options.connection;
      const credentials = Object.entries(c.credentials).sort(([a], [b]) => a < b ? -1 : 1);
      return sha256Hex(JSON.stringify([c.id, c.baseUrl, credentials]));
    })();
    // Hashed: no query values in key names.
    return await sha256Hex(`${await this.#scope}\n${url}`);
  }
}
