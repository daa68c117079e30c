/**
 * API usage: the calls each connection's app charged, per tenant and UTC day, in the catalog —
 * the one store every process (edge, workers, the admin CLI, the console) reaches, and one that
 * keeps a month of history beyond any cache's life. A fetch adds its calls in one upsert; a 304
 * revalidation is not a charged call and never reaches here.
 *
 * @module
 */
import { and, asc, eq, gte, lt, sql, sum } from "drizzle-orm";
import type { CatalogDatabase } from "../catalog/db.ts";
import { apiUsage } from "../catalog/schema.ts";
import { dayOf, type Period } from "./periods.ts";
import { behindTheAnswer } from "../behind_the_answer.ts";

/** Calls of one connection on one day. */
export interface UsageDay {
  connectionId: string;
  connection: string;
  day: string;
  calls: number;
}

/**
 * Adds charged calls to today's count.
 *
 * @example
 * ```ts ignore
 * await recordUsage(db, { tenantId: "acme", connectionId: "c1", connection: "github", calls: 3 });
 * ```
 */
export async function recordUsage(
  db: CatalogDatabase,
  entry: { tenantId: string; connectionId: string; connection: string; calls: number },
  now = Date.now(),
): Promise<void> {
  if (!(entry.calls > 0)) return;
  await db.insert(apiUsage).values({ ...entry, day: dayOf(now) }).onConflictDoUpdate({
    target: [apiUsage.tenantId, apiUsage.connectionId, apiUsage.day],
    set: { calls: sql`${apiUsage.calls} + ${entry.calls}`, connection: entry.connection },
  });
}

/**
 * Usage writes of this process not landed yet ({@link recordUsageBehind}), per database and
 * connection (`tenant\nconnection id`): a read waits for the writes of what it counts only, so a
 * budgeted connection's fetch never waits for another query's answer.
 */
const inFlight = new WeakMap<CatalogDatabase, Map<string, Set<Promise<void>>>>();
const writesKey = (tenantId: string, connectionId: string) => `${tenantId}\n${connectionId}`;

/**
 * Adds charged calls to today's count without making the caller wait for the write, which starts
 * once `answered` settles (`behindTheAnswer`): the answer of the query that made the calls need
 * not wait for bookkeeping, nor share its thread with it (building and sending the upsert took
 * 0.2–2 ms between a join's last page and its engine step). Every read of usage in this process
 * ({@link usageIn}, {@link usageSince}) waits for the writes not landed yet of the connections it
 * counts, so this process never reads a count without its own calls. A failed write goes to
 * `onError`.
 *
 * @example
 * ```ts ignore
 * recordUsageBehind(db, { tenantId: "acme", connectionId: "c1", connection: "github", calls: 3 },
 *   (err) => console.error(err));
 * assertEquals(await usageIn(db, "acme", "c1", periodOf("month", Date.now())), 3);
 * ```
 */
export function recordUsageBehind(
  db: CatalogDatabase,
  entry: { tenantId: string; connectionId: string; connection: string; calls: number },
  onError: (err: unknown) => void,
  answered?: Promise<unknown>,
): void {
  let pending = inFlight.get(db);
  if (!pending) inFlight.set(db, pending = new Map());
  const key = writesKey(entry.tenantId, entry.connectionId);
  let writes = pending.get(key);
  if (!writes) pending.set(key, writes = new Set());
  const now = Date.now();
  const write = behindTheAnswer(answered).then(() => recordUsage(db, entry, now)).catch(onError);
  writes.add(write);
  void write.finally(() => {
    writes.delete(write);
    if (writes.size === 0 && pending.get(key) === writes) pending.delete(key);
  });
}

/**
 * Settles once every usage write of this process to `db` begun so far has landed (or failed), or
 * after `timeoutMs` (a catalog that stopped answering must not hold a server's shutdown): what a
 * server waits for before it closes its catalog.
 *
 * @example
 * ```ts ignore
 * await usageWritesSettled(catalog.db);
 * ```
 */
export async function usageWritesSettled(db: CatalogDatabase, timeoutMs = 5_000): Promise<void> {
  const pending = inFlight.get(db);
  if (!pending) return;
  let timer: ReturnType<typeof setTimeout> | undefined;
  await Promise.race([
    Promise.all([...pending.values()].flatMap((writes) => [...writes])),
    new Promise((resolve) => timer = setTimeout(resolve, timeoutMs)),
  ]);
  clearTimeout(timer);
}

/** Waits for the writes not landed yet of one connection, or of every connection of a tenant. */
async function writesLanded(
  db: CatalogDatabase,
  tenantId: string,
  connectionId?: string,
): Promise<void> {
  const pending = inFlight.get(db);
  if (!pending) return;
  const writes = connectionId !== undefined
    ? [...pending.get(writesKey(tenantId, connectionId)) ?? []]
    : [...pending].flatMap(([key, set]) => key.startsWith(`${tenantId}\n`) ? [...set] : []);
  if (writes.length > 0) await Promise.all(writes);
}

/**
 * Calls a connection made in a period.
 *
 * @example
 * ```ts ignore
 * const used = await usageIn(db, "acme", "c1", periodOf("month", Date.now()));
 * ```
 */
export async function usageIn(
  db: CatalogDatabase,
  tenantId: string,
  connectionId: string,
  period: Pick<Period, "firstDay" | "endDay">,
): Promise<number> {
  await writesLanded(db, tenantId, connectionId);
  const [row] = await db.select({ calls: sum(apiUsage.calls) }).from(apiUsage).where(and(
    eq(apiUsage.tenantId, tenantId),
    eq(apiUsage.connectionId, connectionId),
    gte(apiUsage.day, period.firstDay),
    lt(apiUsage.day, period.endDay),
  ));
  return Number(row?.calls ?? 0);
}

/**
 * A tenant's calls per connection and day since a day (`YYYY-MM-DD`), oldest first.
 *
 * @example
 * ```ts ignore
 * const days = await usageSince(db, "acme", "2026-12-01");
 * ```
 */
export async function usageSince(
  db: CatalogDatabase,
  tenantId: string,
  since: string,
): Promise<UsageDay[]> {
  await writesLanded(db, tenantId);
  const rows = await db.select().from(apiUsage)
    .where(and(eq(apiUsage.tenantId, tenantId), gte(apiUsage.day, since)))
    .orderBy(asc(apiUsage.day), asc(apiUsage.connection));
  return rows.map((r) => ({
    connectionId: r.connectionId,
    connection: r.connection,
    day: r.day,
    calls: Number(r.calls),
  }));
}
