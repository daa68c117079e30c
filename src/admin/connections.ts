/**
 * `admin connections`: a tenant's connections to apps (credentials never shown).
 *
 * @module
 */
import type { Command } from "commander";
import type { CliContext } from "./context.ts";

/**
 * Registers the `connections` commands.
 *
 * @example
 * ```ts ignore
 * registerConnections(program, ctx);
 * ```
 */
export function registerConnections(program: Command, ctx: CliContext): void {
  const connections = program.command("connections").description("connections to apps");
  connections.command("list").requiredOption("--tenant <tenant>").option("--json", "JSON output")
    .action(async (o) => {
      const rows = await (await ctx.catalog()).listConnectionsPublic(o.tenant);
      ctx.out(
        o.json,
        rows,
        () => rows.map((c) => `${c.name}\t${c.connector}\t${c.baseUrl}`).join("\n"),
      );
    });
}
