/**
 * The constraint language the planner offers a table: simple predicates over one column each,
 * combined by AND. A table takes what its API can express and hands back the rest; DuckDB always
 * re-applies the query's whole WHERE clause, so pushing less never changes a result.
 *
 * @module
 */

import type { ColumnType } from "./table.ts";
import { literalTimestampMicros, rowTimestampMicros } from "./timestamp.ts";

/**
 * A literal value in a predicate, already typed the way DuckDB casts it for the column: text
 * exactly as written, numbers exact, booleans, and timestamps in one canonical ISO-8601 spelling
 * (`2025-01-06T12:39:44.000Z`, microseconds when present; see `timestamp.ts`).
 */
export type Scalar = string | number | boolean | null;

/** Comparison operators a table may accept on a column. */
export type ComparisonOp = "=" | "!=" | "<" | "<=" | ">" | ">=";

/** Every operator a predicate may carry. */
export type PredicateOp = ComparisonOp | "in" | "not in" | "is null" | "is not null" | "like";

/** One predicate over one column of one table. */
export type Predicate =
  | { column: string; op: ComparisonOp; value: Scalar }
  | { column: string; op: "in" | "not in"; values: Scalar[] }
  | { column: string; op: "is null" | "is not null" }
  | { column: string; op: "like"; pattern: string };

/**
 * Renders a predicate as SQL-like text, for EXPLAIN and the `sources[].pushdown` of a response.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { describePredicate } from "./predicate.ts";
 * assert.ok(describePredicate({ column: "status", op: "=", value: "merged" }) === "status = 'merged'");
 * ```
 */
export function describePredicate(p: Predicate): string {
  const lit = (v: Scalar) => typeof v === "string" ? `'${v.replaceAll("'", "''")}'` : String(v);
  switch (p.op) {
    case "in":
    case "not in":
      return `${p.column} ${p.op.toUpperCase()} (${p.values.map(lit).join(", ")})`;
    case "is null":
    case "is not null":
      return `${p.column} ${p.op.toUpperCase()}`;
    case "like":
      return `${p.column} LIKE ${lit(p.pattern)}`;
    default:
      return `${p.column} ${p.op} ${lit(p.value)}`;
  }
}

/**
 * Whether a row value satisfies a predicate. With the column's `type`, DuckDB's semantics: text
 * compares by code point and case-sensitively, LIKE has no escape character and `_` is one code
 * point, timestamps compare to the microsecond; a row this function cannot judge with certainty
 * (a value of another type) is *kept* — it is a pre-filter, and DuckDB re-applies the query's
 * own WHERE. Without a type, values are compared by their JavaScript shapes (ISO-8601 strings as
 * instants). A NULL never matches a comparison.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { matchesPredicate } from "./predicate.ts";
 * assert.ok(matchesPredicate({ column: "n", op: ">", value: 2 }, 3));
 * assert.ok(!matchesPredicate({ column: "n", op: "=", value: 2 }, null));
 * const at = { column: "t", op: "<", value: "2025-01-06T12:39:44.000001Z" } as const;
 * assert.ok(matchesPredicate(at, "2025-01-06T12:39:44.000Z", "timestamp"));
 * assert.ok(!matchesPredicate({ column: "s", op: "=", value: "done" }, "Done", "text"));
 * ```
 */
export function matchesPredicate(p: Predicate, value: unknown, type?: ColumnType): boolean {
  if (type !== undefined) return evaluatePredicate(p, value, type) ?? true;
  if (p.op === "is null") return value === null || value === undefined;
  if (p.op === "is not null") return value !== null && value !== undefined;
  if (value === null || value === undefined) return false;
  switch (p.op) {
    case "in":
      return p.values.some((v) => v !== null && compare(value, v) === 0);
    case "not in":
      return p.values.every((v) => v !== null && compare(value, v) !== 0);
    case "like":
      return likeToRegExp(p.pattern).test(String(value));
    case "=":
    case "!=":
    case "<":
    case "<=":
    case ">":
    case ">=":
      return p.value !== null && holds(p.op, compare(value, p.value));
  }
}

/**
 * DuckDB's verdict on a row value for a predicate over a column of `type`: true or false, or
 * `undefined` when the value or literal is not of a shape whose verdict is certain.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { evaluatePredicate } from "./predicate.ts";
 * assert.equal(evaluatePredicate({ column: "s", op: "<", value: "\uffff" }, "🚀", "text"), false);
 * assert.equal(evaluatePredicate({ column: "s", op: "like", pattern: "_" }, "🚀", "text"), true);
 * assert.equal(evaluatePredicate({ column: "n", op: "=", value: "3" }, 3, "integer"), undefined);
 * ```
 */
