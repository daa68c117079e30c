/**
 * Reliability of source calls: a circuit breaker per connection, as a source-fetch middleware,
 * with its states listed for `/metrics`. Deadlines live in `src/query/limits.ts` and
 * `src/query/execute.ts`; retries in the connector SDK (`connectors/sdk/http.ts`).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { CircuitBreakers } from "./mod.ts";
 * const breakers = new CircuitBreakers();
 * assert.ok(breakers.states().length === 0);
 * ```
 *
 * @module
 */
export * from "./circuit_breaker.ts";
export * from "./zone_instances.ts";
