/**
 * Masking a column's values before DuckDB sees them. The masked value replaces the original in the
 * materialized table, so no SQL over it (aliases, functions, joins, probes) can recover it. Hash
 * masks are keyed (HMAC-SHA-256 with the tenant's mask key): an unkeyed hash let a user compute
 * the mask of a guess (`substr(sha256('x@acme.example'), 1, 8)`) or of another, unmasked column,
 * and so recover the values.
 *
 * @module
 */
import { createHmac } from "node:crypto";
import type { ColumnType } from "../../connectors/sdk/table.ts";
import type { MaskKind } from "./rule.ts";

/** What `redact` puts in a text column. */
export const REDACTED = "[HIDDEN]";

const EMAIL = /^[^@\s]+@([^@\s]+)$/;

/**
 * Masks one value of a column of the given type:
 * - `sha256`: an email becomes `hmac(key, email)[:8] + "****@" + domain` (so equal emails still
 *   join and group within the tenant); other text becomes the first 16 hex digits of its
 *   HMAC-SHA-256; NULL stays NULL. `key` is the tenant's mask key (`KeyRing.maskKey`).
 * - `redact`: text becomes `[HIDDEN]` (NULL included, so not even presence shows).
 * - `null`: NULL.
 *
 * A value of a non-text column cannot hold a masked string: it becomes NULL under every mask.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { maskValue } from "./mask.ts";
 * const key = new Uint8Array(32).fill(7);
 * const masked = String(maskValue("sha256", "text", "ana@acme.com", key));
 * assert.match(masked, /^[0-9a-f]{8}\*{4}@acme\.com$/);
 * assert.equal(maskValue("sha256", "text", "ana@acme.com", key), masked);
 * assert.notEqual(maskValue("sha256", "text", "ana@acme.com", new Uint8Array(32)), masked);
 * assert.equal(maskValue("redact", "text", "ana"), "[HIDDEN]");
 * assert.equal(maskValue("sha256", "integer", 42, key), null);
 * ```
 */
export function maskValue(
  kind: MaskKind,
  type: ColumnType,
  value: unknown,
  key?: Uint8Array,
): unknown {
  if (kind === "null" || type !== "text") return null;
  if (kind === "redact") return REDACTED;
  if (value === null || value === undefined) return null;
  // Without the tenant's key a hash mask would be computable by anyone: refuse, never fall back.
  if (!key) throw new Error("a hash mask needs the tenant's mask key");
  const text = String(value);
  const email = EMAIL.exec(text);
  const digest = createHmac("sha256", key).update(text).digest("hex");
  return email ? `${digest.slice(0, 8)}****@${email[1]}` : digest.slice(0, 16);
}
