/**
 * Remembering verified user tokens until they expire, so a client that sends the same token with
 * every query pays for one signature check, not one per query. Only a token that verified is
 * remembered (a refusal is checked again each time), only until its own `exp`, and a token
 * without `exp` never is.
 *
 * @module
 */
import type { UserClaims, UserVerifier } from "./user_token.ts";

/** Options of {@link rememberVerifiedTokens}. */
export interface RememberOptions {
  /** Tokens remembered at most (the oldest is forgotten first). @default 10000 */
  max?: number;
  /** The clock, epoch ms. @default Date.now */
  now?: () => number;
}

/**
 * Wraps a verifier so that each token's claims are remembered until the token expires. The
 * claims are frozen: callers derive new objects rather than edit a shared one.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { createUserVerifier } from "./user_token.ts";
 * import { DevIssuer } from "./dev_issuer.ts";
 * import { rememberVerifiedTokens } from "./verified_tokens.ts";
 * const issuer = await DevIssuer.fromSecret("s", "https://dev", "omnisql");
 * const verify = rememberVerifiedTokens(
 *   createUserVerifier({ issuer: "https://dev", audience: "omnisql", keys: { jwks: issuer.jwks() } }),
 * );
 * const token = await issuer.mint({ sub: "dev@acme", tenant: "acme" });
 * assert.equal(await verify(token), await verify(token));
 * ```
 */
export function rememberVerifiedTokens(
  verify: UserVerifier,
  options: RememberOptions = {},
): UserVerifier {
  const max = options.max ?? 10_000;
  const now = options.now ?? Date.now;
  const known = new Map<string, { claims: UserClaims; expiresAt: number }>();
  return async function verifyRemembered(token) {
    if (token) {
      const hit = known.get(token);
      if (hit && hit.expiresAt > now()) return hit.claims;
      if (hit) known.delete(token);
    }
    const claims = Object.freeze(await verify(token));
    const exp = typeof claims.exp === "number" ? claims.exp * 1000 : undefined;
    if (token && exp !== undefined && exp > now()) {
      if (known.size >= max) known.delete(known.keys().next().value!);
      known.set(token, { claims, expiresAt: exp });
    }
    return claims;
  };
}
