/**
 * Masking a column's values before DuckDB sees them. The masked value replaces the original in the
 * materialized table, so no SQL over it (aliases, functions, joins, probes) can recover it.
 *
 * @module
 */
import { createHash } from "node:crypto";
import type { ColumnType } from "../../connectors/sdk/table.ts";
import type { MaskKind } from "./rule.ts";

/** What `redact` puts in a text column. */
export const REDACTED = "[HIDDEN]";

const EMAIL = /^[^@\s]+@([^@\s]+)$/;

/**
 * Masks one value of a column of the given type:
 * - `sha256`: an email becomes `sha256(email)[:8] + "****@" + domain` (so equal emails still
 *   join and group); other text becomes the first 16 hex digits of its SHA-256; NULL stays NULL.
 * - `redact`: text becomes `[HIDDEN]` (NULL included, so not even presence shows).
 * - `null`: NULL.
 *
 * A value of a non-text column cannot hold a masked string: it becomes NULL under every mask.
 *
 * @example
 * ```ts
 * import { maskValue } from "./mask.ts";
 * const masked = String(maskValue("sha256", "text", "ana@acme.com"));
 * console.assert(/^[0-9a-f]{8}\*{4}@acme\.com$/.test(masked));
 * console.assert(maskValue("redact", "text", "ana") === "[HIDDEN]");
 * console.assert(maskValue("sha256", "integer", 42) === null);
 * ```
 */
export function maskValue(kind: MaskKind, type: ColumnType, value: unknown): unknown {
  if (kind === "null" || type !== "text") return null;
  if (kind === "redact") return REDACTED;
  if (value === null || value === undefined) return null;
  const text = String(value);
  const email = EMAIL.exec(text);
  const digest = createHash("sha256").update(text).digest("hex");
  return email ? `${digest.slice(0, 8)}****@${email[1]}` : digest.slice(0, 16);
}
