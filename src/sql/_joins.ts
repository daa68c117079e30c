/**
 * Finds the equi-joins between two base tables that a dependent join may use: `a.x = b.y` as a
 * top-level conjunct of an INNER join's ON or of a WHERE, with neither side null-extended by an
 * outer join, and each table read exactly once in the whole query. Only then does every row of
 * `b` that matters match some fetched row of `a`, so fetching `b` with `y IN (keys of a)` keeps
 * every row the query needs.
 *
 * @module
 */
import type { ColumnDef } from "../../connectors/sdk/table.ts";
import type { Analysis, Occurrence, Scope } from "./_analyze.ts";
import { asNode, plainColumnRef } from "./_ast.ts";

/** One side of an equi-join. */
export interface JoinSide {
  /** Lower-case `schema.table`. */
  key: string;
  column: string;
}

/** An equi-join usable by a dependent join, in either direction. */
export interface EquiJoin {
  left: JoinSide;
  right: JoinSide;
}

const JOINABLE_TYPES = new Set(["text", "integer"]);

/** Lists the equi-joins between tables of the query a dependent join could exploit. */
export function equiJoins(
  analysis: Analysis,
  columnsOf: (occ: Occurrence) => ColumnDef[] | undefined,
): EquiJoin[] {
  const keyOf = (occ: Occurrence) => `${occ.ref.schema}.${occ.ref.table}`;
  const uses = new Map<string, number>();
  for (const occ of analysis.occurrences) uses.set(keyOf(occ), (uses.get(keyOf(occ)) ?? 0) + 1);
  const typeOf = (occ: Occurrence, column: string) =>
    columnsOf(occ)?.find((c) => c.name.toLowerCase() === column)?.type;

  const out: EquiJoin[] = [];
  for (const scope of analysis.scopes) {
    for (const filter of scope.filters) {
      const node = asNode(filter.conjunct);
      if (node?.type !== "binary_expr" || node.operator !== "=") continue;
      const a = resolve(scope, node.left, typeOf);
      const b = resolve(scope, node.right, typeOf);
      if (!a || !b || a.occ === b.occ || keyOf(a.occ) === keyOf(b.occ)) continue;
      if (filter.eligible.get(a.occ) !== "none" || filter.eligible.get(b.occ) !== "none") continue;
      if (uses.get(keyOf(a.occ)) !== 1 || uses.get(keyOf(b.occ)) !== 1) continue;
      const type = typeOf(a.occ, a.column);
      if (type === undefined || type !== typeOf(b.occ, b.column) || !JOINABLE_TYPES.has(type)) {
        continue;
      }
      out.push({
        left: { key: keyOf(a.occ), column: a.column },
        right: { key: keyOf(b.occ), column: b.column },
      });
    }
  }
  return out;
}

function resolve(
  scope: Scope,
  expr: unknown,
  typeOf: (occ: Occurrence, column: string) => string | undefined,
): { occ: Occurrence; column: string } | null {
  const parts = plainColumnRef(expr);
  if (!parts) return null;
  let candidates: Occurrence[];
  if (parts.qualifier.length === 0) {
    if (scope.otherNames.length > 0) return null;
    candidates = scope.tables.filter((occ) => typeOf(occ, parts.column) !== undefined);
  } else if (parts.qualifier.length === 1) {
    if (scope.otherNames.includes(parts.qualifier[0])) return null;
    candidates = scope.tables.filter((occ) => occ.name === parts.qualifier[0]);
  } else if (parts.qualifier.length === 2) {
    const [schema, table] = parts.qualifier;
    candidates = scope.tables.filter((o) =>
      o.ref.schema === schema && o.ref.table === table && o.ref.alias === null
    );
  } else return null;
  if (candidates.length !== 1 || candidates[0].renamed) return null;
  if (typeOf(candidates[0], parts.column) === undefined) return null;
  return { occ: candidates[0], column: parts.column };
}
