/**
 * `admin audit`: tail and verify the hash-chained audit log.
 *
 * @module
 */
import type { Command } from "commander";
import { type CliContext, CliError } from "./context.ts";

/**
 * Registers the `audit` commands.
 *
 * @example
 * ```ts ignore
 * registerAudit(program, ctx);
 * ```
 */
export function registerAudit(program: Command, ctx: CliContext): void {
  const audit = program.command("audit").description("the audit log");
  audit.command("tail").requiredOption("--tenant <tenant>").option("-n <count>", "rows", "20")
    .option("--json", "JSON output")
    .action(async (o) => {
      const rows = await (await ctx.catalog()).tailAudit(o.tenant, Number(o.n));
      ctx.out(
        o.json,
        rows,
        () =>
          rows.map((r) =>
            `${r.createdAt.toISOString()}\t${r.userEmail}\t${r.status}\t${
              r.errorCode ?? ""
            }\t${r.sql}`
          ).join("\n"),
      );
    });
  audit.command("verify").requiredOption("--tenant <tenant>").option("--json", "JSON output")
    .action(async (o) => {
      const result = await (await ctx.catalog()).verifyAudit(o.tenant);
      ctx.out(
        o.json,
        result,
        () =>
          result.ok
            ? `audit chain of ${o.tenant} is intact`
            : `audit chain BROKEN: ${JSON.stringify(result)}`,
      );
      if (!result.ok) throw new CliError("audit chain verification failed");
    });
}
