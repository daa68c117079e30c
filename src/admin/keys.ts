/**
 * `admin keys`: the tenant's data keys. `rotate` makes a new key version current and re-encrypts
 * what the catalog holds (connection credentials) with it; older versions keep decrypting until
 * nothing needs them, so no reader ever fails during a rotation (no downtime).
 *
 * @module
 */
import type { Command } from "commander";
import { auditedAction } from "./_admin_audit.ts";
import { type CliContext, tenantCatalog } from "./context.ts";

/**
 * Registers the `keys` commands.
 *
 * @example
 * ```ts ignore
 * registerKeys(program, ctx);
 * ```
 */
export function registerKeys(program: Command, ctx: CliContext): void {
  const keys = program.command("keys").description("tenant data keys (envelope encryption)");
  keys.command("rotate").description("rotate the tenant's data key and re-encrypt credentials")
    .requiredOption("--tenant <tenant>").option("--by <who>", "who rotates it")
    .option("--json", "JSON output")
    .action(async (o) => {
      const catalog = await tenantCatalog(ctx, o.tenant);
      const result = await auditedAction(
        catalog,
        { tenantId: o.tenant, command: "keys rotate", by: o.by },
        () => catalog.rotateTenantKey(o.tenant),
      );
      ctx.out(
        o.json,
        { tenant: o.tenant, ...result },
        () =>
          `tenant ${o.tenant} now encrypts with key version ${result.version}; ` +
          `${result.reencrypted} credential(s) re-encrypted`,
      );
    });
}
