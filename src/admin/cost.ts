/**
 * Cost guardrails in the admin CLI:
 *
 * - `usage --tenant T [--since YYYY-MM-DD] [--json]`: calls per connection per day, and each
 *   budget's use in its current period;
 * - `connections set-cost-budget NAME --tenant T --calls N [--period month|day]` (or `--remove`);
 * - `connections grant-burst NAME --tenant T --calls N`: extra calls for the current period;
 * - `tenants set-alert-url --tenant T URL` (or `--clear`): where cost alerts are posted;
 * - `tenants signing-secret --tenant T [--rotate]`: the secret alerts and job notifications are
 *   signed with (printed: the receiver needs it).
 *
 * @module
 */
import { type Command, InvalidArgumentError } from "commander";
import { grantBurst, setCostBudget } from "../cost/budgets.ts";
import { usageReport } from "../cost/report.ts";
import { setAlertUrl, signingSecret } from "../notify/tenant_settings.ts";
import { auditedAction } from "./_admin_audit.ts";
import { type CliContext, CliError, tenantCatalog } from "./context.ts";

function positive(value: string): number {
  const n = Number(value);
  if (!Number.isSafeInteger(n) || n < 1) {
    throw new InvalidArgumentError(`${value} is not a whole number ≥ 1`);
  }
  return n;
}

/**
 * Registers the cost commands (`usage`, and verbs under `connections` and `tenants`).
 *
 * @example
 * ```ts ignore
 * registerCost(program, ctx);
 * ```
 */
export function registerCost(program: Command, ctx: CliContext): void {
  const noun = (name: string) => program.commands.find((c) => c.name() === name)!;

  program.command("usage").description("API calls per connection per day, and cost budgets used")
    .requiredOption("--tenant <tenant>")
    .option("--since <day>", "first day, YYYY-MM-DD (default: first day of this month)")
    .option("--json", "JSON output")
    .action(async (o) => {
      const report = await usageReport(await ctx.catalog(), o.tenant, o.since);
      ctx.out(o.json, report, () => {
        const lines = [`usage of ${report.tenant} since ${report.since}`];
        for (const c of report.connections) {
          const b = c.budget;
          lines.push(
            `${c.connection}\t${c.calls} calls` +
              (b
                ? `\tbudget ${b.used}/${b.calls} per ${b.period} (${b.percent}%)` +
                  (b.burst_calls ? ` + burst ${b.burst_calls}` : "")
                : "\tno budget"),
          );
          for (const d of c.days) lines.push(`  ${d.day}\t${d.calls}`);
        }
        return lines.join("\n");
      });
    });

  noun("connections").command("set-cost-budget <name>")
    .description("limit a connection's app calls per calendar period (UTC); alerts at 80/90/100%")
    .requiredOption("--tenant <tenant>")
    .option("--calls <n>", "calls per period", positive)
    .option("--period <period>", "month or day", "month")
    .option("--remove", "remove the budget (calls stay counted)")
    .option("--by <who>", "who makes the change (audit)")
    .option("--json", "JSON output")
    .action(async (name, o) => {
      if (o.period !== "month" && o.period !== "day") {
        throw new CliError("--period is month or day");
      }
      if (!o.remove && !o.calls) throw new CliError("give --calls N, or --remove");
      const catalog = await ctx.catalog();
      const budget = o.remove ? null : { calls: o.calls as number, period: o.period as "month" };
      await auditedAction(
        catalog,
        {
          tenantId: o.tenant,
          command: `connections set-cost-budget ${name} ${
            budget ? `--calls ${budget.calls} --period ${budget.period}` : "--remove"
          }`,
          by: o.by,
        },
        () => setCostBudget(catalog, o.tenant, name, budget),
      );
      ctx.out(
        o.json,
        { connection: name, budget },
        () =>
          budget
            ? `${name}: ${budget.calls} calls per ${budget.period}`
            : `${name}: no cost budget`,
      );
    });

  noun("connections").command("grant-burst <name>")
    .description("allow a connection extra calls for the current budget period")
    .requiredOption("--tenant <tenant>")
    .requiredOption("--calls <n>", "extra calls", positive)
    .option("--by <who>", "who makes the change (audit)")
    .option("--json", "JSON output")
    .action(async (name, o) => {
      const catalog = await ctx.catalog();
      const granted = await auditedAction(
        catalog,
        {
          tenantId: o.tenant,
          command: `connections grant-burst ${name} --calls ${o.calls}`,
          by: o.by,
        },
        () => grantBurst(catalog, o.tenant, name, o.calls),
      );
      ctx.out(
        o.json,
        { connection: name, period: granted.period, burst_calls: granted.burstCalls },
        () => `${name}: ${granted.burstCalls} extra calls in ${granted.period}`,
      );
    });

  noun("tenants").command("set-alert-url")
    .description("where cost alerts are posted (signed; see tenants signing-secret)")
    .requiredOption("--tenant <tenant>")
    .argument("[url]", "an https URL")
    .option("--clear", "post no alerts")
    .option("--by <who>", "who makes the change (audit)")
    .option("--json", "JSON output")
    .action(async (url: string | undefined, o) => {
      if (!url && !o.clear) throw new CliError("give a URL, or --clear");
      if (url) {
        let parsed: URL;
        try {
          parsed = new URL(url);
        } catch {
          throw new CliError(`${url} is not a URL`);
        }
        if (parsed.protocol !== "https:" && parsed.protocol !== "http:") {
          throw new CliError("the alert URL must be https (http only for allow-listed hosts)");
        }
      }
      const catalog = await tenantCatalog(ctx, o.tenant);
      await auditedAction(
        catalog,
        { tenantId: o.tenant, command: `tenants set-alert-url${url ? "" : " --clear"}`, by: o.by },
        () => setAlertUrl(catalog, o.tenant, url ?? null),
      );
      ctx.out(
        o.json,
        { tenant: o.tenant, alert_url: url ?? null },
        () =>
          url ? `cost alerts of ${o.tenant} go to ${url}` : `no cost alerts posted for ${o.tenant}`,
      );
    });

  noun("tenants").command("signing-secret")
    .description("print the secret OmniSQL signs alerts and job notifications with")
    .requiredOption("--tenant <tenant>")
    .option("--rotate", "replace it (receivers must be updated)")
    .option("--by <who>", "who makes the change (audit)")
    .option("--json", "JSON output")
    .action(async (o) => {
      const catalog = await tenantCatalog(ctx, o.tenant);
      const secret = await auditedAction(
        catalog,
        {
          tenantId: o.tenant,
          command: `tenants signing-secret${o.rotate ? " --rotate" : ""}`,
          by: o.by,
        },
        () => signingSecret(catalog, o.tenant, { rotate: Boolean(o.rotate) }),
      );
      ctx.out(o.json, { tenant: o.tenant, secret }, () => secret);
    });
}
