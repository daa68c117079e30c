/**
 * Rate limiting: budgets per user, tenant and source.
 *
 * @example
 * ```ts
 * import { MemoryRateLimiter } from "./mod.ts";
 * const r = await new MemoryRateLimiter().limit("k", { tokens: 5, windowMs: 1000 });
 * console.assert(r.remaining === 4);
 * ```
 *
 * @module
 */
export * from "./limiter.ts";
export * from "./budgets.ts";
