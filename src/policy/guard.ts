/**
 * The security hook of a query: what the tenant's policies let this user read. The planner asks
 * it for row filters (pushed to the source where the API can filter), and every source's rows
 * pass through it — filtered and masked — before they reach DuckDB.
 *
 * @module
 */
import type { Predicate } from "../../connectors/sdk/predicate.ts";
import type { Row } from "../../connectors/sdk/table.ts";
import type { UserClaims } from "../auth/user_token.ts";
import type { PushdownLimits } from "../sql/plan.ts";

/** One table a query reads, with the columns it reads. */
export interface TableRead {
  key: string;
  columns: string[];
}

/** A user's entitlements for one query. */
export interface QueryGuard {
  /**
   * Identifies the effective entitlements: users with equal fingerprints may share cached
   * results; users with different ones never do.
   */
  readonly fingerprint: string;
  /** Throws `ENTITLEMENT_DENIED` naming a denied table or blocked column the query reads. */
  check(reads: TableRead[]): void;
  /** Row filters on a table for this user (AND-ed), offered to the source like WHERE conjuncts. */
  rowFilters(key: string): Predicate[];
  /**
   * Filters and masks a table's rows before DuckDB sees them, row by row: a query applies it to
   * each page of a source as the page arrives, and takes the pages' results, in order, for the
   * table's.
   */
  apply(key: string, rows: Row[]): Row[] | Promise<Row[]>;
  /** Limits on what the planner may push to a table's source. @default nothing limited */
  pushdown?(key: string): PushdownLimits;
}

/** Builds guards from the tenant's policies. */
export interface SecurityProvider {
  guardFor(tenantId: string, user: UserClaims): Promise<QueryGuard>;
}

/**
 * The guard of a tenant with no policy: everything readable, nothing masked.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { OPEN_GUARD } from "./guard.ts";
 * assert.ok(OPEN_GUARD.rowFilters("github.pull_requests").length === 0);
 * ```
 */
export const OPEN_GUARD: QueryGuard = {
  fingerprint: "open",
  check() {},
  rowFilters: () => [],
  apply: (_key, rows) => rows,
};
