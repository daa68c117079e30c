/**
 * `admin policies`: the tenant's row- and column-level policies — apply a `policy.yaml` (validated
 * against the tenant's tables and user attributes; nothing is stored when any rule is bad), show
 * the version in force, diff a file against it, and explain what one user gets for every table.
 *
 * @module
 */
import type { Command } from "commander";
import { CONNECTORS } from "../../connectors/mod.ts";
import { completeFromDirectory } from "../auth/directory.ts";
import { compilePolicy, parsePolicy, tenantPolicySchema } from "../policy/mod.ts";
import { auditedAction } from "./_admin_audit.ts";
import { type CliContext, CliError, tenantCatalog } from "./context.ts";

/**
 * Registers the `policies` commands.
 *
 * @example
 * ```ts ignore
 * registerPolicies(program, ctx);
 * ```
 */
export function registerPolicies(program: Command, ctx: CliContext): void {
  const policies = program.command("policies").description("row- and column-level policies");
  policies.command("show").requiredOption("--tenant <tenant>").option("--json", "JSON output")
    .action(async (o) => {
      const policy = await (await ctx.catalog()).getPolicy(o.tenant);
      ctx.out(o.json, policy ?? null, () => policy ? policy.source : `no policy for ${o.tenant}`);
    });
  policies.command("apply <file>").description("validate and apply a policy.yaml")
    .requiredOption("--tenant <tenant>").option("--by <who>", "who applies it")
    .option("--json", "JSON output")
    .action(async (file, o) => {
      const catalog = await tenantCatalog(ctx, o.tenant);
      const source = await readPolicyFile(file);
      const row = await auditedAction(
        catalog,
        { tenantId: o.tenant, command: `policies apply ${file}`, by: o.by },
        async () => {
          const doc = parsePolicy(source, await tenantPolicySchema(catalog, o.tenant, CONNECTORS));
          const stored = await catalog.putPolicy(o.tenant, source, o.by ?? "admin-cli");
          return { ...stored, rules: doc.rules.length };
        },
      );
      ctx.out(
        o.json,
        { tenant: o.tenant, version: row.version, rules: row.rules },
        () => `applied policy version ${row.version} to ${o.tenant} (${row.rules} rules)`,
      );
    });
  policies.command("explain").description("what a user of the directory gets for every table")
    .requiredOption("--tenant <tenant>").requiredOption("--user <email>")
    .option("--json", "JSON output")
    .action(async (o) => {
      const catalog = await ctx.catalog();
      const user = await catalog.getUser(o.tenant, o.user);
      if (!user) throw new CliError(`no user ${o.user} in the directory of ${o.tenant}`);
      const schema = await tenantPolicySchema(catalog, o.tenant, CONNECTORS);
      const current = await catalog.getPolicy(o.tenant);
      const policy = compilePolicy(current ? parsePolicy(current.source, schema) : { rules: [] }, {
        tenantId: o.tenant,
        version: current?.version ?? 0,
        schema,
      });
      // What a query of this user gets with a token carrying no other claim: the same
      // completion from the directory as at query time.
      const tables = policy.explain(
        completeFromDirectory({ sub: user.email, tenant: o.tenant }, user),
      );
      ctx.out(
        o.json,
        { tenant: o.tenant, user: o.user, role: user.role, version: policy.version, tables },
        () =>
          [
            `${o.user} (role ${user.role}, team ${user.teamId ?? "-"}) under policy version ` +
            `${policy.version} of ${o.tenant}:`,
            ...tables.flatMap((t) =>
              t.access === "denied" ? [`${t.table}: denied (${t.rule})`] : [
                `${t.table}: ${t.rows.length ? "rows where every row rule holds" : "every row"}${
                  t.columns.length ? "" : ", every column"
                }`,
                ...t.rows.map((r) =>
                  `  row rule ${r.rule}: ${r.text} with ${
                    Object.entries(r.attributes).map(([a, v]) => `user.${a} = ${JSON.stringify(v)}`)
                      .join(", ") || "no attributes"
                  }`
                ),
                ...t.columns.map((c) => `  ${c.column}: ${c.effect} (${c.rule})`),
              ]
            ),
          ].join("\n"),
      );
    });
  policies.command("diff <file>").description("compare a policy.yaml with the one in force")
    .requiredOption("--tenant <tenant>").option("--json", "JSON output")
    .action(async (file, o) => {
      const catalog = await ctx.catalog();
      const schema = await tenantPolicySchema(catalog, o.tenant, CONNECTORS);
      const proposed = rulesById(parsePolicy(await readPolicyFile(file), schema).rules);
      const current = await catalog.getPolicy(o.tenant);
      const inForce = rulesById(current ? parsePolicy(current.source, schema).rules : []);
      const diff = {
        version: current?.version ?? 0,
        added: [...proposed].filter(([id]) => !inForce.has(id)).map(([id, text]) => ({ id, text })),
        removed: [...inForce].filter(([id]) => !proposed.has(id)).map(([id, text]) => ({
          id,
          text,
        })),
        changed: [...proposed].filter(([id, text]) => inForce.has(id) && inForce.get(id) !== text)
          .map(([id, text]) => ({ id, from: inForce.get(id), to: text })),
      };
      ctx.out(o.json, diff, () =>
        [
          ...diff.added.map((r) => `+ ${r.id}: ${r.text}`),
          ...diff.removed.map((r) => `- ${r.id}: ${r.text}`),
          ...diff.changed.flatMap((r) => [`- ${r.id}: ${r.from}`, `+ ${r.id}: ${r.to}`]),
        ].join("\n") || `no changes against version ${diff.version}`);
    });
}

async function readPolicyFile(file: string): Promise<string> {
  try {
    return await Deno.readTextFile(file);
  } catch (err) {
    throw new CliError(`cannot read ${file}: ${(err as Error).message}`);
  }
}

function rulesById(rules: { id: string; text: string }[]): Map<string, string> {
  return new Map(rules.map((r) => [r.id, r.text.trim()]));
}
