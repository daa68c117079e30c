/**
 * `admin policies`: the tenant's row- and column-level policies.
 *
 * @module
 */
import type { Command } from "commander";
import type { CliContext } from "./context.ts";

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
}
