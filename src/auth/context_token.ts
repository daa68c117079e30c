/**
 * The edge → worker context token: a short-lived JWT the edge signs after it has authenticated
 * the user, carrying the tenant, the user's attributes, the target zone and the trace id. A worker
 * accepts no forwarded request without one, and only for its own zone.
 *
 * @module
 */
import { jwtVerify, SignJWT } from "jose";
import { OmniError } from "../errors.ts";
import type { UserClaims } from "./user_token.ts";

/** What the edge vouches for. */
export interface QueryContext {
  user: UserClaims;
  zone: string;
  traceId: string;
  /** The door the query came in by at the edge (`http`, `pg`, `mcp`). @default "http" */
  door?: string;
}

const ISSUER = "omnisql-edge";

/** The header that carries the edge's signed context to a worker. */
export const CONTEXT_HEADER = "x-omnisql-context";

/**
 * Signs and verifies context tokens with a shared secret.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { ContextTokens } from "./context_token.ts";
 * const tokens = new ContextTokens("an-internal-secret-of-32-chars!!");
 * const jwt = await tokens.sign({ user: { sub: "u", tenant: "acme" }, zone: "us", traceId: "t" });
 * const ctx = await tokens.verify(jwt, "us");
 * assert.ok(ctx.user.tenant === "acme");
 * ```
 */
export class ContextTokens {
  /**
   * The secret as an HMAC key, imported once: given raw bytes, jose imports them again for
   * every token signed and every token verified (a hop's worth of WebCrypto work each time).
   */
  readonly #key: Promise<CryptoKey>;

  constructor(secret: string) {
    if (secret.length < 16) throw new Error("the internal secret must be at least 16 characters");
    this.#key = crypto.subtle.importKey(
      "raw",
      new TextEncoder().encode(secret),
      { name: "HMAC", hash: "SHA-256" },
      false,
      ["sign", "verify"],
    );
  }

  /** Signs a context valid for 60 seconds, for one zone. */
  async sign(ctx: QueryContext): Promise<string> {
    return await new SignJWT({ user: ctx.user, trace_id: ctx.traceId, door: ctx.door ?? "http" })
      .setProtectedHeader({ alg: "HS256" })
      .setIssuer(ISSUER)
      .setAudience(`omnisql-zone:${ctx.zone}`)
      .setIssuedAt()
      .setExpirationTime("60s")
      .sign(await this.#key);
  }

  /** Verifies a context for this worker's zone; anything else is `UNAUTHENTICATED`. */
  async verify(token: string | undefined, zone: string): Promise<QueryContext> {
    if (!token) throw new OmniError("UNAUTHENTICATED", "missing context token");
    try {
      const { payload } = await jwtVerify(token, await this.#key, {
        issuer: ISSUER,
        audience: `omnisql-zone:${zone}`,
        algorithms: ["HS256"],
      });
      const user = payload.user as UserClaims | undefined;
      if (!user || typeof user.sub !== "string" || typeof user.tenant !== "string") {
        throw new OmniError("UNAUTHENTICATED", "context token lacks a user");
      }
      const door = typeof payload.door === "string" ? payload.door : "http";
      return { user, zone, traceId: String(payload.trace_id ?? ""), door };
    } catch (err) {
      if (err instanceof OmniError) throw err;
      throw new OmniError("UNAUTHENTICATED", `context token rejected for zone ${zone}`);
    }
  }
}
