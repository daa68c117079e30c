/**
 * SHA-256 as lower-case hex: audit chain hashes, cache keys (which never carry query values or
 * identifiers in the clear), key ids.
 *
 * @module
 */

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
export async function sha256Hex(text: string): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text));
  return Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, "0")).join("");
}
