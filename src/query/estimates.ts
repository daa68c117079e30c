/**
 * Row estimates the planner keeps per table, learned from the row counts of past scans. A scan's
 * count is remembered under its exact native request and under its shape (which columns were
 * pushed with which operators, values left out), so `issue_key = 'MOB-3'` teaches the planner
 * about `issue_key = 'MOB-7'` too. Unknown shapes fall back to the table's declared estimate.
 *
 * In memory and per process: estimates steer plans, never results, so losing them on a restart
 * only costs one less informed plan.
 *
 * @module
 */
import type { ScanPlan, TableDef } from "../../connectors/sdk/table.ts";

/** Rows assumed for a table that declares no estimate and was never scanned. */
export const DEFAULT_TABLE_ROWS = 1_000;

/** What an estimate is looked up by. */
export interface EstimateKey {
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
 * assert.ok(estimates.estimate({ connectionId: "c", table, plan: plan("a") }) === 1000);
 * estimates.record({ connectionId: "c", table, plan: plan("a") }, 3);
 * assert.ok(estimates.estimate({ connectionId: "c", table, plan: plan("b") }) === 3);
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

  /** Remembers what a scan actually returned. */
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

function exactKey({ connectionId, table, plan }: EstimateKey): string {
  return JSON.stringify(["exact", connectionId, table.name, plan.native, plan.limit ?? null]);
}

function shapeKey({ connectionId, table, plan }: EstimateKey): string {
  const shape = plan.pushed.map((p) => `${p.column} ${p.op}`).sort();
  return JSON.stringify(["shape", connectionId, table.name, shape, plan.limit ?? null]);
}
