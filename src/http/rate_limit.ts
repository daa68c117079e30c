/**
 * Budget middleware: every query spends one request of the tenant's and the user's budgets,
 * and a spent budget is a 429 naming its level.
 *
 * @module
 */
import type { MiddlewareHandler } from "hono";
import {
  DEFAULT_BUDGETS,
  type EdgeBudgets,
  type RateLimiter,
  spendEdgeBudgets,
} from "../ratelimit/mod.ts";
import type { AppEnv } from "./env.ts";

/** Options of {@link rateLimit}. */
export interface RateLimitOptions {
  limiter: RateLimiter;
  /** The tenant's budgets. @default DEFAULT_BUDGETS */
  budgetsFor?: (tenantId: string) => EdgeBudgets | Promise<EdgeBudgets>;
}

/**
 * Middleware that spends the caller's budgets and sets `c.var.budget`.
 *
 * @example
 * ```ts ignore
 * app.post("/v1/query", rateLimit({ limiter }), handler);
 * ```
 */
export function rateLimit(options: RateLimitOptions): MiddlewareHandler<AppEnv> {
  return async function rateLimitMiddleware(c, next) {
    const user = c.get("user");
    const budgets = (await options.budgetsFor?.(user.tenant)) ?? DEFAULT_BUDGETS;
    c.set("budget", await spendEdgeBudgets(options.limiter, user.tenant, user.sub, budgets));
    await next();
  };
}
