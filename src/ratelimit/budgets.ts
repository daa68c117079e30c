/**
 * The edge's hierarchical budgets: a request must fit the user's and the tenant's budget.
 * A refusal is `RATE_LIMIT_EXHAUSTED` naming the level, with the wait.
 *
 * @module
 */
import { OmniError } from "../errors.ts";
import type { Budget, LimitResult, RateLimiter } from "./limiter.ts";

/** Budgets per level. */
export interface EdgeBudgets {
  /** @default 120 requests a minute */
  user: Budget;
  /** @default 1000 requests a minute */
  tenant: Budget;
}

/** Defaults when the tenant's settings name none. */
export const DEFAULT_BUDGETS: EdgeBudgets = {
  user: { tokens: 120, windowMs: 60_000 },
  tenant: { tokens: 1000, windowMs: 60_000 },
};

/**
 * Spends one request from the tenant's and the user's budgets; throws when either is spent.
 * Returns the tighter of the two, for the response's `rate_limit_status`.
 *
 * @example
 * ```ts
 * import { MemoryRateLimiter, spendEdgeBudgets } from "./mod.ts";
 * const status = await spendEdgeBudgets(new MemoryRateLimiter(), "acme", "dev@acme");
 * console.assert(status.level === "user");
 * ```
 */
export async function spendEdgeBudgets(
  limiter: RateLimiter,
  tenant: string,
  user: string,
  budgets: EdgeBudgets = DEFAULT_BUDGETS,
): Promise<{ remaining: number; reset_ms: number; level: string }> {
  const levels: [string, string, Budget][] = [
    ["tenant", `tenant:${tenant}`, budgets.tenant],
    ["user", `user:${tenant}:${user}`, budgets.user],
  ];
  let tightest: { level: string; result: LimitResult } | undefined;
  for (const [level, key, budget] of levels) {
    const result = await limiter.limit(key, budget);
    if (!result.success) {
      const waitMs = Math.max(0, result.reset - Date.now());
      throw new OmniError(
        "RATE_LIMIT_EXHAUSTED",
        `the ${level} budget of ${budget.tokens} queries per ${budget.windowMs / 1000} s is spent` +
          (waitMs > 10_000 ? "; retry later or send the query with metadata.async = true" : ""),
        { retryAfterMs: waitMs, details: { level, limit: budget.tokens } },
      );
    }
    if (!tightest || result.remaining < tightest.result.remaining) tightest = { level, result };
  }
  const t = tightest!;
  return {
    remaining: t.result.remaining,
    reset_ms: Math.max(0, t.result.reset - Date.now()),
    level: t.level,
  };
}
