/**
 * The constraint language the planner offers a table: simple predicates over one column each,
 * combined by AND. A table takes what its API can express and hands back the rest; DuckDB always
 * re-applies the query's whole WHERE clause, so pushing less never changes a result.
 *
 * @module
 */

/** A literal value in a predicate. Timestamps arrive as ISO-8601 strings. */
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
 * import { describePredicate } from "./predicate.ts";
 * console.assert(describePredicate({ column: "status", op: "=", value: "merged" }) === "status = 'merged'");
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
 * Whether a row value satisfies a predicate, with SQL semantics (a NULL never matches a
 * comparison). Used where the SDK must filter fetched rows itself, e.g. a looser native filter.
 *
 * @example
 * ```ts
 * import { matchesPredicate } from "./predicate.ts";
 * console.assert(matchesPredicate({ column: "n", op: ">", value: 2 }, 3));
 * console.assert(!matchesPredicate({ column: "n", op: "=", value: 2 }, null));
 * ```
 */
export function matchesPredicate(p: Predicate, value: unknown): boolean {
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
      return p.value !== null && compare(value, p.value) === 0;
    case "!=":
      return p.value !== null && compare(value, p.value) !== 0;
    case "<":
      return p.value !== null && compare(value, p.value) < 0;
    case "<=":
      return p.value !== null && compare(value, p.value) <= 0;
    case ">":
      return p.value !== null && compare(value, p.value) > 0;
    case ">=":
      return p.value !== null && compare(value, p.value) >= 0;
  }
}

const ISO_TIMESTAMP = /^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?)?(Z|[+-]\d{2}:?\d{2})?$/;

function compare(a: unknown, b: Scalar): number {
  if (typeof a === "number" && typeof b === "number") return a - b;
  if (
    typeof a === "string" && typeof b === "string" && ISO_TIMESTAMP.test(a) && ISO_TIMESTAMP.test(b)
  ) {
    // Timestamps compare as instants: "…06Z" and "…06.000Z" are equal, whatever their spelling.
    const x = Date.parse(a.includes("T") || a.length <= 10 ? a : a.replace(" ", "T"));
    const y = Date.parse(b.includes("T") || b.length <= 10 ? b : b.replace(" ", "T"));
    if (!Number.isNaN(x) && !Number.isNaN(y)) return x - y;
  }
  if (typeof a === "boolean" || typeof b === "boolean") return String(a) === String(b) ? 0 : 1;
  const x = String(a), y = String(b);
  return x < y ? -1 : x > y ? 1 : 0;
}

function likeToRegExp(pattern: string): RegExp {
  let re = "";
  for (const ch of pattern) {
    if (ch === "%") re += "[\\s\\S]*";
    else if (ch === "_") re += "[\\s\\S]";
    else re += ch.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
  }
  return new RegExp(`^${re}$`);
}
