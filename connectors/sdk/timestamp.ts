/**
 * Timestamps the way DuckDB reads them, so that a pushed filter selects what DuckDB would.
 *
 * - A **literal** compared with a `timestamp` column is cast to DuckDB's `TIMESTAMP`: microsecond
 *   precision (extra digits truncated), and a UTC offset written in it (`+02:00`, `-0330`,
 *   ` UTC`) is *ignored*, not applied — `'2025-01-01T12:00:00+02:00'` is 12:00. The planner
 *   turns such literals into one canonical spelling ({@link canonicalTimestamp}) before offering
 *   them, so a connector only ever sees `YYYY-MM-DDTHH:MM:SS.mmm[uuu]Z`.
 * - A **row value** (what a connector fetched) is loaded as the instant it names: an offset in it
 *   is applied, as the DuckDB ingest does ({@link rowTimestampMicros}).
 *
 * Connectors hold millisecond values; {@link millisecondBound} rewrites a comparison with a
 * microsecond literal into the equivalent one on milliseconds.
 *
 * @module
 */

/** Microseconds in a millisecond, a second, a day. */
const MS = 1000n, SECOND = 1_000_000n, DAY = 86_400_000_000n;

// DuckDB's cast grammar (checked against DuckDB 1.4): `Y-M-D`, then optionally `T` or a space
// and `HH:MM[:SS[.fraction]]`; after seconds (only then), optionally `Z`, ` UTC` or an offset
// `±HH[[:]MM]`.
const LITERAL =
  /^\s*(\d{4})-(\d{1,2})-(\d{1,2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d+))?(?:Z| UTC|[+-]\d{2}(?::?\d{2})?)?)?)?\s*$/;

/**
 * Microseconds since the epoch of a timestamp literal as DuckDB casts it to `TIMESTAMP` (offset
 * ignored, fraction truncated to microseconds), or `undefined` when the text is not a spelling
 * this function is sure DuckDB reads the same way (the caller then pushes nothing).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { literalTimestampMicros } from "./timestamp.ts";
 * const noon = literalTimestampMicros("2025-01-01 12:00:00");
 * assert.equal(literalTimestampMicros("2025-01-01T12:00:00+02:00"), noon);
 * assert.equal(literalTimestampMicros("2025-01-01T12:00:00.0000019Z"), noon! + 1n);
 * assert.equal(literalTimestampMicros("2025-02-30"), undefined);
 * ```
 */
export function literalTimestampMicros(text: string): bigint | undefined {
  const m = LITERAL.exec(text);
  if (!m) return undefined;
  const [, y, mo, d, hh = "0", mi = "0", ss = "0", frac = ""] = m;
  const year = Number(y), month = Number(mo), day = Number(d);
  const hour = Number(hh), minute = Number(mi), second = Number(ss);
  // Date.UTC maps years 0–99 to 1900–1999: such years are not pushed.
  if (year < 100 || month < 1 || month > 12 || day < 1) return undefined;
  if (day > new Date(Date.UTC(year, month, 0)).getUTCDate()) return undefined;
  const fraction = BigInt((frac + "000000").slice(0, 6));
  // `24:00:00` is the next midnight; any other hour past 23 is an error in DuckDB.
  if (hour === 24 && (minute > 0 || second > 0 || fraction > 0n)) return undefined;
  if (hour > 24 || minute > 59 || second > 59) return undefined;
  const date = BigInt(Date.UTC(year, month - 1, day)) * MS;
  return date + BigInt(hour) * 3_600n * SECOND + BigInt(minute) * 60n * SECOND +
    BigInt(second) * SECOND + fraction;
}

/**
 * The one spelling a timestamp predicate value carries: ISO-8601 in UTC with milliseconds, and
 * three more digits only when there are microseconds.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { canonicalTimestamp, literalTimestampMicros } from "./timestamp.ts";
 * assert.equal(canonicalTimestamp(literalTimestampMicros("2025-1-6 12:39:44")!), "2025-01-06T12:39:44.000Z");
 * assert.equal(canonicalTimestamp(literalTimestampMicros("2025-01-06T12:39:44.000001Z")!),
 *   "2025-01-06T12:39:44.000001Z");
 * ```
 */
export function canonicalTimestamp(micros: bigint): string {
  const ms = floorDiv(micros, MS);
  const sub = micros - ms * MS;
  const iso = new Date(Number(ms)).toISOString();
  return sub === 0n ? iso : `${iso.slice(0, -1)}${sub.toString().padStart(3, "0")}Z`;
}

const ROW =
  /^(\d{4,6})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:[.,](\d+))?)?)?\s*(Z|z|[+-]\d{2}(?::?\d{2})?)?$/;

