/**
 * A {@link KvStore} on Upstash Redis (one database per residency zone), through `@upstash/redis`.
 *
 * @module
 */
import { Redis } from "@upstash/redis";
import type { KvStore } from "./kv_store.ts";

/** Where an Upstash database answers. */
export interface UpstashCredentials {
  /** REST URL (`UPSTASH_REDIS_REST_URL_<ZONE>`). */
  url: string;
  /** REST token (`UPSTASH_REDIS_REST_TOKEN_<ZONE>`). */
  token: string;
}

/** Options of {@link UpstashKvStore}. */
export interface UpstashKvStoreOptions {
  /** Longest wait for one call before it fails (a cache miss, not a failed query). @default 1000 */
  timeoutMs?: number;
}

/**
 * Builds the REST client both the caches and the Upstash limiter use: values as raw strings, one
 * retry, calls bounded by `timeoutMs`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { upstashClient } from "./upstash_store.ts";
 * const redis = upstashClient({ url: "https://eu1.upstash.io", token: "t" });
 * assert.ok(typeof redis.get === "function");
 * ```
 */
export function upstashClient(credentials: UpstashCredentials, timeoutMs = 1000): Redis {
  return new Redis({
    url: credentials.url,
    token: credentials.token,
    automaticDeserialization: false,
    enableTelemetry: false,
    retry: { retries: 1, backoff: () => 50 },
    signal: () => AbortSignal.timeout(timeoutMs),
  });
}

/** Extends a lease only if the caller still holds it (compare and expire, atomically). */
const RENEW = `if redis.call('get', KEYS[1]) == ARGV[1] then
  return redis.call('pexpire', KEYS[1], ARGV[2]) else return 0 end`;
/** Deletes a lease only if the caller still holds it. */
const RELEASE = `if redis.call('get', KEYS[1]) == ARGV[1] then
  return redis.call('del', KEYS[1]) else return 0 end`;

/**
 * A {@link KvStore} on Upstash Redis.
 *
 * @example
 * ```ts ignore
 * const store = new UpstashKvStore({ url: env.UPSTASH_REDIS_REST_URL_EU, token });
 * await store.set("omnisql:eu:acme:r:…", token, 60_000);
 * ```
 */
export class UpstashKvStore implements KvStore {
  readonly #redis: Redis;

  constructor(credentials: UpstashCredentials, options: UpstashKvStoreOptions = {}) {
    this.#redis = upstashClient(credentials, options.timeoutMs);
  }

  async get(key: string): Promise<string | null> {
    const value = await this.#redis.get<string>(key);
    return typeof value === "string" ? value : null;
  }

  async set(key: string, value: string, ttlMs: number): Promise<void> {
    if (ttlMs <= 0) return;
    await this.#redis.set(key, value, { px: Math.ceil(ttlMs) });
  }

  async touch(key: string, ttlMs: number): Promise<void> {
    // PEXPIRE on an absent key does nothing, as the interface asks.
    if (ttlMs <= 0) await this.#redis.del(key);
    else await this.#redis.pexpire(key, Math.ceil(ttlMs));
  }

  async claim(key: string, owner: string, ttlMs: number): Promise<boolean> {
    return (await this.#redis.set(key, owner, { nx: true, px: Math.ceil(ttlMs) })) === "OK";
  }

  async renew(key: string, owner: string, ttlMs: number): Promise<boolean> {
    return Number(await this.#redis.eval(RENEW, [key], [owner, String(Math.ceil(ttlMs))])) === 1;
  }

  async release(key: string, owner: string): Promise<void> {
    await this.#redis.eval(RELEASE, [key], [owner]);
  }

  async deletePrefix(prefix: string): Promise<number> {
    const match = prefix.replace(/[*?[\]\\]/g, "\\$&") + "*";
    let cursor = "0";
    let deleted = 0;
    do {
      const [next, keys] = await this.#redis.scan(cursor, { match, count: 500 });
      cursor = String(next);
      if (keys.length > 0) deleted += await this.#redis.del(...keys);
    } while (cursor !== "0");
    return deleted;
  }
}
