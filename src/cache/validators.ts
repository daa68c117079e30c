/**
 * Validators per request URL: the `ETag`/`Last-Modified` of each GET a connection made, with the
 * body and headers that rebuild its page, in the zone's tenant cache (encrypted, expiring like
 * every cached source datum). Keyed by the connection's identity and the URL alone — not by
 * cache entry or column set — so any later fetch of the same URL revalidates it, whichever query
 * asks.
 *
 * @module
 */
import type { ConditionalEntry, ConditionalStore } from "../../connectors/sdk/http.ts";
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
}

/**
 * A {@link ConditionalStore} over the tenant cache, one key per connection and URL.
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
 * const other = new UrlValidators({ cache, tenantId: "acme", connection, ttlMs: 60_000 });
 * assert.equal((await other.lookup("https://api.github.com/x"))?.etag, 'W/"1"');
 * ```
 */
export class UrlValidators implements ConditionalStore {
  readonly #options: UrlValidatorsOptions;
  #scope?: Promise<string>;

  constructor(options: UrlValidatorsOptions) {
    this.#options = options;
  }

  async lookup(url: string): Promise<ConditionalEntry | undefined> {
    const { cache, tenantId } = this.#options;
    return await cache.get<ConditionalEntry>(tenantId, await this.#key(url));
  }

  async store(url: string, entry: ConditionalEntry, status: 200 | 304): Promise<void> {
    const { cache, tenantId, ttlMs } = this.#options;
    // A 304 confirms the stored page as of now: its life starts again, like the entry it
    // rebuilds. The value is the one stored, so only its expiry moves (sealing a page of
    // hundreds of rows again would cost as much as the page's first store).
    if (status === 304) await cache.touch(tenantId, await this.#key(url), ttlMs);
    else await cache.set(tenantId, await this.#key(url), entry, ttlMs);
  }

  async #key(url: string): Promise<string> {
    this.#scope ??= (() => {
      const c = this.#options.connection;
      const credentials = Object.entries(c.credentials).sort(([a], [b]) => a < b ? -1 : 1);
      return sha256Hex(JSON.stringify([c.id, c.baseUrl, credentials]));
    })();
    // Hashed: no query values in key names.
    return `s:v:${await sha256Hex(`${await this.#scope}\n${url}`)}`;
  }
}
