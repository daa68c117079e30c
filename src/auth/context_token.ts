/**
 * The edge → worker context token: a short-lived JWT the edge signs after it has authenticated
 * the user, carrying the tenant, the user's attributes, the target zone and the trace id. A worker
 * accepts no forwarded request without one, only for its own zone, and only with the request it
 * was signed for (method, path and body, by digest): a token seen on the wire cannot carry other
 * SQL. A user's own app token (the passthrough claim) travels encrypted in it, not just signed.
 *
 * @module
 */
import { jwtVerify, SignJWT } from "jose";
import { OmniError } from "../errors.ts";
import { PASSTHROUGH_CLAIM, type UserClaims } from "./user_token.ts";

/** What the edge vouches for. */
export interface QueryContext {
  user: UserClaims;
  zone: string;
  traceId: string;
  /** The door the query came in by at the edge (`http`, `pg`, `mcp`). @default "http" */
  door?: string;
}

/** The one request a context token is signed for. */
export interface BoundRequest {
  method: string;
  /** The URL's path, without its query. */
  path: string;
  /** The body's bytes (JSON text), if any. */
  body?: Uint8Array | string;
}

/** Claim holding the passthrough token, sealed. */
const SEALED_PASSTHROUGH = "passthrough_sealed";

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
 * const request = { method: "POST", path: "/internal/v1/query", body: '{"sql":"SELECT 1"}' };
 * const ctx = { user: { sub: "u", tenant: "acme" }, zone: "us", traceId: "t" };
 * const jwt = await tokens.sign(ctx, request);
 * assert.equal((await tokens.verify(jwt, "us", request)).user.tenant, "acme");
 * await assert.rejects(tokens.verify(jwt, "us", { ...request, body: '{"sql":"SELECT 2"}' }));
 * ```
 */
export class ContextTokens {
  /**
   * The secret as an HMAC key, imported once: given raw bytes, jose imports them again for
   * every token signed and every token verified (a hop's worth of WebCrypto work each time).
   */
  readonly #key: Promise<CryptoKey>;
  /** Seals the passthrough claim: derived from the same secret, for encryption only. */
  readonly #sealKey: Promise<CryptoKey>;

  constructor(secret: string) {
    if (secret.length < 16) throw new Error("the internal secret must be at least 16 characters");
    const raw = new TextEncoder().encode(secret);
    this.#key = crypto.subtle.importKey("raw", raw, { name: "HMAC", hash: "SHA-256" }, false, [
      "sign",
      "verify",
    ]);
    this.#sealKey = crypto.subtle.importKey("raw", raw, "HKDF", false, ["deriveKey"]).then((base) =>
      crypto.subtle.deriveKey(
        {
          name: "HKDF",
          hash: "SHA-256",
          salt: new Uint8Array(),
          info: new TextEncoder().encode("omnisql context passthrough"),
        },
        base,
        { name: "AES-GCM", length: 256 },
        false,
        ["encrypt", "decrypt"],
      )
    );
  }

  /** Signs a context valid for 60 seconds, for one zone and the one request it goes with. */
  async sign(ctx: QueryContext, request: BoundRequest): Promise<string> {
    const { [PASSTHROUGH_CLAIM]: passthrough, ...user } = ctx.user;
    return await new SignJWT({
      user,
      ...(typeof passthrough === "string"
        ? { [SEALED_PASSTHROUGH]: await this.#seal(passthrough) }
        : {}),
      trace_id: ctx.traceId,
      door: ctx.door ?? "http",
      req: await requestDigest(request),
    })
      .setProtectedHeader({ alg: "HS256" })
      .setIssuer(ISSUER)
      .setAudience(`omnisql-zone:${ctx.zone}`)
      .setIssuedAt()
      .setExpirationTime("60s")
      .sign(await this.#key);
  }

  /**
   * Verifies a context for this worker's zone and `request` (its body, when a function, is read
   * only once the signature holds); anything else is `UNAUTHENTICATED`.
   */
  async verify(
    token: string | undefined,
    zone: string,
    request: Omit<BoundRequest, "body"> & {
      body?: BoundRequest["body"] | (() => Promise<Uint8Array>);
    },
  ): Promise<QueryContext> {
    if (!token) throw new OmniError("UNAUTHENTICATED", "missing context token");
    let payload: Record<string, unknown>;
    try {
      ({ payload } = await jwtVerify(token, await this.#key, {
        issuer: ISSUER,
        audience: `omnisql-zone:${zone}`,
        algorithms: ["HS256"],
      }));
    } catch {
      throw new OmniError("UNAUTHENTICATED", `context token rejected for zone ${zone}`);
    }
    const user = payload.user as UserClaims | undefined;
    if (!user || typeof user.sub !== "string" || typeof user.tenant !== "string") {
      throw new OmniError("UNAUTHENTICATED", "context token lacks a user");
    }
    const body = typeof request.body === "function" ? await request.body() : request.body;
    if (payload.req !== await requestDigest({ ...request, body })) {
      throw new OmniError("UNAUTHENTICATED", "the context token was signed for another request");
    }
    const sealed = payload[SEALED_PASSTHROUGH];
    if (typeof sealed === "string") {
      try {
        user[PASSTHROUGH_CLAIM] = await this.#open(sealed);
      } catch {
        throw new OmniError("UNAUTHENTICATED", "context token rejected: its sealed claim");
      }
    }
    const door = typeof payload.door === "string" ? payload.door : "http";
    return { user, zone, traceId: String(payload.trace_id ?? ""), door };
  }

  async #seal(text: string): Promise<string> {
    const iv = crypto.getRandomValues(new Uint8Array(12));
    const sealed = new Uint8Array(
      await crypto.subtle.encrypt(
        { name: "AES-GCM", iv },
        await this.#sealKey,
        new TextEncoder().encode(text),
      ),
    );
    return base64Url(concatBytes(iv, sealed));
  }

  async #open(sealed: string): Promise<string> {
    const bytes = Uint8Array.from(
      atob(sealed.replaceAll("-", "+").replaceAll("_", "/")),
      (c) => c.charCodeAt(0),
    );
    const plain = await crypto.subtle.decrypt(
      { name: "AES-GCM", iv: bytes.subarray(0, 12) },
      await this.#sealKey,
      bytes.subarray(12),
    );
    return new TextDecoder().decode(plain);
  }
}

/** SHA-256 of `METHOD path\n` and the body's bytes, base64url. */
async function requestDigest(request: BoundRequest): Promise<string> {
  const encoder = new TextEncoder();
  const head = encoder.encode(`${request.method.toUpperCase()} ${request.path}\n`);
  const body = typeof request.body === "string"
    ? encoder.encode(request.body)
    : request.body ?? new Uint8Array();
  return base64Url(new Uint8Array(await crypto.subtle.digest("SHA-256", concatBytes(head, body))));
}

function concatBytes(a: Uint8Array, b: Uint8Array): Uint8Array<ArrayBuffer> {
  const out = new Uint8Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
}

function base64Url(bytes: Uint8Array): string {
  let text = "";
  for (const byte of bytes) text += String.fromCharCode(byte);
  return btoa(text).replaceAll("+", "-").replaceAll("/", "_").replace(/=+$/, "");
}
