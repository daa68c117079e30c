/**
 * Budgets: a limiter answers whether one more request fits a key's budget (global, tenant, user,
 * source) and how much is left. The in-process limiter serves a single process
 * (`deno task start`); the Upstash-backed one (`UpstashRateLimiter`) shares budgets across
 * processes.
 *
 * @module
 */

/** The outcome of one `limit` call. */
export interface LimitResult {
  success: boolean;
  limit: number;
  remaining: number;
  /** When the window resets, epoch ms. */
  reset: number;
}

/** A budget store. */
export interface RateLimiter {
  /**
   * Spends `cost` (default 1) of a key's budget. The spend is counted even when it does not fit,
   * so a caller charging after the fact (an app's calls) brings the next refusal forward.
   */
  limit(key: string, budget: Budget, cost?: number): Promise<LimitResult>;
}

/** A budget: `tokens` requests per `windowMs`. */
export interface Budget {
  tokens: number;
  windowMs: number;
}

/**
 * A fixed-window limiter held in this process's memory.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { MemoryRateLimiter } from "./limiter.ts";
 * const limiter = new MemoryRateLimiter();
 * const budget = { tokens: 1, windowMs: 60_000 };
 * assert.ok((await limiter.limit("u", budget)).success);
 * assert.ok(!(await limiter.limit("u", budget)).success);
 * ```
 */
export class MemoryRateLimiter implements RateLimiter {
  readonly #windows = new Map<string, { start: number; used: number }>();
  readonly #now: () => number;

  constructor(now: () => number = Date.now) {
    this.#now = now;
  }

  limit(key: string, budget: Budget, cost = 1): Promise<LimitResult> {
    const now = this.#now();
    const start = now - (now % budget.windowMs);
    let window = this.#windows.get(key);
    if (!window || window.start !== start) {
      window = { start, used: 0 };
      this.#windows.set(key, window);
      if (this.#windows.size > 100_000) this.#evict(start);
    }
    window.used += cost;
    const success = window.used <= budget.tokens;
    return Promise.resolve({
      success,
      limit: budget.tokens,
      remaining: Math.max(0, budget.tokens - window.used),
      reset: start + budget.windowMs,
    });
  }

  #evict(currentStart: number) {
    for (const [key, w] of this.#windows) if (w.start < currentStart) this.#windows.delete(key);
  }
}
