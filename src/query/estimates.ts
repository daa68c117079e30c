/**
 * Row estimates the planner keeps per table, learned from the row counts of past scans. A scan's
 * count is remembered under its exact native request and under its shape (which columns were
 * pushed with which operators, values left out), so `issue_key = 'MOB-3'` teaches the planner
 * about `issue_key = 'MOB-7'` too. Unknown shapes fall back to the table's declared estimate.
 *
 * In memory and per process: estimates steer plans, never results, so losing them on a restart
 * only costs one less informed plan.
 *
 * Estimates are shown (EXPLAIN, `sources[].estimated_rows`), so they are learned per scope — the
 * user's entitlements (the guard's fingerprint) — from the rows left after the row rules: a count
 * learned from rows one user may not see must never reach another user, nor the same one.
 *
 * @module
 */
import type { ScanPlan, TableDef } from "../../connectors/sdk/table.ts";

/** Rows assumed for a table that declares no estimate and was never scanned. */
export const DEFAULT_TABLE_ROWS = 1_000;

/** What an estimate is looked up by. */
export interface EstimateKey {
  /** Whose counts these are: the guard's fingerprint (equal entitlements, equal scope). */
  scope: string;
  connectionId: string;
  table: TableDef;
  plan: ScanPlan;
}

/** Options of {@link RowEstimates}. */
export interface RowEstimatesOptions {
  /** Entries kept before the oldest are forgotten. @default 10000 */
  maxEntries?: number;
}

/**
 * A per-process store of learned row counts.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { RowEstimates } from "./estimates.ts";
 * const estimates = new RowEstimates();
 * const table = { name: "t", description: "", columns: [], keyColumns: [], plan: () => { throw 0; },
 *   scan: () => { throw 0; } };
 * const plan = (value: string) => ({ native: [`GET /t?k=${value}`], columns: [], residual: [],
 *   pushed: [{ column: "k", op: "=" as const, value }], state: null });
 * const key = (value: string) => ({ scope: "dev", connectionId: "c", table, plan: plan(value) });
 * assert.equal(estimates.estimate(key("a")), 1000);
 * estimates.record(key("a"), 3);
 * assert.equal(estimates.estimate(key("b")), 3);
 * assert.equal(estimates.estimate({ ...key("a"), scope: "qa" }), 1000);
 * ```
 */
export class RowEstimates {
  readonly #rows = new Map<string, number>();
  readonly #max: number;

  constructor(options: RowEstimatesOptions = {}) {
    this.#max = options.maxEntries ?? 10_000;
  }

  /** The expected row count of a planned scan. */
  estimate(key: EstimateKey): number {
    const learned = this.#rows.get(exactKey(key)) ?? this.#rows.get(shapeKey(key));
    const rows = learned ?? key.table.estimatedRows ?? DEFAULT_TABLE_ROWS;
    return key.plan.limit !== undefined ? Math.min(rows, key.plan.limit) : rows;
  }

  /** Remembers what a scan returned (the rows the scope's row rules left). */
  record(key: EstimateKey, rows: number): void {
    for (const k of [exactKey(key), shapeKey(key)]) {
      this.#rows.delete(k); // re-inserted last: the map's order is its age
      this.#rows.set(k, rows);
    }
    while (this.#rows.size > this.#max) this.#rows.delete(this.#rows.keys().next().value!);
  }
}

/** The store the workers share. */
export const SHARED_ESTIMATES: RowEstimates = new RowEstimates();

function exactKey({ scope, connectionId, table, plan }: EstimateKey): string {
  return JSON.stringify([
    "exact",
    scope,
    connectionId,
    table.name,
    plan.native,
    plan.limit ?? null,
  ]);
}

function shapeKey({ scope, connectionId, table, plan }: EstimateKey): string {
  const shape = plan.pushed.map((p) => `${p.column} ${p.op}`).sort();
  return JSON.stringify(["shape", scope, connectionId, table.name, shape, plan.limit ?? null]);
}
