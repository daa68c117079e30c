/**
 * `admin jobs`: a tenant's async query jobs — list them, cancel one. Jobs live in the catalog's
 * `jobs` table, where each zone's job queue claims them; a cancelled job is not run, and a
 * running one stops at its runner's next heartbeat.
 *
 * @module
 */
import type { Command } from "commander";
import { and, desc, eq, inArray } from "drizzle-orm";
import { jobs } from "../catalog/schema.ts";
import { auditedAction } from "./_admin_audit.ts";
import { type CliContext, CliError } from "./context.ts";

const STATUSES = ["queued", "running", "succeeded", "failed", "cancelled"] as const;

/**
 * Registers the `jobs` commands.
 *
 * @example
 * ```ts ignore
 * registerJobs(program, ctx);
 * ```
 */
export function registerJobs(program: Command, ctx: CliContext): void {
  const cmd = program.command("jobs").description("async query jobs");
  cmd.command("list").description("a tenant's jobs, newest first (never their results)")
    .requiredOption("--tenant <tenant>")
    .option("--status <status>", `only jobs in this state: ${STATUSES.join(", ")}`)
    .option("-n <count>", "at most this many", "50")
    .option("--json", "JSON output")
    .action(async (o) => {
      if (o.status && !(STATUSES as readonly string[]).includes(o.status)) {
        throw new CliError(`--status must be one of ${STATUSES.join(", ")}`);
      }
      const n = Number(o.n);
      if (!Number.isInteger(n) || n <= 0) throw new CliError("-n must be a positive integer");
      const catalog = await ctx.catalog();
      const rows = await catalog.db.select({
        id: jobs.id,
        user: jobs.userEmail,
        zone: jobs.zone,
        status: jobs.status,
        traceId: jobs.traceId,
        attempts: jobs.attempts,
        createdAt: jobs.createdAt,
        finishedAt: jobs.finishedAt,
      }).from(jobs)
        .where(
          o.status
            ? and(eq(jobs.tenantId, o.tenant), eq(jobs.status, o.status))
            : eq(jobs.tenantId, o.tenant),
        )
        .orderBy(desc(jobs.createdAt)).limit(n);
      ctx.out(
        o.json,
        rows,
        () =>
          rows.length === 0
            ? `no jobs for ${o.tenant}`
            : rows.map((j) =>
              `${j.id}\t${j.status}\t${j.user}\t${j.zone}\t${j.createdAt.toISOString()}`
            ).join("\n"),
      );
    });
  cmd.command("cancel <id>").description("cancel a queued or running job")
    .requiredOption("--tenant <tenant>").option("--by <who>", "who cancels it (audit)")
    .option("--json", "JSON output")
    .action(async (id, o) => {
      const catalog = await ctx.catalog();
      const [job] = await catalog.db.select({ status: jobs.status }).from(jobs)
        .where(and(eq(jobs.id, id), eq(jobs.tenantId, o.tenant)));
      if (!job) throw new CliError(`tenant ${o.tenant} has no job ${id}`);
      const cancelled = await auditedAction(
        catalog,
        { tenantId: o.tenant, command: `jobs cancel ${id}`, by: o.by },
        () =>
          catalog.db.update(jobs).set({ status: "cancelled", finishedAt: new Date() })
            .where(and(eq(jobs.id, id), inArray(jobs.status, ["queued", "running"])))
            .returning({ id: jobs.id }),
      );
      const status = cancelled.length ? "cancelled" : job.status;
      ctx.out(
        o.json,
        { id, status },
        () => cancelled.length ? `job ${id} cancelled` : `job ${id} had already ${job.status}`,
      );
    });
}
