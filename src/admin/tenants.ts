/**
 * `admin tenants`: create, list and move tenants between residency zones.
 *
 * @module
 */
import type { Command } from "commander";
import { type CliContext, CliError } from "./context.ts";

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
      ctx.out(o.json, rows, () => rows.map((t) => `${t.id}\t${t.zone}\t${t.name}`).join("\n"));
    });
  tenants.command("create <id>").description("create a tenant")
    .requiredOption("--zone <zone>", "residency zone, e.g. us or eu")
    .option("--name <name>", "display name").option("--json", "JSON output")
    .action(async (id, o) => {
      if (!ctx.config.zones.includes(o.zone)) {
        throw new CliError(`unknown zone ${o.zone}; zones: ${ctx.config.zones.join(", ")}`);
      }
      const t = await (await ctx.catalog()).createTenant({ id, name: o.name ?? id, zone: o.zone });
      ctx.out(o.json, t, () => `created tenant ${t.id} in zone ${t.zone}`);
    });
  tenants.command("set-zone <id> <zone>").description("move a tenant to another residency zone")
    .option("--json", "JSON output")
    .action(async (id, zone, o) => {
      if (!ctx.config.zones.includes(zone)) {
        throw new CliError(`unknown zone ${zone}; zones: ${ctx.config.zones.join(", ")}`);
      }
      const t = await (await ctx.catalog()).setTenantZone(id, zone);
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
}
