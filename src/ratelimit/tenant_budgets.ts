/**
 * Budgets configured per tenant in the catalog (`tenants.settings`):
 *
 * ```json
 * { "budgets": { "user": { "tokens": 60, "windowMs": 60000 },
 *                "tenant": { "tokens": 600, "windowMs": 60000 },
 *                "source": { "tokens": 1000, "windowMs": 3600000 } } }
 * ```
 *
 * or the per-minute form (`rateLimits.userPerMinute`, `tenantPerMinute`,
 * `sourcePerMinute[connector]`). `budgets` wins where both are set, except that a connector's
 * own `sourcePerMinute` wins over `budgets.source` (it is the more specific); what neither sets
 * keeps its default. The global level belongs to the deployment, not to a tenant.
 *
 * @module
 */
import type { TenantSettings } from "../catalog/schema.ts";
import { DEFAULT_BUDGETS, type EdgeBudgets } from "./budgets.ts";
import type { Budget } from "./limiter.ts";

/** The tenant's budget of one level, if its settings configure one. */
function configured(
  settings: TenantSettings | undefined,
  level: "user" | "tenant" | "source",
  connector?: string,
): Budget | undefined {
  const budgets = (settings as { budgets?: Record<string, unknown> } | undefined)?.budgets;
  // A connection's own quota is more specific than the tenant's quota for every connection.
  const perConnector = connector === undefined
    ? undefined
    : settings?.rateLimits?.sourcePerMinute?.[connector];
  if (level === "source" && typeof perConnector === "number" && perConnector >= 0) {
    return { tokens: perConnector, windowMs: 60_000 };
  }
  const explicit = budgets?.[level];
  if (isBudget(explicit)) return { tokens: explicit.tokens, windowMs: explicit.windowMs };
  const perMinute = level === "user"
    ? settings?.rateLimits?.userPerMinute
    : level === "tenant"
    ? settings?.rateLimits?.tenantPerMinute
    : undefined;
  return typeof perMinute === "number" && perMinute >= 0
    ? { tokens: perMinute, windowMs: 60_000 }
    : undefined;
}

function isBudget(v: unknown): v is Budget {
  if (typeof v !== "object" || v === null) return false;
  const { tokens, windowMs } = v as Record<string, unknown>;
  return typeof tokens === "number" && tokens >= 0 && typeof windowMs === "number" &&
    windowMs > 0;
}

/**
 * The edge budgets of a tenant: its settings over the defaults.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { edgeBudgetsOf } from "./tenant_budgets.ts";
 * const b = edgeBudgetsOf({ rateLimits: { userPerMinute: 10 } });
 * assert.ok(b.user.tokens === 10 && b.tenant.tokens === 1000);
 * ```
 */
export function edgeBudgetsOf(
  settings: TenantSettings | undefined,
  defaults: Required<EdgeBudgets> = DEFAULT_BUDGETS,
): Required<EdgeBudgets> {
  return {
    user: configured(settings, "user") ?? defaults.user,
    tenant: configured(settings, "tenant") ?? defaults.tenant,
    global: defaults.global,
  };
}

/**
 * The tenant's own quota for one of its connections, if configured (calls to the app per window).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { sourceBudgetOf } from "./tenant_budgets.ts";
 * assert.ok(sourceBudgetOf({ rateLimits: { sourcePerMinute: { github: 30 } } }, "github")?.tokens === 30);
 * assert.ok(sourceBudgetOf({}, "github") === undefined);
 * ```
 */
export function sourceBudgetOf(
  settings: TenantSettings | undefined,
  connector: string,
): Budget | undefined {
  return configured(settings, "source", connector);
}
