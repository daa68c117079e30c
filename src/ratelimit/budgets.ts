/**
 * The edge's hierarchical budgets: a request must fit the user's, the tenant's and the global
 * budget. A refusal is `RATE_LIMIT_EXHAUSTED` naming the level, with the wait (the narrowest
 * level that refuses); a refused request spends none of them, so a user refused on their own
 * budget costs the tenant nothing, nor a tenant's refusal its user. All three are one round trip
 * to a shared budget store.
 *
 * @module
 */
import { OmniError } from "../errors.ts";
import type { Budget, LimitResult, RateLimiter } from "./limiter.ts";

/** Budgets per level. */
export interface EdgeBudgets {
  /** @default 60 requests a minute */
  user: Budget;
  /** @default 1000 requests a minute */
  tenant: Budget;
  /**
   * Every tenant together: the deployment's capacity (`OMNISQL_GLOBAL_PER_MINUTE`).
   * @default 90000 requests a minute: the 1,000 QPS target with half again for bursts
   */
  global?: Budget;
}

/** Defaults when the tenant's settings name none. */
export const DEFAULT_BUDGETS: Required<EdgeBudgets> = {
  user: { tokens: 60, windowMs: 60_000 },
  tenant: { tokens: 1000, windowMs: 60_000 },
  global: { tokens: 90_000, windowMs: 60_000 },
};

/** The budget figures a response shows, and which level they belong to. */
export interface BudgetReading {
  remaining: number;
  reset_ms: number;
  level: string;
}

/**
 * Spends one request from the user's, the tenant's and the global budget; throws when one is
 * spent. Returns the tightest of them, for the response's `rate_limit_status`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { MemoryRateLimiter, spendEdgeBudgets } from "./mod.ts";
 * const status = await spendEdgeBudgets(new MemoryRateLimiter(), "acme", "dev@acme");
 * assert.ok(status.level === "user");
 * ```
 */
export async function spendEdgeBudgets(
  limiter: RateLimiter,
  tenant: string,
  user: string,
  budgets: EdgeBudgets = DEFAULT_BUDGETS,
): Promise<BudgetReading> {
  const levels: [string, string, Budget][] = [
    ["user", `user:${tenant}:${user}`, budgets.user],
    ["tenant", `tenant:${tenant}`, budgets.tenant],
    ["global", "global", budgets.global ?? DEFAULT_BUDGETS.global],
  ];
  const results = await limiter.admit(levels.map(([, key, budget]) => ({ key, budget })));
  let tightest: { level: string; result: LimitResult } | undefined;
  for (const [i, [level, , budget]] of levels.entries()) {
    const result = results[i];
    if (!result) throw new OmniError("INTERNAL", `the budget store left out the ${level} level`);
    if (!result.success) throw budgetSpent(level, budget, result.reset - Date.now());
    if (!tightest || result.remaining < tightest.result.remaining) tightest = { level, result };
  }
  const t = tightest!;
  return {
    remaining: t.result.remaining,
    reset_ms: Math.max(0, t.result.reset - Date.now()),
    level: t.level,
  };
}

/**
 * The refusal of a spent budget: 429 `RATE_LIMIT_EXHAUSTED` naming the level, with the wait
 * (`Retry-After`).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { budgetSpent } from "./budgets.ts";
 * const err = budgetSpent("source", { tokens: 10, windowMs: 60_000 }, 30_000);
 * assert.ok(err.status === 429 && err.retryAfterMs === 30_000);
 * ```
 */
export function budgetSpent(
  level: string,
  budget: Budget | undefined,
  waitMs: number,
  what = budget ? `the ${level} budget of ${budget.tokens} per ${budget.windowMs / 1000} s` : "",
): OmniError {
  const wait = Math.max(0, Math.ceil(waitMs));
  return new OmniError(
    "RATE_LIMIT_EXHAUSTED",
    // No hint to send it as a job: a job spends the same budgets and would be refused alike.
    `${what || `the ${level} budget`} is spent; retry in ${Math.ceil(wait / 1000)} s`,
    {
      retryAfterMs: wait,
      details: { level, ...(budget ? { limit: budget.tokens, window_ms: budget.windowMs } : {}) },
    },
  );
}
