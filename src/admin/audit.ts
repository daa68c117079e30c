/**
 * `admin audit`: tail and verify the hash-chained audit log (and, given the tenant's zone store
 * in `ZONE_<NAME>_DATABASE_URL`, the zone's chain that holds the queries' SQL text).
 *
 * @module
 */
import type { Command } from "commander";
import type { AuditVerification } from "../catalog/audit.ts";
import { openCatalog } from "../catalog/db.ts";
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
      const catalog = await ctx.catalog();
      const result = await catalog.verifyAudit(o.tenant);
      // The zone's own chain (the SQL text), when this CLI is given the zone's store.
      const zone = (await catalog.getTenant(o.tenant))?.zone;
      const zoneUrl = zone ? ctx.config.zoneDatabaseUrls[zone] : undefined;
      let zoneResult: AuditVerification | undefined;
      if (zoneUrl) {
        const zoneDb = await openCatalog({ databaseUrl: zoneUrl, maxConnections: 1 });
        try {
          zoneResult = await catalog.zoneAudit(zoneDb.db).verify(o.tenant);
        } finally {
          await zoneDb.close();
        }
      }
      ctx.out(
        o.json,
        zoneResult ? { ...result, zone_chain: { zone, ...zoneResult } } : result,
        () =>
          [
            result.ok
              ? `audit chain of ${o.tenant} is intact`
              : `audit chain BROKEN: ${JSON.stringify(result)}`,
            ...(zoneResult
              ? [
                zoneResult.ok
                  ? `zone ${zone} chain of ${o.tenant} is intact`
                  : `zone ${zone} chain BROKEN: ${JSON.stringify(zoneResult)}`,
              ]
              : []),
          ].join("\n"),
      );
      if (!result.ok || (zoneResult && !zoneResult.ok)) {
        throw new CliError("audit chain verification failed");
      }
    });
}
