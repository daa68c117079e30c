/**
 * The async-queue-depth gauge's reading: a zone's jobs waiting or running, counted in the
 * zone's store where the job queue keeps them.
 *
 * @module
 */
import { and, count, eq, inArray } from "drizzle-orm";
import type { CatalogDatabase } from "../catalog/db.ts";
import { jobs } from "../catalog/schema.ts";

/**
 * Counts a zone's queued and running jobs.
 *
 * @example
 * ```ts ignore
 * metrics.observeQueueDepth(() => openJobCount(catalog, "us"));
 * ```
 */
export async function openJobCount(store: { db: CatalogDatabase }, zone: string): Promise<number> {
  const [row] = await store.db.select({ n: count() }).from(jobs)
    .where(and(eq(jobs.zone, zone), inArray(jobs.status, ["queued", "running"])));
  return Number(row?.n ?? 0);
}
