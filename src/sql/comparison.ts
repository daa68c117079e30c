/**
 * Comparison operators as SQL (and policy expressions) write them, read into the predicate
 * vocabulary connectors take.
 *
 * @module
 */
import type { ComparisonOp } from "../../connectors/sdk/predicate.ts";

/**
 * The comparison that holds with its operands swapped: `5 < n` is `n > 5`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { SWAPPED } from "./comparison.ts";
 * assert.equal(SWAPPED["<"], ">");
 * ```
 */
export const SWAPPED: Readonly<Record<ComparisonOp, ComparisonOp>> = {
  "=": "=",
  "!=": "!=",
  "<": ">",
  "<=": ">=",
  ">": "<",
  ">=": "<=",
};

/**
 * The comparison an operator's text names (`<>` is `!=`), or null when it names none.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { comparisonOp } from "./comparison.ts";
 * assert.equal(comparisonOp("<>"), "!=");
 * assert.equal(comparisonOp("LIKE"), null);
 * ```
 */
export function comparisonOp(op: string): ComparisonOp | null {
  // SWAPPED has one key per comparison.
  if (Object.hasOwn(SWAPPED, op)) return op as ComparisonOp;
  return op === "<>" ? "!=" : null;
}
