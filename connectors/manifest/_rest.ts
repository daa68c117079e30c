/**
 * REST requests from a manifest: predicates to query parameters (URL-encoded by the SDK's
 * client, never spliced into the path), and the page loop of each pagination style.
 *
 * @module
 */
import type { Predicate, QueryParams } from "../sdk/mod.ts";
import type { ColumnSpec, RestFilterSpec } from "./manifest.ts";
import { literalFits, wholeMilliseconds } from "./_values.ts";

/** One predicate as query parameters, and whether the API applies it exactly. */
export interface ParamPiece {
  params: QueryParams;
  exact: boolean;
}

/**
 * Translates a predicate into the table's query parameters, or `null` when no filter of the
 * manifest expresses it.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { predicateParams } from "./_rest.ts";
 * const col = { name: "status", type: "text" as const, description: "", path: "status" };
 * const filters = [{ column: "status", op: "in" as const, param: "status", join: ",", exact: true }];
 * const piece = predicateParams(filters, col, { column: "status", op: "in", values: ["a", "b"] });
 * assert.ok(piece?.params.status === "a,b");
 * ```
 */
export function predicateParams(
  filters: RestFilterSpec[],
  column: ColumnSpec,
  predicate: Predicate,
): ParamPiece | null {
  const p = column.type === "timestamp" ? wholeMilliseconds(predicate) : predicate;
  if (!p) return null;
  const text = (v: unknown) => String(v);
  for (const f of filters) {
    if (f.column !== p.column) continue;
    if (p.op === "in" && f.op === "in") {
      if (
        p.values.length === 0 || !p.values.every((v) => v !== null && literalFits(v, column.type))
      ) {
        continue;
      }
      const values = p.values.map(text);
      return {
        params: { [f.param]: f.join === "repeat" ? values : values.join(f.join) },
        exact: f.exact,
      };
    }
    if (p.op === "=" && f.op === "in") {
      if (p.value === null || !literalFits(p.value, column.type)) continue;
      return { params: { [f.param]: text(p.value) }, exact: f.exact };
    }
    if (
      f.op === p.op && (p.op === "=" || p.op === "!=" || p.op === "<" || p.op === "<=" ||
        p.op === ">" || p.op === ">=")
    ) {
      if (p.value === null || !literalFits(p.value, column.type)) continue;
      return { params: { [f.param]: text(p.value) }, exact: f.exact };
    }
  }
  return null;
}
