/**
 * `admin catalog describe`: the tables and typed columns of every connector.
 *
 * @module
 */
import type { Command } from "commander";
import { type CliContext, CliError } from "./context.ts";

/**
 * Registers the `catalog` commands.
 *
 * @example
 * ```ts ignore
 * registerCatalog(program, ctx);
 * ```
 */
export function registerCatalog(program: Command, ctx: CliContext): void {
  const cat = program.command("catalog").description("tables and columns");
  cat.command("describe [table]").option("--json", "JSON output")
    .action(async (table, o) => {
      const rows = (await (await ctx.catalog()).listCatalogTables()).filter((t) =>
        !table || `${t.connector}.${t.tableName}` === table
      );
      if (table && rows.length === 0) throw new CliError(`unknown table ${table}`);
      ctx.out(
        o.json,
        rows,
        () =>
          rows.map((t) =>
            `${t.connector}.${t.tableName} (v${t.version}) — ${t.description}\n` +
            (t.columns as { name: string; type: string; description: string }[]).map((c) =>
              `  ${c.name.padEnd(22)} ${c.type.padEnd(10)} ${c.description}`
            ).join("\n")
          ).join("\n\n"),
      );
    });
}
