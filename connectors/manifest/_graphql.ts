/**
 * GraphQL requests from a manifest: the query document (selection built from the column paths a
 * query needs) and the `filter` variable built from pushed predicates. Values only ever travel as
 * JSON *variables*, never inside the query text: that is the whole escaping story for GraphQL.
 *
 * @module
 */
import type { Predicate } from "../sdk/mod.ts";
import type { ColumnSpec, GraphqlComparator, GraphqlTableSpec } from "./manifest.ts";
import { literalFits, wholeMilliseconds } from "./_values.ts";

/** A GraphQL filter input value (JSON). */
export type FilterValue = { [key: string]: unknown };

/**
 * The selection set for a list of dotted paths: `["id", "state.name", "state.type"]` →
 * `id state { name type }`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { selectionSet } from "./_graphql.ts";
 * assert.ok(selectionSet(["id", "state.name", "state.type"]) === "id state { name type }");
 * ```
 */
export function selectionSet(paths: string[]): string {
  type Tree = Map<string, Tree>;
  const root: Tree = new Map();
  for (const path of paths) {
    let node = root;
    for (const part of path.split(".")) {
      if (!node.has(part)) node.set(part, new Map());
      node = node.get(part)!;
    }
  }
  const render = (t: Tree): string =>
    [...t].map(([k, sub]) => (sub.size ? `${k} { ${render(sub)} }` : k)).join(" ");
  return render(root);
}

/** The query document of one page request; variables `filter`, `first`, `after`. */
export function graphqlDocument(spec: GraphqlTableSpec, paths: string[]): string {
  const args = [
    "filter: $filter",
    "first: $first",
    "after: $after",
    ...Object.entries(spec.args).map(([k, v]) => `${k}: ${v}`),
  ].join(", ");
  const nodes = selectionSet(paths.length ? paths : ["id"]);
  return `query OmniSQLScan($filter: ${spec.filter_type}, $first: Int, $after: String) { ` +
    `${spec.field}(${args}) { nodes { ${nodes} } pageInfo { hasNextPage endCursor } } }`;
}

/** One predicate as a filter, and whether the API applies it exactly. */
export interface FilterPiece {
  filter: FilterValue;
  exact: boolean;
}

const COMPARATOR: Partial<Record<Predicate["op"], GraphqlComparator>> = {
  "=": "eq",
  "!=": "neq",
  "<": "lt",
  "<=": "lte",
  ">": "gt",
  ">=": "gte",
  "in": "in",
  "not in": "nin",
};

/**
 * Translates one predicate into a filter over the column's filter field, or `null` when the
 * column's comparators cannot express it.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { predicateFilter } from "./_graphql.ts";
 * const col = { name: "team", type: "text" as const, description: "", path: "team.key",
 *   filter: { field: "team.key", ops: ["eq" as const, "in" as const] } };
 * const piece = predicateFilter(col, { column: "team", op: "=", value: "web" });
 * assert.ok(JSON.stringify(piece?.filter) === '{"team":{"key":{"eq":"web"}}}');
 * ```
 */
export function predicateFilter(column: ColumnSpec, predicate: Predicate): FilterPiece | null {
  const f = column.filter;
  if (!f) return null;
  const p = column.type === "timestamp" ? wholeMilliseconds(predicate) : predicate;
  if (!p) return null;
  const has = (c: GraphqlComparator) => f.ops.includes(c);
  let comparator: Record<string, unknown> | null = null;
  let exact = true;
  switch (p.op) {
    case "is null":
    case "is not null":
      if (has("null")) comparator = { null: p.op === "is null" };
      break;
    case "in":
    case "not in": {
      const values = p.values.filter((v) => v !== null);
      if (p.op === "not in" && values.length !== p.values.length) break; // never true in SQL
      if (values.length === 0 || !values.every((v) => literalFits(v, column.type))) break;
      const c = COMPARATOR[p.op]!;
      if (has(c)) comparator = { [c]: values };
      exact = p.op === "in";
      break;
    }
    case "like": {
      if (column.type !== "text") break;
      const m = p.pattern.match(/^(%?)([^%_]*)(%?)$/);
      if (!m) break;
      const [, lead, text, trail] = m;
      const c: GraphqlComparator = lead && trail
        ? "contains"
        : lead
        ? "endsWith"
        : trail
        ? "startsWith"
        : "eq";
      if (has(c)) comparator = { [c]: text };
      break;
    }
    default: {
      if (p.value === null || !literalFits(p.value, column.type)) break;
      const c = COMPARATOR[p.op]!;
      if (has(c)) comparator = { [c]: p.value };
      // `neq` may keep NULLs that SQL drops: a superset, DuckDB narrows.
      exact = p.op !== "!=";
    }
  }
  if (!comparator) return null;
  let filter: FilterValue = comparator;
  for (const part of f.field.split(".").reverse()) filter = { [part]: filter };
  return { filter, exact };
}

/** Combines filters with `and` (one filter stays as it is). */
export function andFilters(filters: FilterValue[]): FilterValue | undefined {
  if (filters.length === 0) return undefined;
  return filters.length === 1 ? filters[0] : { and: filters };
}
