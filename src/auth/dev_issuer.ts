/**
 * The built-in dev issuer: an OIDC-style token issuer for local use, whose Ed25519 key is derived
 * from a secret so the admin CLI (another process) mints tokens the servers accept. Its JWKS is
 * served by the edge at `/.well-known/jwks.json`; production points `OIDC_JWKS_URL` at a real
 * issuer instead.
 *
 * @module
 */
import { type JWK, SignJWT } from "jose";
import type { UserClaims } from "./user_token.ts";
import { sha256Hex } from "../crypto/sha256.ts";

// PKCS#8 header of an Ed25519 private key; the 32-byte seed follows.
const ED25519_PKCS8_PREFIX = [
  0x30,
  0x2e,
  0x02,
  0x01,
  0x00,
  0x30,
  0x05,
  0x06,
  0x03,
  0x2b,
  0x65,
  0x70,
  0x04,
  0x22,
  0x04,
  0x20,
];

/** Options of {@link DevIssuer.mint}. */
export interface MintOptions {
  /** Lifetime in seconds. @default 3600 */
  ttlSeconds?: number;
}

/**
 * A token issuer for development.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { DevIssuer } from "./dev_issuer.ts";
 * const issuer = await DevIssuer.fromSecret("s3cret", "https://dev", "omnisql");
 * const jwt = await issuer.mint({ sub: "dev@acme", tenant: "acme", role: "developer", team_id: "mobile" });
 * assert.ok(jwt.split(".").length === 3);
 * ```
 */
export class DevIssuer {
  readonly issuer: string;
  readonly audience: string;
  readonly #privateKey: CryptoKey;
  readonly #publicJwk: JWK;

  private constructor(issuer: string, audience: string, privateKey: CryptoKey, publicJwk: JWK) {
    this.issuer = issuer;
    this.audience = audience;
    this.#privateKey = privateKey;
    this.#publicJwk = publicJwk;
  }

  /** Derives the issuer's key pair from a secret. */
  static async fromSecret(secret: string, issuer: string, audience: string): Promise<DevIssuer> {
    const seed = new Uint8Array(
      await crypto.subtle.digest("SHA-256", new TextEncoder().encode(`dev-issuer:${secret}`)),
    );
    const pkcs8 = new Uint8Array([...ED25519_PKCS8_PREFIX, ...seed]);
    const privateKey = await crypto.subtle.importKey("pkcs8", pkcs8, { name: "Ed25519" }, true, [
      "sign",
    ]);
    const { d: _d, key_ops: _ops, ...pub } = await crypto.subtle.exportKey("jwk", privateKey);
    const kid = (await sha256Hex(pub.x ?? "")).slice(0, 16);
    return new DevIssuer(issuer, audience, privateKey, { ...pub, kid, alg: "EdDSA", use: "sig" });
  }

  /** The public keys, as served at `/.well-known/jwks.json`. */
  jwks(): { keys: JWK[] } {
    return { keys: [this.#publicJwk] };
  }

  /** Signs a user token. */
  mint(claims: UserClaims, options: MintOptions = {}): Promise<string> {
    const { sub, ...rest } = claims;
    return new SignJWT({ ...rest })
      .setProtectedHeader({ alg: "EdDSA", kid: this.#publicJwk.kid })
      .setSubject(sub)
      .setIssuer(this.issuer)
      .setAudience(this.audience)
      .setIssuedAt()
      .setExpirationTime(`${options.ttlSeconds ?? 3600}s`)
      .sign(this.#privateKey);
  }
}
