/**
 * Calendar budget periods, in UTC: a `month` (`2026-12`) or a `day` (`2026-12-03`). Usage is
 * counted per day, so a period is a range of days.
 *
 * @module
 */

/** How long a cost budget lasts before it starts again. */
export type BudgetPeriod = "month" | "day";

/** One period. */
export interface Period {
  /** `YYYY-MM` or `YYYY-MM-DD`. */
  id: string;
  /** First day in it, `YYYY-MM-DD`. */
  firstDay: string;
  /** First day after it, `YYYY-MM-DD`. */
  endDay: string;
  /** When it ends, epoch ms. */
  endsAt: number;
}

/**
 * The UTC day of a time, `YYYY-MM-DD`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { dayOf } from "./periods.ts";
 * assert.equal(dayOf(Date.UTC(2026, 11, 3, 23, 59)), "2026-12-03");
 * ```
 */
export function dayOf(at: number): string {
  return new Date(at).toISOString().slice(0, 10);
}

/**
 * The period a time falls in.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { periodOf } from "./periods.ts";
 * const p = periodOf("month", Date.UTC(2026, 11, 3));
 * assert.deepEqual([p.id, p.firstDay, p.endDay], ["2026-12", "2026-12-01", "2027-01-01"]);
 * ```
 */
export function periodOf(period: BudgetPeriod, at: number): Period {
  const d = new Date(at);
  const start = period === "month"
    ? Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), 1)
    : Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate());
  const end = period === "month"
    ? Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + 1, 1)
    : start + 86_400_000;
  const firstDay = dayOf(start);
  return {
    id: period === "month" ? firstDay.slice(0, 7) : firstDay,
    firstDay,
    endDay: dayOf(end),
    endsAt: end,
  };
}
