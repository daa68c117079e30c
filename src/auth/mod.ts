/**
 * Authentication: user tokens (OIDC, or the built-in dev issuer) and the edge → worker context
 * token.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { bearerToken } from "./mod.ts";
 * assert.ok(bearerToken("Bearer t") === "t");
 * ```
 *
 * @module
 */
export * from "./user_token.ts";
export * from "./dev_issuer.ts";
export * from "./context_token.ts";
export * from "./claims.ts";
