/**
 * Cost alerts: when a connection's calls in a period reach 80%, 90% and 100% of its budget, one
 * alert per level and period — decided by inserting the `(connection, period, level)` row into
 * the catalog, so however many processes count calls, exactly one fires it. An alert is a
 * structured log event, a Prometheus counter (`omnisql_cost_alerts_total`), an audit record, and
 * a signed POST to the tenant's alert URL when one is set.
 *
 * @module
 */
import type { Counter, Registry } from "prom-client";
import type { Catalog } from "../catalog/store.ts";
import { costAlerts } from "../catalog/schema.ts";
import type { Notifier } from "../notify/notifier.ts";
import { alertUrlOf } from "../notify/tenant_settings.ts";
import { counterIn, type CounterSpec } from "../telemetry/counter.ts";
import { processLog } from "../telemetry/log.ts";

/** Percentages of the budget at which alerts fire. */
export const ALERT_LEVELS = [80, 90, 100] as const;

/** Options of {@link CostAlerts}. */
export interface CostAlertsOptions {
  catalog: Catalog;
  /** Posts alerts to the tenant's alert URL. @default alerts are logged and counted only */
  notifier?: Notifier;
  /** Registers `omnisql_cost_alerts_total` here. @default not exported */
  registry?: Registry;
}

/** What crossed a level. */
export interface CostReading {
  tenantId: string;
  connectionId: string;
  connection: string;
  /** The budget period's id (`2026-12`). */
  period: string;
  used: number;
  budget: number;
  traceId: string;
}

const ALERTS_FIRED: CounterSpec<"level"> = {
  name: "omnisql_cost_alerts_total",
  help: "Cost alerts fired (a connection's calls reached 80, 90 or 100% of its budget).",
  labelNames: ["level"],
};

/**
 * Fires cost alerts once per level and period.
 *
 * @example
 * ```ts ignore
 * const alerts = new CostAlerts({ catalog, notifier, registry: metrics.registry });
 * await alerts.check({ tenantId: "acme", connectionId, connection: "github", period: "2026-12", used: 85, budget: 100, traceId });
 * ```
 */
export class CostAlerts {
  readonly #options: CostAlertsOptions;
  readonly #counter: Counter<"level">;

  constructor(options: CostAlertsOptions) {
    this.#options = options;
    this.#counter = counterIn(options.registry, ALERTS_FIRED);
  }

  /** Fires every level the reading has reached and that has not fired this period; returns them. */
  async check(reading: CostReading): Promise<number[]> {
    const reached = ALERT_LEVELS.filter((l) => reading.used * 100 >= l * reading.budget);
    const fired: number[] = [];
    for (const level of reached) {
      const inserted = await this.#options.catalog.db.insert(costAlerts)
        .values({ connectionId: reading.connectionId, period: reading.period, level })
        .onConflictDoNothing().returning();
      if (inserted.length === 0) continue;
      fired.push(level);
      await this.#fire(reading, level);
    }
    return fired;
  }

  async #fire(r: CostReading, level: number): Promise<void> {
    const { catalog, notifier } = this.#options;
    this.#counter.inc({ level: String(level) });
    const event = {
      tenant: r.tenantId,
      connection: r.connection,
      level,
      period: r.period,
      used: r.used,
      budget: r.budget,
      trace_id: r.traceId,
    };
    processLog.warn("cost alert", event);
    await catalog.appendAudit({
      tenantId: r.tenantId,
      userEmail: "cost-guard",
      zone: (await catalog.getTenant(r.tenantId))?.zone ?? "none",
      traceId: r.traceId,
      sql: `cost alert ${r.connection} ${level}% of ${r.budget} calls in ${r.period}`,
      tables: [],
      rows: null,
      status: 200,
      errorCode: null,
      kind: "admin",
    });
    const url = notifier ? await alertUrlOf(catalog, r.tenantId) : undefined;
    if (notifier && url) {
      void notifier.send({
        tenantId: r.tenantId,
        url,
        event: "cost.alert",
        payload: { type: "cost.alert", ...event },
        traceId: r.traceId,
      });
    }
  }
}
