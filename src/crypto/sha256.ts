/**
 * SHA-256 as lower-case hex: audit chain hashes, cache keys (which never carry query values or
 * identifiers in the clear), key ids.
 *
 * @module
 */
import { createHash } from "node:crypto";

/**
 * SHA-256 of a text, hex.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { sha256Hex } from "./sha256.ts";
 * assert.ok((await sha256Hex("abc")).startsWith("ba7816bf"));
 * ```
 */
export function sha256Hex(text: string): Promise<string> {
  // Synchronous hashing: for the short texts hashed here (keys, audit rows) it costs far less
  // than WebCrypto's round trip through a promise job per call. Kept async for its callers.
  return Promise.resolve(createHash("sha256").update(text).digest("hex"));
}
