/**
 * `admin users`: the tenant's user directory (roles, teams).
 *
 * @module
 */
import type { Command } from "commander";
import type { CliContext } from "./context.ts";

/**
 * Registers the `users` commands.
 *
 * @example
 * ```ts ignore
 * registerUsers(program, ctx);
 * ```
 */
export function registerUsers(program: Command, ctx: CliContext): void {
  const users = program.command("users").description("users and their attributes");
  users.command("list").requiredOption("--tenant <tenant>").option("--json", "JSON output")
    .action(async (o) => {
      const rows = await (await ctx.catalog()).listUsers(o.tenant);
      ctx.out(
        o.json,
        rows,
        () => rows.map((u) => `${u.email}\t${u.role}\t${u.teamId ?? "-"}`).join("\n"),
      );
    });
}
