/**
 * A table is a declaration, in the manner of a Steampipe table: typed columns, the columns the
 * API can filter on with their operators, a `plan` that negotiates pushdown with the planner, and
 * a `scan` that streams pages of rows for the plan it made.
 *
 * @module
 */
import type { Predicate, PredicateOp } from "./predicate.ts";
import type { SourceClient } from "./http.ts";

/** Column types, mapped to DuckDB types when rows are materialized. */
export type ColumnType = "text" | "integer" | "double" | "boolean" | "timestamp" | "json";

/** One column of a table. */
export interface ColumnDef {
  name: string;
  type: ColumnType;
  description: string;
  /**
   * Fetched by an extra call per row (e.g. GitHub's single-PR endpoint): only when the query
   * selects or filters on it.
   * @default false
   */
  detail?: boolean;
  /**
   * What kind of data the column holds, for policies that target data rather than names
   * (`MASK CLASS pii.email …`): `pii.email`, `pii.person` (a person's name or login),
   * `pii.person_text` (text that may embed a person's name or login, such as a branch
   * `chloe/mob-12-login`). A policy with rules for a class covers every column of that class,
   * named by a rule or not.
   * @default unclassified
   */
  classification?: Classification;
}

/** The data classes columns are tagged with. */
export type Classification = "pii.email" | "pii.person" | "pii.person_text";

/** A column the API can filter on, with the operators it can express. */
export interface KeyColumn {
  column: string;
  operators: PredicateOp[];
  /**
   * The operators the API applies *exactly* as DuckDB would, for every literal the planner
   * offers — same rows, no more. The others are pushed as widenings (case-insensitive matching,
   * coarser time precision, NULLs kept) that DuckDB narrows. A LIMIT or top-N reaches the API
   * only when every pushed predicate is exact, so a widening can never cut the answer short.
   * @default [] (nothing declared exact: no LIMIT is pushed past a filter on this column)
   */
  exact?: PredicateOp[];
  /**
   * `required`: the API cannot list the table without a filter on this column.
   * @default "optional"
   */
  require?: "required" | "optional";
  /**
   * Most values one request takes for `in` (a dependent join sends larger key sets in chunks of
   * this size). A connector that checks the values on its rows rather than in the request takes
   * any number in one scan. @default 50
   */
  maxValues?: number;
  /**
   * `in` of several values is matched on the rows the connector lists, not by the API: the scan
   * lists the same pages whatever the values, so keys pushed into it (a dependent join) save
   * only the per-row calls of the rows they drop, never list calls. @default false
   */
  matchedOnRows?: boolean;
}

/** A row as fetched: column name → value (timestamps as ISO-8601 strings, JSON as objects). */
export type Row = Record<string, unknown>;

/** Sort key offered to a table. */
export interface SortKey {
  column: string;
  direction: "asc" | "desc";
}

/** What the planner offers a table: only conjuncts that touch this table alone. */
export interface ScanOffer {
  /** Conjuncts of the WHERE clause over this table's columns only. */
  predicates: Predicate[];
  /**
   * Columns the query reads from this table anywhere (select list, WHERE, JOIN, ORDER BY…):
   * every column a row must carry.
   */
  columns: string[];
  /** Offered only when the order is the query's final order. */
  orderBy?: SortKey[];
  /** Offered only with `orderBy` (or alone) when the query's LIMIT applies to this table alone. */
  limit?: number;
}

/** What a table answers: the native request it will make and what it took. */
export interface ScanPlan<S = unknown> {
  /** The native request(s), human-readable, for EXPLAIN (e.g. `GET /repos/o/r/pulls?state=closed`). */
  native: string[];
  /** Predicates the native request applies (exactly, or as a superset DuckDB narrows). */
  pushed: Predicate[];
  /** Predicates left to DuckDB alone. */
  residual: Predicate[];
  /** Columns that will be fetched (always includes what the query reads). */
  columns: string[];
  /**
   * Set when the source returns at most this many rows, already in the offered order. The
   * planner keeps it only when nothing is residual and every pushed predicate is declared exact
   * (`KeyColumn.exact`); otherwise it plans again without order and limit.
   */
  limit?: number;
  /**
   * Extra calls each returned row costs (a detail call per row): what a dependent join saves
   * by letting fewer rows through. @default 0
   */
  perRowCalls?: number;
  /** Connector-private state handed back to `scan`. */
  state: S;
}

/** Everything a scan may use: the connection's client, its config, and cancellation. */
export interface ScanContext {
  connection: Connection;
  http: SourceClient;
  signal: AbortSignal;
}

/** A connection of a tenant to an app, as the catalog stores it (credentials decrypted). */
export interface Connection {
  id: string;
  tenantId: string;
  /** Connector id, e.g. `github`. */
  connector: string;
  /** The schema its tables appear under in SQL, e.g. `github`. */
  name: string;
  baseUrl: string;
  credentials: Record<string, string>;
  /** Connector-specific settings (repos, team mapping, custom field ids…). */
  config: Record<string, unknown>;
}

/** A table declaration. */
export interface TableDef<S = unknown> {
  name: string;
  description: string;
  columns: ColumnDef[];
  keyColumns: KeyColumn[];
  /**
   * Rows a scan with nothing pushed typically returns: the planner's estimate until it has
   * learned one from real scans (it picks dependent joins with it).
   * @default 1000
   */
  estimatedRows?: number;
  /** Negotiates pushdown: takes what the API can express, hands back the rest. */
  plan(offer: ScanOffer, connection: Connection): ScanPlan<S>;
  /** Streams pages of rows for a plan made by `plan`. */
  scan(ctx: ScanContext, plan: ScanPlan<S>): AsyncIterable<Row[]>;
}

/**
 * Declares a table, erasing its private plan state type so tables of one connector can share an
 * array.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { defineTable } from "./table.ts";
 * const t = defineTable<{ q: string }>({
 *   name: "things", description: "Things", columns: [], keyColumns: [],
 *   plan: (offer) => ({ native: ["GET /things"], pushed: [], residual: offer.predicates,
 *     columns: offer.columns, state: { q: "" } }),
 *   async *scan() { yield []; },
 * });
 * assert.ok(t.name === "things");
 * ```
 */
export function defineTable<S>(def: TableDef<S>): TableDef {
  return def as unknown as TableDef;
}

/**
 * Whether a plan's rows are exactly the rows its offer selects: nothing left to DuckDB, and every
 * pushed predicate declared exact for its column and operator. Only then may a LIMIT cut it.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { planIsExact } from "./table.ts";
 * const keys = [{ column: "status", operators: ["=" as const], exact: [] }];
 * const plan = { native: [], residual: [], columns: [], state: null,
 *   pushed: [{ column: "status", op: "=" as const, value: "Done" }] };
 * assert.equal(planIsExact(plan, keys), false);
 * ```
 */
export function planIsExact(plan: ScanPlan, keyColumns: readonly KeyColumn[]): boolean {
  return plan.residual.length === 0 &&
    plan.pushed.every((p) =>
      keyColumns.some((k) => k.column === p.column && (k.exact ?? []).includes(p.op))
    );
}