/**
 * Microseconds since the epoch of a fetched row value, read as the DuckDB ingest reads it (an
 * offset is applied; a bare value is UTC; a number is epoch milliseconds), or `undefined` when
 * the value is not one this function reads with certainty.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { rowTimestampMicros } from "./timestamp.ts";
 * assert.equal(rowTimestampMicros("2025-01-01T12:00:00+02:00"), rowTimestampMicros("2025-01-01T10:00:00Z"));
 * assert.equal(rowTimestampMicros("2025-01-01T10:00:00.000+0000"), 1735725600000000n);
 * ```
 */
export function rowTimestampMicros(value: unknown): bigint | undefined {
  if (typeof value === "number") {
    return Number.isFinite(value) ? BigInt(Math.round(value * 1000)) : undefined;
  }
  if (typeof value !== "string") return undefined;
  const m = ROW.exec(value.trim());
  if (!m) return undefined;
  const [, y, mo, d, hh = "0", mi = "0", ss = "0", frac = "", zone] = m;
  const month = Number(mo), day = Number(d), hour = Number(hh), minute = Number(mi);
  const second = Number(ss);
  if (month < 1 || month > 12 || day < 1 || day > 31 || hour > 24 || minute > 59 || second > 60) {
    return undefined;
  }
  const date = new Date(0);
  date.setUTCFullYear(Number(y), month - 1, day);
  date.setUTCHours(hour, minute, second, 0);
  let micros = BigInt(date.getTime()) * MS + BigInt((frac + "000000").slice(0, 6));
  if (zone && zone !== "Z" && zone !== "z") {
    const sign = zone[0] === "-" ? -1n : 1n;
    const digits = zone.slice(1).replace(":", "");
    const minutes = BigInt(Number(digits.slice(0, 2)) * 60 + Number(digits.slice(2, 4) || "0"));
    micros -= sign * minutes * 60n * SECOND;
  }
  return micros;
}

/** A comparison rewritten for values of a coarser precision. */
export type Bound =
  | { kind: "compare"; op: "=" | "!=" | "<" | "<=" | ">" | ">="; ms: number }
  /** No value of that precision satisfies it (e.g. `= 12:00:00.0005` on milliseconds). */
  | { kind: "none" }
  /** Every non-null value satisfies it (e.g. `!= 12:00:00.0005` on milliseconds). */
  | { kind: "all" };

/**
 * Rewrites `value op literal` (a canonical timestamp literal) into an equivalent comparison for
 * values that are whole milliseconds — exactly, not as a widening: `< 12:39:44.000001` becomes
 * `<= 12:39:44.000`, `= 12:39:44.000001` matches nothing. `undefined` for an unreadable literal.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { millisecondBound } from "./timestamp.ts";
 * const b = millisecondBound("<", "2025-01-06T12:39:44.000001Z");
 * assert.deepEqual(b, { kind: "compare", op: "<=", ms: Date.parse("2025-01-06T12:39:44.000Z") });
 * assert.deepEqual(millisecondBound("=", "2025-01-06T12:39:44.000001Z"), { kind: "none" });
 * ```
 */
export function millisecondBound(
  op: "=" | "!=" | "<" | "<=" | ">" | ">=",
  literal: string,
): Bound | undefined {
  const micros = literalTimestampMicros(literal);
  if (micros === undefined) return undefined;
  const floor = floorDiv(micros, MS);
  const aligned = floor * MS === micros;
  const at = (ms: bigint, o: typeof op): Bound => ({ kind: "compare", op: o, ms: Number(ms) });
  if (aligned) return at(floor, op);
  switch (op) {
    case "=":
      return { kind: "none" };
    case "!=":
      return { kind: "all" };
    case "<": // v < L ⟺ v ≤ floor(L) ⟺ v < floor(L) + 1 ms
    case "<=":
      return at(floor, "<=");
    case ">": // v > L ⟺ v ≥ floor(L) + 1 ms
    case ">=":
      return at(floor + 1n, ">=");
  }
}

/**
 * Whether a microsecond instant is whole at a unit (`"second"`, `"day"`): a pushed bound at a
 * coarser precision is exact only then.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { isWhole } from "./timestamp.ts";
 * assert.ok(isWhole(86_400_000_000n, "day"));
 * assert.ok(!isWhole(1_500_000n, "second"));
 * ```
 */
export function isWhole(micros: bigint, unit: "second" | "day"): boolean {
  return micros % (unit === "second" ? SECOND : DAY) === 0n;
}

function floorDiv(a: bigint, b: bigint): bigint {
  const q = a / b;
  return a % b !== 0n && (a < 0n) !== (b < 0n) ? q - 1n : q;
}