export function evaluatePredicate(
  p: Predicate,
  value: unknown,
  type: ColumnType,
): boolean | undefined {
  const isNull = value === null || value === undefined;
  if (p.op === "is null") return isNull;
  if (p.op === "is not null") return !isNull;
  if (isNull) return false;
  const cmp = (literal: Scalar): number | undefined =>
    literal === null ? undefined : typedCompare(type, value, literal);
  switch (p.op) {
    case "like":
      return type === "text" && typeof value === "string"
        ? likeToRegExp(p.pattern).test(value)
        : undefined;
    case "in":
    case "not in": {
      // NULL in a list: `IN` ignores it, `NOT IN` is never true.
      if (p.op === "not in" && p.values.includes(null)) return false;
      // A long list of text keys (a dependent join's) is a set lookup per row.
      const texts = type === "text" && typeof value === "string" ? textSet(p.values) : undefined;
      if (texts) return p.op === "in" ? texts.has(value as string) : !texts.has(value as string);
      let found = false;
      for (const v of p.values) {
        if (v === null) continue;
        const c = cmp(v);
        if (c === undefined) return undefined;
        if (c === 0) found = true;
      }
      return p.op === "in" ? found : !found;
    }
    case "=":
    case "!=":
    case "<":
    case "<=":
    case ">":
    case ">=": {
      const c = cmp(p.value);
      return c === undefined ? undefined : holds(p.op, c);
    }
  }
}

function holds(op: "=" | "!=" | "<" | "<=" | ">" | ">=", c: number): boolean {
  switch (op) {
    case "=":
      return c === 0;
    case "!=":
      return c !== 0;
    case "<":
      return c < 0;
    case "<=":
      return c <= 0;
    case ">":
      return c > 0;
    case ">=":
      return c >= 0;
  }
}

/** Compares a row value with a typed literal as DuckDB would, or undefined when unsure. */
function typedCompare(type: ColumnType, value: unknown, literal: Scalar): number | undefined {
  switch (type) {
    case "text":
      return typeof value === "string" && typeof literal === "string"
        ? codePointCompare(value, literal)
        : undefined;
    case "integer":
      if (typeof value !== "number" || !Number.isSafeInteger(value)) return undefined;
      return typeof literal === "number" ? Math.sign(value - literal) : undefined;
    case "double":
      if (typeof value !== "number" || !Number.isFinite(value)) return undefined;
      return typeof literal === "number" ? Math.sign(value - literal) : undefined;
    case "boolean":
      return typeof value === "boolean" && typeof literal === "boolean"
        ? Number(value) - Number(literal)
        : undefined;
    case "timestamp": {
      const a = rowTimestampMicros(value);
      const b = typeof literal === "string" ? literalTimestampMicros(literal) : undefined;
      return a === undefined || b === undefined ? undefined : a < b ? -1 : a > b ? 1 : 0;
    }
    default:
      return undefined;
  }
}

/**
 * Code point order: DuckDB compares VARCHARs by their UTF-8 bytes, which is the same. At the
 * first UTF-16 unit that differs, the code points there decide (a surrogate pair's code point is
 * above every unit of the basic plane; after equal high surrogates, the low ones order alike).
 */
function codePointCompare(a: string, b: string): number {
  if (a === b) return 0;
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    if (a.charCodeAt(i) !== b.charCodeAt(i)) return a.codePointAt(i)! < b.codePointAt(i)! ? -1 : 1;
  }
  return a.length < b.length ? -1 : 1;
}

const TEXT_SETS = new WeakMap<readonly Scalar[], Set<string> | null>();

/** The list's values as a set, when every one is text or NULL (else null: compared one by one). */
function textSet(values: readonly Scalar[]): Set<string> | null {
  let set = TEXT_SETS.get(values);
  if (set === undefined) {
    set = values.every((v) => v === null || typeof v === "string")
      ? new Set(values.filter((v): v is string => v !== null))
      : null;
    TEXT_SETS.set(values, set);
  }
  return set;
}

const ISO_TIMESTAMP = /^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?)?(Z|[+-]\d{2}:?\d{2})?$/;

function compare(a: unknown, b: Scalar): number {
  if (typeof a === "number" && typeof b === "number") return a - b;
  if (
    typeof a === "string" && typeof b === "string" && ISO_TIMESTAMP.test(a) && ISO_TIMESTAMP.test(b)
  ) {
    // Timestamps compare as instants, to the microsecond, whatever their spelling.
    const x = rowTimestampMicros(a), y = rowTimestampMicros(b);
    if (x !== undefined && y !== undefined) return x < y ? -1 : x > y ? 1 : 0;
  }
  if (typeof a === "boolean" || typeof b === "boolean") return String(a) === String(b) ? 0 : 1;
  const x = String(a), y = String(b);
  return x < y ? -1 : x > y ? 1 : 0;
}

/** LIKE as DuckDB reads it: `%` any run, `_` one code point, no escape character. */
function likeToRegExp(pattern: string): RegExp {
  let re = "";
  for (const ch of pattern) {
    if (ch === "%") re += "[\\s\\S]*";
    else if (ch === "_") re += "[\\s\\S]";
    else re += ch.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
  }
  return new RegExp(`^${re}$`, "u");
}
