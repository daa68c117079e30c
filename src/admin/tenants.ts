/**
 * `admin tenants`: create, list and move tenants between residency zones, and set their budgets.
 *
 * @module
 */
import type { Command } from "commander";
import { auditedAction } from "./_admin_audit.ts";
import { registerSetBudget } from "./budgets.ts";
import { type CliContext, CliError, outRows } from "./context.ts";

/**
 * Registers the `tenants` commands.
 *
 * @example
 * ```ts ignore
 * registerTenants(program, ctx);
 * ```
 */
export function registerTenants(program: Command, ctx: CliContext): void {
  const tenants = program.command("tenants").description("tenants and their residency zone");
  tenants.command("list").description("list tenants").option("--json", "JSON output")
    .action(async (o) => {
      const rows = await (await ctx.catalog()).listTenants();
      outRows(ctx, o.json, rows, (t) => [t.id, t.zone, t.name]);
    });
  tenants.command("create <id>").description("create a tenant")
    .requiredOption("--zone <zone>", "residency zone, e.g. us or eu")
    .option("--name <name>", "display name").option("--json", "JSON output")
    .action(async (id, o) => {
      if (!ctx.config.zones.includes(o.zone)) {
        throw new CliError(`unknown zone ${o.zone}; zones: ${ctx.config.zones.join(", ")}`);
      }
      const catalog = await ctx.catalog();
      const t = await auditedAction(
        catalog,
        { tenantId: id, command: `tenants create ${id} --zone ${o.zone}` },
        () => catalog.createTenant({ id, name: o.name ?? id, zone: o.zone }),
      );
      ctx.out(o.json, t, () => `created tenant ${t.id} in zone ${t.zone}`);
    });
  tenants.command("set-zone <id> <zone>").description("move a tenant to another residency zone")
    .option("--json", "JSON output")
    .action(async (id, zone, o) => {
      if (!ctx.config.zones.includes(zone)) {
        throw new CliError(`unknown zone ${zone}; zones: ${ctx.config.zones.join(", ")}`);
      }
      const catalog = await ctx.catalog();
      // Flushes the tenant's caches (hooks registered on the catalog) and is audited.
      const t = await auditedAction(
        catalog,
        { tenantId: id, command: `tenants set-zone ${id} ${zone}` },
        () => catalog.setTenantZone(id, zone),
      );
      ctx.out(o.json, t, () => `tenant ${t.id} is now pinned to zone ${t.zone}`);
    });
  tenants.command("set-direct-only <id> <on|off>")
    .description("require the tenant to use its zone's own endpoint instead of the global edge")
    .option("--json", "JSON output")
    .action(async (id, value, o) => {
      if (value !== "on" && value !== "off") throw new CliError("say on or off");
      const t = await (await ctx.catalog()).setTenantDirectOnly(id, value === "on");
      ctx.out(
        o.json,
        t,
        () =>
          t.directOnly
            ? `tenant ${t.id} must now query its zone endpoint directly`
            : `tenant ${t.id} may query through the edge`,
      );
    });
  registerSetBudget(tenants, ctx);
  tenants.command("offboard <id>")
    .description("cancel its jobs, shred its keys, delete its connections and data (audited)")
    .option("--json", "JSON output")
    .action(async (id, o) => {
      const catalog = await ctx.catalog();
      if (!await catalog.getTenant(id)) throw new CliError(`no tenant ${id}`);
      const result = await auditedAction(
        catalog,
        { tenantId: id, command: `tenants offboard ${id}` },
        () => catalog.offboardTenant(id),
      );
      ctx.out(
        o.json,
        { tenant: id, ...result },
        () =>
          `tenant ${id} off-boarded: ${result.keysShredded} key version(s) shredded, ` +
          `${result.connectionsDeleted} connection(s) deleted, ${result.jobsCancelled} job(s) cancelled`,
      );
    });
}
