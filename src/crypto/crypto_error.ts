/**
 * The errors of the crypto module.
 *
 * @module
 */

/** Why a {@link CryptoError} arose. */
export type CryptoErrorReason =
  /** The key the data was encrypted with no longer exists (crypto-shredded). */
  | "KEY_UNAVAILABLE"
  /** The token is not of the form `v1.<version>.<iv>.<ciphertext>`. */
  | "MALFORMED_TOKEN"
  /** Authentication failed: the token was altered, or belongs to another tenant. */
  | "DECRYPT_FAILED"
  /** The master key is not 32 bytes of base64. */
  | "INVALID_MASTER_KEY";

/**
 * A failure to encrypt or decrypt. Callers that cache encrypted data treat it as a miss; callers
 * that need the plaintext (connection credentials) map it to an `OmniError`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { CryptoError } from "./crypto_error.ts";
 * const err = new CryptoError("KEY_UNAVAILABLE", "key acme/v1 was shredded");
 * assert.ok(err.reason === "KEY_UNAVAILABLE");
 * ```
 */
export class CryptoError extends Error {
  readonly reason: CryptoErrorReason;

  constructor(reason: CryptoErrorReason, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "CryptoError";
    this.reason = reason;
  }
}
