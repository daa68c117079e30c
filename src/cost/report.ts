/**
 * The usage report `deno task admin usage` prints and the console shows: per connection, the
 * calls its app charged per day since a day, and its cost budget with how much of the current
 * period is used.
 *
 * @module
 */
import type { Catalog } from "../catalog/store.ts";
import { OmniError } from "../errors.ts";
import { allowance, costBudgetOf } from "./budgets.ts";
import { type BudgetPeriod, periodOf } from "./periods.ts";
import { usageIn, usageSince } from "./usage.ts";

/** One connection's usage. */
export interface ConnectionUsage {
  connection: string;
  /** Connector id; `null` for a connection removed since its calls. */
  connector: string | null;
  /** Calls per day since `since`, oldest first (days without calls left out). */
  days: { day: string; calls: number }[];
  /** Sum of `days`. */
  calls: number;
  budget: {
    calls: number;
    period: BudgetPeriod;
    /** The current period (`2026-12`). */
    period_id: string;
    /** Extra calls granted for the current period. */
    burst_calls: number;
    /** Calls made in the current period. */
    used: number;
    /** `used` as a percentage of `calls`. */
    percent: number;
    /** When the current period ends. */
    resets_at: string;
  } | null;
}

/** The report. */
export interface UsageReport {
  tenant: string;
  /** First day counted, `YYYY-MM-DD`. */
  since: string;
  connections: ConnectionUsage[];
}

/**
 * Builds a tenant's usage report; `since` defaults to the first day of the current month.
 *
 * @example
 * ```ts ignore
 * const report = await usageReport(catalog, "acme", "2026-12-01");
 * ```
 */
export async function usageReport(
  catalog: Catalog,
  tenantId: string,
  since?: string,
  now = Date.now(),
): Promise<UsageReport> {
  if (!await catalog.getTenant(tenantId)) throw new OmniError("NOT_FOUND", `no tenant ${tenantId}`);
  const from = since ?? periodOf("month", now).firstDay;
  if (!/^\d{4}-\d{2}-\d{2}$/.test(from) || Number.isNaN(Date.parse(from))) {
    throw new OmniError("INVALID_REQUEST", "since must be a day, YYYY-MM-DD");
  }
  const days = await usageSince(catalog.db, tenantId, from);
  const connections = await catalog.listConnectionsPublic(tenantId);
  const byId = new Map<string, ConnectionUsage>();
  for (const c of connections) {
    const budget = await costBudgetOf(catalog.db, c.id);
    let reading: ConnectionUsage["budget"] = null;
    if (budget) {
      const period = periodOf(budget.period, now);
      const used = await usageIn(catalog.db, tenantId, c.id, period);
      reading = {
        calls: budget.calls,
        period: budget.period,
        period_id: period.id,
        burst_calls: allowance(budget, period.id) - budget.calls,
        used,
        percent: Math.round((used / budget.calls) * 1000) / 10,
        resets_at: new Date(period.endsAt).toISOString(),
      };
    }
    byId.set(c.id, {
      connection: c.name,
      connector: c.connector,
      days: [],
      calls: 0,
      budget: reading,
    });
  }
  for (const d of days) {
    let entry = byId.get(d.connectionId);
    if (!entry) {
      entry = { connection: d.connection, connector: null, days: [], calls: 0, budget: null };
      byId.set(d.connectionId, entry);
    }
    entry.days.push({ day: d.day, calls: d.calls });
    entry.calls += d.calls;
  }
  return { tenant: tenantId, since: from, connections: [...byId.values()] };
}
