/**
 * Claims: "this happened once" markers with a lifetime, set atomically (Redis `SET NX PX`), so
 * that of two processes seeing the same webhook delivery exactly one goes ahead.
 *
 * @module
 */
import type { Redis } from "@upstash/redis";

/** An atomic set-if-absent store. */
export interface ClaimStore {
  /** True when `key` was not claimed (it now is, for `ttlMs`); false when it already was. */
  claim(key: string, ttlMs: number): Promise<boolean>;
}

/**
 * Claims in this process's memory (`deno task start` without Redis: one process only).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { MemoryClaimStore } from "./claims.ts";
 * const claims = new MemoryClaimStore();
 * assert.ok(await claims.claim("d-1", 60_000));
 * assert.ok(!await claims.claim("d-1", 60_000));
 * ```
 */
export class MemoryClaimStore implements ClaimStore {
  readonly #until = new Map<string, number>();
  readonly #now: () => number;

  constructor(now: () => number = Date.now) {
    this.#now = now;
  }

  claim(key: string, ttlMs: number): Promise<boolean> {
    const now = this.#now();
    const until = this.#until.get(key);
    if (until !== undefined && until > now) return Promise.resolve(false);
    if (this.#until.size > 100_000) {
      for (const [k, u] of this.#until) if (u <= now) this.#until.delete(k);
    }
    this.#until.set(key, now + ttlMs);
    return Promise.resolve(true);
  }
}

/**
 * Claims in a zone's Upstash Redis.
 *
 * @example
 * ```ts ignore
 * const claims = new UpstashClaimStore(upstashClient(credentials), "omnisql:claims:eu");
 * if (await claims.claim("github:delivery-id", 86_400_000)) handle();
 * ```
 */
export class UpstashClaimStore implements ClaimStore {
  readonly #redis: Redis;
  readonly #prefix: string;

  constructor(redis: Redis, prefix: string) {
    this.#redis = redis;
    this.#prefix = prefix;
  }

  async claim(key: string, ttlMs: number): Promise<boolean> {
    const set = await this.#redis.set(`${this.#prefix}:${key}`, "1", {
      nx: true,
      px: Math.max(1, Math.ceil(ttlMs)),
    });
    return set !== null;
  }
}
