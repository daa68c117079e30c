/**
 * Budgets shared by every process of a deployment, on Upstash Redis through `@upstash/ratelimit`:
 * fixed windows like {@link MemoryRateLimiter} (every spend counted, even one that does not fit,
 * as charges after the fact need), or sliding windows for request budgets — the previous window's
 * count, weighted by how much of it still overlaps, counts against the current one, so "30 a
 * minute" holds over any minute, never 60 across a window's edge, however many edges and zone
 * endpoints spend it (a refused request is not counted).
 *
 * Failure policy: **fail open**. When Redis does not answer in time (`@upstash/ratelimit`'s own
 * timeout behaviour) or fails, the request passes and a warning is logged: an outage of the
 * budget store must not take every query down, and the apps' quotas stay protected by the
 * source level, which reads each app's own rate-limit headers in the worker and never depends on
 * this store.
 *
 * @module
 */
import { Ratelimit } from "@upstash/ratelimit";
import type { Redis } from "@upstash/redis";
import type { Budget, LimitResult, RateLimiter } from "./limiter.ts";
import { processLog } from "../telemetry/log.ts";

/** Options of {@link UpstashRateLimiter}. */
export interface UpstashRateLimiterOptions {
  /** A client of the budget database (see `upstashClient` in `src/cache/`). */
  redis: Redis;
  /** Prefix of every budget key. @default "omnisql:rl" */
  prefix?: string;
  /** Longest wait for Redis before the request passes (fail open). @default 1000 */
  timeoutMs?: number;
  /** `sliding` for request budgets; `fixed` where spends are charged after the fact. @default "fixed" */
  window?: "fixed" | "sliding";
}

/**
 * A {@link RateLimiter} on Upstash Redis.
 *
 * @example
 * ```ts ignore
 * const limiter = new UpstashRateLimiter({ redis: upstashClient({ url, token }) });
 * const r = await limiter.limit("user:acme:dev@acme", { tokens: 120, windowMs: 60_000 });
 * ```
 */
export class UpstashRateLimiter implements RateLimiter {
  readonly #options: Required<UpstashRateLimiterOptions>;
  readonly #limiters = new Map<string, Ratelimit>();

  constructor(options: UpstashRateLimiterOptions) {
    this.#options = { prefix: "omnisql:rl", timeoutMs: 1000, window: "fixed", ...options };
  }

  async limit(key: string, budget: Budget, cost = 1): Promise<LimitResult> {
    try {
      const r = await this.#limiter(budget).limit(key, { rate: cost });
      return { success: r.success, limit: r.limit, remaining: r.remaining, reset: r.reset };
    } catch (err) {
      processLog.warn("budget store unavailable; request allowed (fail open)", {
        key: key.split(":")[0],
        error: String(err),
      });
      const now = Date.now();
      return {
        success: true,
        limit: budget.tokens,
        remaining: budget.tokens,
        reset: now - (now % budget.windowMs) + budget.windowMs,
      };
    }
  }

  #limiter(budget: Budget): Ratelimit {
    const id = `${budget.tokens}/${budget.windowMs}`;
    let limiter = this.#limiters.get(id);
    if (!limiter) {
      limiter = new Ratelimit({
        redis: this.#options.redis,
        limiter: this.#options.window === "sliding"
          ? Ratelimit.slidingWindow(budget.tokens, `${budget.windowMs} ms`)
          : Ratelimit.fixedWindow(budget.tokens, `${budget.windowMs} ms`),
        // The budget is part of the key: a tenant's new budget starts a new count.
        prefix: `${this.#options.prefix}:${this.#options.window}:${id}`,
        timeout: this.#options.timeoutMs,
        analytics: false,
      });
      this.#limiters.set(id, limiter);
    }
    return limiter;
  }
}
