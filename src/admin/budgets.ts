/**
 * `admin tenants set-budget`: shows and sets a tenant's budgets — the user level (each of its
 * users), the tenant level (all its users together) and the source level (calls to its apps, for
 * every connection or one connector). The deployment's global budget is shown beside them; it
 * is set by `OMNISQL_GLOBAL_PER_MINUTE`, not per tenant. Servers see a change within a few
 * seconds (their settings memo).
 *
 * @module
 */
import type { Command } from "commander";
import type { TenantSettings } from "../catalog/schema.ts";
import { DEFAULT_BUDGETS, edgeBudgetsOf, sourceBudgetOf } from "../ratelimit/mod.ts";
import { auditedAction } from "./_admin_audit.ts";
import { type CliContext, CliError } from "./context.ts";

/** A budget level an admin sets. */
export type BudgetLevel = "user" | "tenant" | "source";

/**
 * The settings with one level's budget set to `perMinute` requests (or app calls) a minute.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { withBudget } from "./budgets.ts";
 * assert.deepEqual(withBudget({ ttlMs: 5 }, "user", 30), {
 *   ttlMs: 5, budgets: { user: { tokens: 30, windowMs: 60_000 } },
 * });
 * assert.deepEqual(withBudget({}, "source", 10, "github").rateLimits, {
 *   sourcePerMinute: { github: 10 },
 * });
 * ```
 */
export function withBudget(
  settings: TenantSettings,
  level: BudgetLevel,
  perMinute: number,
  connector?: string,
): TenantSettings {
  if (level === "source" && connector) {
    const rateLimits = settings.rateLimits ?? {};
    return {
      ...settings,
      rateLimits: {
        ...rateLimits,
        sourcePerMinute: { ...rateLimits.sourcePerMinute, [connector]: perMinute },
      },
    };
  }
  // `budgets` wins over the per-minute form, so the new value is the one in force.
  return {
    ...settings,
    budgets: { ...settings.budgets, [level]: { tokens: perMinute, windowMs: 60_000 } },
  };
}

/** The budgets in force for a tenant, per level. */
export interface BudgetReport {
  tenant: string;
  user: string;
  tenant_level: string;
  /** Every connection's quota, and each connector's own where set. */
  source: Record<string, string>;
  global: string;
}

const show = (b: { tokens: number; windowMs: number } | undefined, unit = "requests") =>
  b ? `${b.tokens} ${unit} per ${b.windowMs / 1000} s` : "unlimited (the app's own limit)";

/**
 * What a tenant's settings put in force, level by level.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { budgetReport } from "./budgets.ts";
 * const r = budgetReport("acme", { budgets: { user: { tokens: 30, windowMs: 60_000 } } }, 90_000);
 * assert.equal(r.user, "30 requests per 60 s");
 * assert.equal(r.global, "90000 requests per 60 s");
 * ```
 */
export function budgetReport(
  tenantId: string,
  settings: TenantSettings,
  globalPerMinute: number,
): BudgetReport {
  const edge = edgeBudgetsOf(settings, {
    ...DEFAULT_BUDGETS,
    global: { tokens: globalPerMinute, windowMs: 60_000 },
  });
  const source: Record<string, string> = {
    "*": show(settings.budgets?.source, "app calls"),
  };
  for (const connector of Object.keys(settings.rateLimits?.sourcePerMinute ?? {})) {
    source[connector] = show(sourceBudgetOf(settings, connector), "app calls");
  }
  return {
    tenant: tenantId,
    user: show(edge.user),
    tenant_level: show(edge.tenant),
    source,
    global: show(edge.global),
  };
}

function human(r: BudgetReport): string {
  return [
    `budgets of tenant ${r.tenant}:`,
    `  user     ${r.user} (each user)`,
    `  tenant   ${r.tenant_level} (all its users)`,
    ...Object.entries(r.source).map(([c, v]) =>
      `  source   ${v} (${c === "*" ? "each connection" : `connector ${c}`})`
    ),
    `  global   ${r.global} (the deployment: OMNISQL_GLOBAL_PER_MINUTE)`,
  ].join("\n");
}

/**
 * Registers `tenants set-budget` under the `tenants` command.
 *
 * @example
 * ```ts ignore
 * registerSetBudget(tenantsCommand, ctx);
 * ```
 */
export function registerSetBudget(tenants: Command, ctx: CliContext): void {
  tenants.command("set-budget <id>")
    .description("show a tenant's budgets, or set one level's with --per-minute (audited)")
    .requiredOption("--level <level>", "user | tenant | source")
    .option("--connector <connector>", "with --level source: that connector only")
    .option("--per-minute <n>", "requests (source: app calls) a minute")
    .option("--json", "JSON output")
    .action(async (id: string, o) => {
      const level = o.level as BudgetLevel;
      if (!["user", "tenant", "source"].includes(level)) {
        throw new CliError(`--level is user, tenant or source (got ${o.level})`);
      }
      if (o.connector && level !== "source") {
        throw new CliError("--connector goes with --level source");
      }
      const catalog = await ctx.catalog();
      const tenant = await catalog.getTenant(id);
      if (!tenant) throw new CliError(`no tenant ${id}`);
      let settings = tenant.settings;
      if (o.perMinute !== undefined) {
        const n = Number(o.perMinute);
        if (!Number.isInteger(n) || n < 0) {
          throw new CliError(`--per-minute is a whole number ≥ 0 (got ${o.perMinute})`);
        }
        const next = withBudget(settings, level, n, o.connector);
        const command = `tenants set-budget ${id} --level ${level}` +
          (o.connector ? ` --connector ${o.connector}` : "") + ` --per-minute ${n}`;
        settings = (await auditedAction(
          catalog,
          { tenantId: id, command },
          () => catalog.setTenantSettings(id, next),
        )).settings;
      }
      const report = budgetReport(id, settings, ctx.config.globalPerMinute);
      ctx.out(o.json, report, () => human(report));
    });
}
