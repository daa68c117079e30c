/**
 * Verifying the bearer token of an end user: signature against the issuer's JWKS, issuer,
 * audience and expiry. Any failure is `UNAUTHENTICATED`, with a message that says which check
 * failed but never echoes the token.
 *
 * @module
 */
import { createLocalJWKSet, createRemoteJWKSet, errors, type JWK, jwtVerify } from "jose";
import { OmniError } from "../errors.ts";

/** The claim of the edge's context that carries a user's own app token to the worker. */
export const PASSTHROUGH_CLAIM = "passthrough_token";

/** The claims OmniSQL reads from a user token. */
export interface UserClaims {
  /** The user, usually their email. */
  sub: string;
  /** The tenant the user belongs to. */
  tenant: string;
  role?: string;
  team_id?: string | null;
  [claim: string]: unknown;
}

/** Where the verifier finds the issuer's keys. */
export type KeySource = { jwksUrl: string } | { jwks: { keys: JWK[] } };

/** Options of {@link createUserVerifier}. */
export interface UserVerifierOptions {
  issuer: string;
  audience: string;
  keys: KeySource;
}

/** Verifies a bearer token and returns its claims. */
export type UserVerifier = (token: string | undefined) => Promise<UserClaims>;

/**
 * Builds a verifier for user tokens.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { createUserVerifier } from "./user_token.ts";
 * import { DevIssuer } from "./dev_issuer.ts";
 * const issuer = await DevIssuer.fromSecret("s", "https://dev", "omnisql");
 * const verify = createUserVerifier({ issuer: "https://dev", audience: "omnisql", keys: { jwks: issuer.jwks() } });
 * const claims = await verify(await issuer.mint({ sub: "dev@acme", tenant: "acme" }));
 * assert.ok(claims.tenant === "acme");
 * ```
 */
export function createUserVerifier(options: UserVerifierOptions): UserVerifier {
  const keys = "jwksUrl" in options.keys
    ? createRemoteJWKSet(new URL(options.keys.jwksUrl))
    : createLocalJWKSet(options.keys.jwks);
  return async function verifyUserToken(token) {
    if (!token) throw new OmniError("UNAUTHENTICATED", "missing bearer token");
    try {
      const { payload } = await jwtVerify(token, keys, {
        issuer: options.issuer,
        audience: options.audience,
        algorithms: ["EdDSA", "ES256", "RS256", "PS256"],
      });
      if (typeof payload.sub !== "string" || typeof payload.tenant !== "string") {
        throw new OmniError("UNAUTHENTICATED", "token lacks the sub or tenant claim");
      }
      return payload as UserClaims;
    } catch (err) {
      if (err instanceof OmniError) throw err;
      throw new OmniError("UNAUTHENTICATED", describeJoseError(err));
    }
  };
}

function describeJoseError(err: unknown): string {
  if (err instanceof errors.JWTExpired) return "token expired";
  if (err instanceof errors.JWTClaimValidationFailed) return `token rejected: ${err.message}`;
  if (err instanceof errors.JWSSignatureVerificationFailed) return "token signature is invalid";
  if (err instanceof errors.JWKSNoMatchingKey) return "token was not signed by a known key";
  return "token is malformed or cannot be verified";
}

/** How far an issuer's clock may be behind the catalog's before a fresh token looks old. */
const CLOCK_SKEW_MS = 2_000;

/**
 * Refuses (`UNAUTHENTICATED`) a token issued before its tenant existed: a token of an earlier
 * tenant of the same id (off-boarded, then created again) must not open the new one. A token
 * without `iat` cannot tell, and is taken as it is.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { refuseTokenOlderThanTenant } from "./user_token.ts";
 * const created = new Date("2026-01-02T00:00:00Z");
 * const iat = (d: string) => Date.parse(d) / 1000;
 * assert.throws(() =>
 *   refuseTokenOlderThanTenant({ sub: "u", tenant: "t", iat: iat("2026-01-01T00:00:00Z") }, created)
 * );
 * refuseTokenOlderThanTenant({ sub: "u", tenant: "t", iat: iat("2026-01-02T00:00:01Z") }, created);
 * refuseTokenOlderThanTenant({ sub: "u", tenant: "t" }, created);
 * ```
 */
export function refuseTokenOlderThanTenant(user: UserClaims, tenantCreatedAt: Date): void {
  if (typeof user.iat === "number" && user.iat * 1000 + CLOCK_SKEW_MS < tenantCreatedAt.getTime()) {
    throw new OmniError(
      "UNAUTHENTICATED",
      `the token was issued before tenant ${user.tenant} was created: sign in again`,
    );
  }
}

/**
 * Takes the token from an `Authorization: Bearer …` header.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { bearerToken } from "./user_token.ts";
 * assert.ok(bearerToken("Bearer abc") === "abc");
 * assert.ok(bearerToken("Basic abc") === undefined);
 * ```
 */
export function bearerToken(header: string | undefined | null): string | undefined {
  const match = header?.match(/^Bearer\s+(\S+)\s*$/i);
  return match?.[1];
}
