/**
 * The query-level half of ORDER BY / LIMIT pushdown: whether a statement is a plain single-table
 * SELECT whose LIMIT (plus OFFSET) a source could apply, and which expression each ORDER BY key
 * sorts by. Read once while the statement is analysed; `offers.ts` then resolves the keys to the
 * table's columns (that half needs the catalog).
 *
 * @module
 */
import { asArray, asNode, columnRefParts, identText, literalOf, type Node } from "./_ast.ts";

/** One ORDER BY key: the expression it sorts by (ordinals and output names resolved). */
export interface SortExpr {
  expr: unknown;
  direction: "asc" | "desc";
}

/** A LIMIT a single-table query lets its source apply, and the order that comes with it. */
export interface TopN {
  /** LIMIT plus OFFSET: the rows the source must return for DuckDB to cut the same page. */
  limit: number;
  /** Empty when the query has no ORDER BY. */
  orderBy: SortExpr[];
}

/** What of the analysis {@link topN} reads. */
export interface TopNFacts {
  scopes: { otherNames: string[] }[];
  occurrences: { renamed: boolean }[];
  hasAggregateOrWindow: boolean;
}

const SCALAR_FUNCTIONS = new Set([
  "lower",
  "upper",
  "coalesce",
  "concat",
  "length",
  "substr",
  "substring",
  "trim",
  "ltrim",
  "rtrim",
  "replace",
  "round",
  "abs",
  "ceil",
  "floor",
  "date_trunc",
  "date_part",
  "strftime",
  "nullif",
  "greatest",
  "least",
  "left",
  "right",
]);

/**
 * The statement's pushable LIMIT, or null: only a plain SELECT over one base table (no CTE, set
 * operation, DISTINCT, grouping, aggregate or window, row-wise output only) with a literal LIMIT
 * and plain ORDER BY keys (no NULLS FIRST/LAST) qualifies.
 */
export function topN(sel: Node, facts: TopNFacts): TopN | null {
  if (facts.scopes.length !== 1 || facts.occurrences.length !== 1) return null;
  if (facts.occurrences[0].renamed || facts.scopes[0].otherNames.length > 0) return null;
  if (asArray(sel.with).length > 0 || sel._next) return null;
  if (asArray(sel.from).length !== 1) return null;
  if (asNode(sel.distinct)?.type || sel.groupby || sel.having || sel.window) return null;
  if (facts.hasAggregateOrWindow || !rowWise(sel.columns)) return null;

  const limitNode = asNode(sel.limit);
  const values = asArray(limitNode?.value);
  if (values.length === 0) return null;
  // `OFFSET n` alone parses as { seperator: "offset", value: [n] }: no limit.
  if (limitNode?.seperator === "offset" && values.length === 1) return null;
  const limit = literalCount(values[0]);
  if (limit === null) return null;
  let total = limit;
  if (values.length === 2) {
    const offset = literalCount(values[1]);
    if (offset === null) return null;
    total = limit + offset;
  }
  if (!Number.isSafeInteger(total)) return null;

  const orderBy: SortExpr[] = [];
  for (const raw of asArray(sel.orderby)) {
    const item = asNode(raw);
    if (!item || (item.nulls !== null && item.nulls !== undefined)) return null;
    const expr = sortExpr(item.expr, sel);
    if (expr === null) return null;
    const type = String(item.type ?? "ASC").toUpperCase();
    orderBy.push({ expr, direction: type === "DESC" ? "desc" : "asc" });
  }
  return { limit: total, orderBy };
}

/** Whether an expression only maps one row to one value (no aggregate, subquery, unnest…). */
function rowWise(x: unknown): boolean {
  if (Array.isArray(x)) return x.every(rowWise);
  const node = asNode(x);
  if (!node) return true;
  if (node.type === "function") {
    const names = asArray(asNode(node.name)?.name).map(identText);
    if (names.length !== 1 || !SCALAR_FUNCTIONS.has(names[0] ?? "")) return false;
  }
  if (node.type === "aggr_func" || node.type === "window_func" || node.ast !== undefined) {
    return false;
  }
  return Object.values(node).every(rowWise);
}

function literalCount(x: unknown): number | null {
  const lit = literalOf(x);
  if (lit?.kind !== "number") return null;
  const n = lit.value as number;
  return Number.isSafeInteger(n) && n >= 0 ? n : null;
}

/** The column reference an ORDER BY item sorts by, or null when it is anything else. */
function sortExpr(expr: unknown, sel: Node): unknown {
  const items = asArray(sel.columns).map(asNode);
  // `ORDER BY 2`: the second output column.
  const ordinal = literalOf(expr);
  if (ordinal) {
    if (ordinal.kind !== "number") return null;
    const item = items[(ordinal.value as number) - 1];
    return item ? columnOrNull(item.expr) : null;
  }
  const parts = columnRefParts(expr);
  if (!parts) return null;
  if (parts.qualifier.length === 0) {
    // An output name wins over an input column of the same name (SQL's ORDER BY rule).
    const named = items.filter((i) =>
      typeof i?.as === "string" && i.as.toLowerCase() === parts.column
    );
    if (named.length > 1) return null;
    if (named.length === 1) return columnOrNull(named[0]!.expr);
  }
  return expr;
}

function columnOrNull(expr: unknown): unknown {
  return columnRefParts(expr) ? expr : null;
}
