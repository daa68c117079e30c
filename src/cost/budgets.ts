/**
 * Cost budgets: how many app calls a connection may make per calendar period, and bursts an
 * admin grants on top for the current period. Stored in the catalog beside the connection (and
 * removed with it).
 *
 * @module
 */
import { and, eq } from "drizzle-orm";
import type { Catalog } from "../catalog/store.ts";
import type { CatalogDatabase } from "../catalog/db.ts";
import { connections, costBudgets } from "../catalog/schema.ts";
import { OmniError } from "../errors.ts";
import { type BudgetPeriod, periodOf } from "./periods.ts";

/** A connection's cost budget. */
export interface CostBudget {
  connectionId: string;
  /** Calls per period. */
  calls: number;
  period: BudgetPeriod;
  /** Extra calls granted for the period `burstPeriod` (0 when none). */
  burstCalls: number;
  burstPeriod: string | null;
}

/** The budget plus what an admin granted, for the period `periodId`. */
export function allowance(budget: CostBudget, periodId: string): number {
  return budget.calls + (budget.burstPeriod === periodId ? budget.burstCalls : 0);
}

async function connectionId(catalog: Catalog, tenantId: string, name: string): Promise<string> {
  const [row] = await catalog.db.select({ id: connections.id }).from(connections)
    .where(and(eq(connections.tenantId, tenantId), eq(connections.name, name)));
  if (!row) throw new OmniError("NOT_FOUND", `tenant ${tenantId} has no connection ${name}`);
  return row.id;
}

/**
 * Every budget of a tenant's connections, by connection id (one read for all of a query's
 * sources).
 *
 * @example
 * ```ts ignore
 * const budgets = await costBudgetsOf(catalog.db, "acme");
 * const github = budgets.get(connection.id); // undefined: unbudgeted
 * ```
 */
export async function costBudgetsOf(
  db: CatalogDatabase,
  tenantId: string,
): Promise<Map<string, CostBudget>> {
  const rows = await db.select().from(costBudgets).where(eq(costBudgets.tenantId, tenantId));
  return new Map(rows.map((row) => [row.connectionId, budgetOfRow(row)]));
}

function budgetOfRow(row: typeof costBudgets.$inferSelect): CostBudget {
  return {
    connectionId: row.connectionId,
    calls: Number(row.calls),
    period: row.period,
    burstCalls: Number(row.burstCalls),
    burstPeriod: row.burstPeriod,
  };
}

/**
 * The connection's budget, or `undefined` when it has none (unbudgeted: counted, never refused).
 *
 * @example
 * ```ts ignore
 * const budget = await costBudgetOf(catalog.db, connection.id);
 * ```
 */
export async function costBudgetOf(
  db: CatalogDatabase,
  connectionIdValue: string,
): Promise<CostBudget | undefined> {
  const [row] = await db.select().from(costBudgets)
    .where(eq(costBudgets.connectionId, connectionIdValue));
  return row ? budgetOfRow(row) : undefined;
}

/**
 * Sets (or, with `calls` null, removes) a connection's budget.
 *
 * @example
 * ```ts ignore
 * await setCostBudget(catalog, "acme", "github", { calls: 10_000, period: "month" });
 * ```
 */
export async function setCostBudget(
  catalog: Catalog,
  tenantId: string,
  connection: string,
  budget: { calls: number; period: BudgetPeriod } | null,
): Promise<void> {
  const id = await connectionId(catalog, tenantId, connection);
  if (budget === null) {
    await catalog.db.delete(costBudgets).where(eq(costBudgets.connectionId, id));
    catalog.forgetReads();
    return;
  }
  if (!Number.isSafeInteger(budget.calls) || budget.calls < 1) {
    throw new OmniError("INVALID_REQUEST", "a cost budget is a whole number of calls, at least 1");
  }
  await catalog.db.insert(costBudgets).values({ connectionId: id, tenantId, ...budget })
    .onConflictDoUpdate({
      target: costBudgets.connectionId,
      set: { ...budget, updatedAt: new Date() },
    });
  // This process's guards see it at once; others when they revalidate (the change count).
  catalog.forgetReads();
}

/**
 * Grants extra calls for the current period (added to any burst already granted for it; a burst
 * of an earlier period lapses). Returns the period and the total burst.
 *
 * @example
 * ```ts ignore
 * await grantBurst(catalog, "acme", "github", 500);
 * ```
 */
export async function grantBurst(
  catalog: Catalog,
  tenantId: string,
  connection: string,
  calls: number,
  now = Date.now(),
): Promise<{ period: string; burstCalls: number }> {
  if (!Number.isSafeInteger(calls) || calls < 1) {
    throw new OmniError("INVALID_REQUEST", "a burst is a whole number of calls, at least 1");
  }
  const id = await connectionId(catalog, tenantId, connection);
  const budget = await costBudgetOf(catalog.db, id);
  if (!budget) {
    throw new OmniError(
      "INVALID_REQUEST",
      `connection ${connection} has no cost budget; set one first (set-cost-budget)`,
    );
  }
  const period = periodOf(budget.period, now).id;
  const burstCalls = (budget.burstPeriod === period ? budget.burstCalls : 0) + calls;
  await catalog.db.update(costBudgets)
    .set({ burstCalls, burstPeriod: period, updatedAt: new Date() })
    .where(eq(costBudgets.connectionId, id));
  catalog.forgetReads();
  return { period, burstCalls };
}
