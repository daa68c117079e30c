/**
 * How OmniSQL signs what it sends a tenant: `X-OmniSQL-Timestamp` (Unix seconds) and
 * `X-OmniSQL-Signature: v1=<hex HMAC-SHA256 of "<timestamp>.<raw body>">` under the tenant's
 * signing secret. A receiver recomputes the HMAC over the raw body, compares in constant time,
 * and refuses timestamps more than a few minutes old (which stops replays).
 *
 * @module
 */
import { hmacHex } from "../crypto/hmac.ts";

/** Header with the send time, Unix seconds. */
export const TIMESTAMP_HEADER = "X-OmniSQL-Timestamp";
/** Header with the signature. */
export const SIGNATURE_HEADER = "X-OmniSQL-Signature";

/**
 * The headers that sign `body` at `now`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { signatureHeaders } from "./signature.ts";
 * const h = await signatureHeaders("s3cret", '{"a":1}', 1_700_000_000_000);
 * assert.equal(h["X-OmniSQL-Timestamp"], "1700000000");
 * assert.match(h["X-OmniSQL-Signature"], /^v1=[0-9a-f]{64}$/);
 * ```
 */
export async function signatureHeaders(
  secret: string,
  body: string,
  now = Date.now(),
): Promise<Record<string, string>> {
  const timestamp = String(Math.floor(now / 1000));
  return {
    [TIMESTAMP_HEADER]: timestamp,
    [SIGNATURE_HEADER]: `v1=${await hmacHex(secret, `${timestamp}.${body}`)}`,
  };
}
