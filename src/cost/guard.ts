/**
 * The cost guard, a `SourceMiddleware` inside the source cache (so only fetches that reach the
 * app are seen): before a fetch, a connection whose calls this period have reached its budget
 * (plus any burst an admin granted) is refused with 429 `RATE_LIMIT_EXHAUSTED`,
 * `details.level = "cost"`, until the period ends; after it, the calls the app charged (a 304 is
 * not charged) are added to the tenant's usage for the connection and day, and the cost alerts
 * checked. Connections without a budget are counted and never refused.
 *
 * @module
 */
import type { CatalogDatabase } from "../catalog/db.ts";
import { loggableError, OmniError } from "../errors.ts";
import type { SourceMiddleware } from "../source/fetch.ts";
import { processLog } from "../telemetry/log.ts";
import type { CostAlerts } from "./alerts.ts";
import { allowance, type CostBudget, costBudgetsOf } from "./budgets.ts";
import { periodOf } from "./periods.ts";
import { recordUsage, recordUsageBehind, usageIn, usageWritesSettled } from "./usage.ts";

/** Options of {@link costGuard}. */
export interface CostGuardOptions {
  /** The catalog's database, where usage and budgets live. */
  db: CatalogDatabase;
  /** Fires the 80/90/100% alerts. @default none */
  alerts?: CostAlerts;
  /**
   * How a tenant's budgets are remembered between fetches: the catalog's memo of hot reads
   * (`Catalog.remembered`), which the change count keeps current. @default not remembered: read
   * on every fetch
   */
  remember?: <T>(key: string, load: () => Promise<T>) => Promise<T>;
}

/** The cost guard: a source middleware, and a way to read a tenant's budgets ahead. */
export type CostGuard = SourceMiddleware & {
  /**
   * Starts reading the tenant's budgets, when not remembered, so the read overlaps planning
   * instead of holding up each source's first call.
   */
  prefetch(tenantId: string): void;
  /**
   * Settles once the usage counts this process has begun to write have landed: they are written
   * behind each query's answer, so a server closing its catalog waits for this first.
   */
  settled(): Promise<void>;
};

/**
 * Builds the cost guard.
 *
 * @example
 * ```ts ignore
 * const cost = costGuard({ db: catalog.db, alerts, remember: (k, load) => catalog.remembered(k, load) });
 * const service = new QueryService({ ...options, prefetch: (t) => cost.prefetch(t),
 *   sourceMiddleware: [sourceCache(cacheOptions), cost, budget] });
 * ```
 */
export function costGuard(options: CostGuardOptions): CostGuard {
  const { db } = options;
  // Most fetches are of unbudgeted connections: their budgets are remembered, not read per fetch.
  const remember = options.remember ?? ((_key, load) => load());
  const budgetsOf = (tenantId: string): Promise<Map<string, CostBudget>> =>
    remember(`cost-budgets:${tenantId}`, () => costBudgetsOf(db, tenantId));
  const middleware: SourceMiddleware = (next) =>
    async function costGuardedFetch(source, ctx) {
      const connection = source.connection;
      const budget = (await budgetsOf(ctx.tenantId)).get(connection.id);
      const now = Date.now();
      const period = budget ? periodOf(budget.period, now) : undefined;
      if (budget && period) {
        const used = await usageIn(db, ctx.tenantId, connection.id, period);
        const limit = allowance(budget, period.id);
        if (used >= limit) {
          throw new OmniError(
            "RATE_LIMIT_EXHAUSTED",
            `the cost budget of connection ${connection.name} (${limit} calls per ` +
              `${budget.period}) is spent; it resets at ${new Date(period.endsAt).toISOString()}` +
              ", or an admin may grant a burst",
            {
              retryAfterMs: period.endsAt - now,
              details: {
                level: "cost",
                source: source.key,
                connection: connection.name,
                period: period.id,
                used,
                limit,
              },
            },
          );
        }
      }
      const fetched = await next(source, ctx);
      if (fetched.calls > 0 && !fetched.fromCache) {
        const usage = {
          tenantId: ctx.tenantId,
          connectionId: connection.id,
          connection: connection.name,
          calls: fetched.calls,
        };
        // Usage is bookkeeping: a failure to write it is logged, never the query's failure.
        const notRecorded = (err: unknown) =>
          processLog.error("usage not recorded", {
            tenant: ctx.tenantId,
            connection: connection.name,
            calls: fetched.calls,
            error: loggableError(err),
            trace_id: ctx.traceId,
          });
        if (!budget || !period) {
          // Nothing to enforce or alert on: the answer does not wait for the count (this
          // process's reads of usage do).
          recordUsageBehind(db, usage, notRecorded, ctx.answered);
        } else {
          try {
            await recordUsage(db, usage);
            if (options.alerts) {
              await options.alerts.check({
                tenantId: ctx.tenantId,
                connectionId: connection.id,
                connection: connection.name,
                period: period.id,
                used: await usageIn(db, ctx.tenantId, connection.id, period),
                budget: budget.calls,
                traceId: ctx.traceId,
              });
            }
          } catch (err) {
            notRecorded(err);
          }
        }
      }
      return fetched;
    };
  return Object.assign(middleware, {
    prefetch(tenantId: string) {
      budgetsOf(tenantId).catch(() => {}); // a failed read is the fetch's to report
    },
    settled: () => usageWritesSettled(db),
  });
}
