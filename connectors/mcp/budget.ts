/**
 * An MCP connection's calls budget. MCP servers announce no rate limits (no headers, no
 * "remaining"), so the connection keeps its own count — a fixed window of `calls` per `window_s`
 * per worker process — and reports it as the source's budget, which the worker's source-budget
 * middleware and `rate_limit_status` then treat like any app's reading.
 *
 * @module
 */
import type { Connection, RateLimitInfo } from "../sdk/mod.ts";
import { readMcpConfig } from "./mapping.ts";

/** The default budget: 600 calls a minute. */
export const DEFAULT_BUDGET = { calls: 600, window_s: 60 };

/** A fixed-window counter of one connection's calls. */
export class CallBudget {
  readonly limit: number;
  readonly windowS: number;
  #start = -Infinity;
  #used = 0;

  constructor(limit: number, windowS: number) {
    this.limit = limit;
    this.windowS = windowS;
  }

  /**
   * Spends one call: undefined when it fits, else the wait until the window resets, ms.
   *
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { CallBudget } from "./budget.ts";
   * const budget = new CallBudget(1, 60);
   * assert.equal(budget.take(), undefined);
   * assert.ok(budget.take()! > 0);
   * ```
   */
  take(now: number = Date.now()): number | undefined {
    this.#roll(now);
    if (this.#used >= this.limit) return this.#start + this.windowS * 1000 - now;
    this.#used++;
    return undefined;
  }

  /**
   * What is left, as a rate-limit reading.
   *
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { CallBudget } from "./budget.ts";
   * const budget = new CallBudget(10, 60);
   * budget.take(1_000);
   * assert.deepEqual(budget.reading(1_000), { limit: 10, remaining: 9, resetAt: 61_000 });
   * ```
   */
  reading(now: number = Date.now()): RateLimitInfo {
    this.#roll(now);
    return {
      limit: this.limit,
      remaining: this.limit - this.#used,
      resetAt: this.#start + this.windowS * 1000,
    };
  }

  #roll(now: number): void {
    if (now >= this.#start + this.windowS * 1000) {
      this.#start = now;
      this.#used = 0;
    }
  }
}

const budgets = new Map<string, CallBudget>();

/**
 * The budget of a connection, as its config sets it (a changed setting starts a new count).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { callBudget } from "./budget.ts";
 * const conn = { id: "c1", tenantId: "t", connector: "mcp", name: "support",
 *   baseUrl: "http://x.test/mcp", credentials: {}, config: { budget: { calls: 5, window_s: 1 } } };
 * assert.equal(callBudget(conn).limit, 5);
 * ```
 */
export function callBudget(connection: Connection): CallBudget {
  const { calls, window_s } = readMcpConfig(connection.config).config.budget ?? DEFAULT_BUDGET;
  const key = `${connection.tenantId}:${connection.id}:${calls}/${window_s}`;
  let budget = budgets.get(key);
  if (!budget) {
    budget = new CallBudget(calls, window_s);
    budgets.set(key, budget);
  }
  return budget;
}
