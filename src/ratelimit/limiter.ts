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
  /**
   * Admits one request into every budget (distinct keys), or into none: the results in order, up
   * to and including the first budget it does not fit (`success: false`), in which case nothing
   * is spent. A store shared over the network answers it in one round trip.
   */
  admit(spends: readonly Spend[]): Promise<LimitResult[]>;
}

/** One budget a request must fit, for {@link RateLimiter.admit}. */
export interface Spend {
  key: string;
  budget: Budget;
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
 * // Into both budgets or neither: "v" is not spent by a request "u" refuses.
 * const refused = await limiter.admit([{ key: "v", budget }, { key: "u", budget }]);
 * assert.deepEqual(refused.map((r) => r.success), [true, false]);
 * assert.ok((await limiter.admit([{ key: "v", budget }]))[0].success);
 * ```
 */
export class MemoryRateLimiter implements RateLimiter {
  readonly #windows = new Map<string, { start: number; used: number }>();
  readonly #now: () => number;

  constructor(now: () => number = Date.now) {
    this.#now = now;
  }

  limit(key: string, budget: Budget, cost = 1): Promise<LimitResult> {
    const window = this.#window(key, budget, this.#now());
    window.used += cost;
    return Promise.resolve(reading(window, budget, window.used <= budget.tokens));
  }

  admit(spends: readonly Spend[]): Promise<LimitResult[]> {
    const now = this.#now();
    const results: LimitResult[] = [];
    const windows: { start: number; used: number }[] = [];
    for (const { key, budget } of spends) {
      const window = this.#window(key, budget, now);
      if (window.used + 1 > budget.tokens) {
        results.push(reading(window, budget, false));
        return Promise.resolve(results);
      }
      results.push(reading({ ...window, used: window.used + 1 }, budget, true));
      windows.push(window);
    }
    for (const window of windows) window.used += 1;
    return Promise.resolve(results);
  }

  #window(key: string, budget: Budget, now: number): { start: number; used: number } {
    const start = now - (now % budget.windowMs);
    let window = this.#windows.get(key);
    if (!window || window.start !== start) {
      window = { start, used: 0 };
      this.#windows.set(key, window);
      if (this.#windows.size > 100_000) this.#evict(start);
    }
    return window;
  }

  #evict(currentStart: number) {
    for (const [key, w] of this.#windows) if (w.start < currentStart) this.#windows.delete(key);
  }
}

function reading(
  window: { start: number; used: number },
  budget: Budget,
  success: boolean,
): LimitResult {
  return {
    success,
    limit: budget.tokens,
    remaining: Math.max(0, budget.tokens - window.used),
    reset: window.start + budget.windowMs,
  };
}
