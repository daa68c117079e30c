/**
 * `admin users`: the tenant's user directory — the role, team and attributes that policies read
 * (`user.role`, `user.team_id`, `user.<attribute>`).
 *
 * @module
 */
import type { Command } from "commander";
import { ATTRIBUTE_NAME, NOT_FROM_DIRECTORY } from "../auth/directory.ts";
import { auditedAction } from "./_admin_audit.ts";
import { type CliContext, CliError, tenantCatalog, tenantList } from "./context.ts";

/**
 * Registers the `users` commands.
 *
 * @example
 * ```ts ignore
 * registerUsers(program, ctx);
 * ```
 */
export function registerUsers(program: Command, ctx: CliContext): void {
  const users = program.command("users").description("users and the attributes policies read");
  tenantList(users, ctx, {
    description: "list a tenant's users",
    load: (catalog, tenant) => catalog.listUsers(tenant),
    fields: (u) => [u.email, u.role, u.teamId ?? "-"],
  });
  users.command("set <email>")
    .description("create or update a user's role, team and attributes")
    .requiredOption("--tenant <tenant>")
    .option("--role <role>", "role, e.g. developer, qa, admin (required for a new user)")
    .option("--team <team>", "team id (`-` clears it)")
    .option(
      "--attr <key=value>",
      "another attribute policies can read as user.<key> (repeatable)",
      (v: string, prev: string[] = []) => [...prev, v],
    )
    .option("--by <who>", "who makes the change (audit)")
    .option("--json", "JSON output")
    .action(async (email, o) => {
      const catalog = await tenantCatalog(ctx, o.tenant);
      const existing = await catalog.getUser(o.tenant, email);
      const role = o.role ?? existing?.role;
      if (!role) throw new CliError(`${email} is a new user: --role is required`);
      const attributes: Record<string, unknown> = { ...(existing?.attributes ?? {}) };
      for (const pair of (o.attr as string[] | undefined) ?? []) {
        const at = pair.indexOf("=");
        if (at <= 0) throw new CliError(`--attr takes key=value, got ${pair}`);
        const name = pair.slice(0, at);
        if (!ATTRIBUTE_NAME.test(name)) {
          throw new CliError(
            `--attr ${name}: an attribute name is lower-case letters, digits and _ (policies read user.${name.toLowerCase()})`,
          );
        }
        if (NOT_FROM_DIRECTORY.has(name)) {
          throw new CliError(
            `--attr ${name}: ${name} comes from the token (use --role / --team for the role and team)`,
          );
        }
        attributes[name] = pair.slice(at + 1);
      }
      const teamId = o.team === undefined
        ? existing?.teamId ?? null
        : o.team === "-"
        ? null
        : o.team;
      const user = await auditedAction(
        catalog,
        { tenantId: o.tenant, command: `users set ${email}`, by: o.by },
        () => catalog.upsertUser({ tenantId: o.tenant, email, role, teamId, attributes }),
      );
      ctx.out(
        o.json,
        user,
        () => `${user.email} in ${user.tenantId}: role ${user.role}, team ${user.teamId ?? "-"}`,
      );
    });
}
