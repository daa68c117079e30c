/**
 * Rate limiting: budgets per user, tenant and the whole deployment at the edge (and at a zone's
 * own endpoint), and per source in the worker. Limiters: this process's memory (one process
 * only) or Upstash Redis shared by every process.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { MemoryRateLimiter } from "./mod.ts";
 * const r = await new MemoryRateLimiter().limit("k", { tokens: 5, windowMs: 1000 });
 * assert.ok(r.remaining === 4);
 * ```
 *
 * @module
 */
export * from "./limiter.ts";
export * from "./budgets.ts";
export * from "./tenant_budgets.ts";
export * from "./upstash_limiter.ts";
export * from "./source_budget.ts";
