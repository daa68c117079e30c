/**
 * Steampipe's subset rule for the source cache: an entry fetched with a looser pushed filter (a
 * subset of the query's pushed predicates) and more columns (a superset of what the query reads)
 * holds every row the query needs; the query's extra predicates are then applied locally, with
 * DuckDB's semantics for each column's type. That local filter may only ever keep too much —
 * a row it cannot judge with certainty is kept — because DuckDB re-applies the query's whole
 * WHERE afterwards; the differential suite (`test/differential_test.ts`) checks it end to end.
 *
 * @module
 */
import { matchesPredicate, type Predicate } from "../../connectors/sdk/predicate.ts";
import type { ColumnType, Row } from "../../connectors/sdk/table.ts";

/** A canonical text of a predicate (values of IN lists sorted), for set comparisons. */
export function predicateId(p: Predicate): string {
  switch (p.op) {
    case "in":
    case "not in":
      return JSON.stringify([p.column, p.op, [...p.values].map((v) => JSON.stringify(v)).sort()]);
    case "is null":
    case "is not null":
      return JSON.stringify([p.column, p.op]);
    case "like":
      return JSON.stringify([p.column, p.op, p.pattern]);
    default:
      return JSON.stringify([p.column, p.op, p.value]);
  }
}

/** What an entry was fetched with. */
export interface EntryShape {
  /** Canonical ids of its pushed predicates. */
  pushed: string[];
  /** Columns its rows carry. */
  columns: string[];
}

/**
 * The predicates to apply locally when `entry` may serve a query that pushed `pushed` and reads
 * `columns`, or `undefined` when it may not.
 */
export function subsetRemainder(
  entry: EntryShape,
  pushed: Predicate[],
  columns: string[],
): Predicate[] | undefined {
  const have = new Set(entry.columns);
  if (!columns.every((c) => have.has(c))) return undefined;
  const wanted = new Map(pushed.map((p) => [predicateId(p), p]));
  if (!entry.pushed.every((id) => wanted.has(id))) return undefined;
  const entryPushed = new Set(entry.pushed);
  const extra = [...wanted].filter(([id]) => !entryPushed.has(id)).map(([, p]) => p);
  return extra.every((p) => have.has(p.column)) ? extra : undefined;
}

/**
 * The rows that may satisfy every predicate, judged with DuckDB's semantics for each column's
 * declared type (a row that cannot be judged with certainty is kept).
 */
export function filterRows(
  rows: Row[],
  predicates: Predicate[],
  types: Readonly<Record<string, ColumnType>>,
): Row[] {
  if (predicates.length === 0) return rows;
  return rows.filter((row) =>
    predicates.every((p) => matchesPredicate(p, row[p.column], types[p.column] ?? "json"))
  );
}
