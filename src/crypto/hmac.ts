/**
 * HMAC-SHA256 over raw bytes, and verification of a hex signature in constant time
 * (`crypto.subtle.verify` compares inside WebCrypto, never with an early-exit `===`).
 *
 * @module
 */

const encoder = new TextEncoder();

function key(secret: string, usage: "sign" | "verify"): Promise<CryptoKey> {
  return crypto.subtle.importKey(
    "raw",
    encoder.encode(secret),
    { name: "HMAC", hash: "SHA-256" },
    false,
    [usage],
  );
}

/**
 * The lowercase hex HMAC-SHA256 of `data` under `secret`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { hmacHex } from "./hmac.ts";
 * assert.equal((await hmacHex("key", "data")).length, 64);
 * ```
 */
export async function hmacHex(secret: string, data: Uint8Array | string): Promise<string> {
  const bytes = typeof data === "string" ? encoder.encode(data) : data;
  const mac = await crypto.subtle.sign("HMAC", await key(secret, "sign"), bytes as BufferSource);
  return Array.from(new Uint8Array(mac), (b) => b.toString(16).padStart(2, "0")).join("");
}

/**
 * Whether `signatureHex` is the HMAC-SHA256 of `data` under `secret` (false for non-hex).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { hmacHex, verifyHmacHex } from "./hmac.ts";
 * const data = new TextEncoder().encode("body");
 * assert.ok(await verifyHmacHex("k", data, await hmacHex("k", data)));
 * assert.ok(!await verifyHmacHex("k", data, "00"));
 * ```
 */
export async function verifyHmacHex(
  secret: string,
  data: Uint8Array,
  signatureHex: string,
): Promise<boolean> {
  if (!/^[0-9a-f]{64}$/i.test(signatureHex)) return false;
  const sig = new Uint8Array(32);
  for (let i = 0; i < 32; i++) sig[i] = parseInt(signatureHex.slice(i * 2, i * 2 + 2), 16);
  return await crypto.subtle.verify("HMAC", await key(secret, "verify"), sig, data as BufferSource);
}
