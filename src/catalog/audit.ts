/**
 * The audit log: append-only and hash-chained per tenant. Each row's `hash` is the SHA-256 (hex)
 * of its `prev_hash` followed by the canonical JSON of its fields (id included), and its
 * `prev_hash` is the previous row's `hash` for the same tenant (64 zeros for the first row); so
 * editing, deleting or reordering a row breaks the chain at or after that row. Each append also
 * moves the tenant's chain head (`audit_heads`: last id, hash, row count) in the same
 * transaction, so removing the newest rows — which leaves a valid but shorter chain — is detected
 * too. The database refuses updates and deletes of audit rows and moving a head backwards
 * (triggers of migration `0003_audit_append_only`).
 *
 * @module
 */
import { and, asc, desc, eq, gt, sql } from "drizzle-orm";
import { type CatalogDatabase, executeRows } from "./db.ts";
import { auditHeads, auditLog, type AuditRow, type NewAuditRow } from "./schema.ts";
import { canonicalJson } from "./_canonical_json.ts";

/** What a caller records; id, time and hashes are filled in by {@link appendAudit}. */
export type AuditRecord = Omit<NewAuditRow, "id" | "createdAt" | "prevHash" | "hash">;

/** The result of {@link verifyAudit}. */
export type AuditVerification =
  | { ok: true; rows: number }
  | { ok: false; brokenAt: number; reason: string };

/** `prev_hash` of a tenant's first audit row. */
export const GENESIS_HASH: string = "0".repeat(64);

const VERIFY_BATCH = 1000;

/**
 * Appends a row to the tenant's chain. Safe under concurrent appends for one tenant, across
 * processes: a transaction-scoped advisory lock on the tenant serialises them.
 *
 * @example
 * ```ts
 * import { openCatalog } from "./db.ts";
 * import { appendAudit, GENESIS_HASH } from "./audit.ts";
 * const { db, close } = await openCatalog({});
 * const row = await appendAudit(db, {
 *   tenantId: "acme", userEmail: "dev@acme", zone: "us", traceId: "t1",
 *   sql: "SELECT 1", tables: [], rows: 1, status: 200, kind: "query",
 * });
 * console.assert(row.prevHash === GENESIS_HASH);
 * await close();
 * ```
 */
export async function appendAudit(db: CatalogDatabase, record: AuditRecord): Promise<AuditRow> {
  return await db.transaction(async (tx) => {
    await tx.execute(sql`select pg_advisory_xact_lock(hashtext(${record.tenantId}))::text`);
    const [last] = await tx
      .select({ hash: auditLog.hash })
      .from(auditLog)
      .where(eq(auditLog.tenantId, record.tenantId))
      .orderBy(desc(auditLog.id))
      .limit(1);
    const [{ id }] = await executeRows<{ id: string }>(
      tx,
      sql`select nextval(pg_get_serial_sequence('audit_log', 'id'))::text as id`,
    );
    const row: AuditRow = {
      id: Number(id),
      tenantId: record.tenantId,
      userEmail: record.userEmail,
      zone: record.zone,
      traceId: record.traceId,
      sql: record.sql,
      tables: record.tables ?? [],
      rows: record.rows ?? null,
      status: record.status,
      errorCode: record.errorCode ?? null,
      kind: record.kind,
      createdAt: new Date(),
      prevHash: last?.hash ?? GENESIS_HASH,
      hash: "",
    };
    row.hash = await auditHash(row);
    const [inserted] = await tx.insert(auditLog).values(row).returning();
    await tx.insert(auditHeads).values({
      tenantId: row.tenantId,
      lastId: row.id,
      hash: row.hash,
      rows: 1,
    })
      .onConflictDoUpdate({
        target: auditHeads.tenantId,
        set: { lastId: row.id, hash: row.hash, rows: sql`${auditHeads.rows} + 1` },
      });
    return inserted;
  });
}

/**
 * Walks the tenant's chain from the first row and reports the first row where it breaks.
 *
 * @example
 * ```ts
 * import { openCatalog } from "./db.ts";
 * import { verifyAudit } from "./audit.ts";
 * const { db, close } = await openCatalog({});
 * console.assert((await verifyAudit(db, "acme")).ok); // an empty chain is valid
 * await close();
 * ```
 */
export async function verifyAudit(
  db: CatalogDatabase,
  tenantId: string,
): Promise<AuditVerification> {
  let prevHash = GENESIS_HASH;
  let lastId = 0;
  let count = 0;
  for (;;) {
    const batch = await db
      .select()
      .from(auditLog)
      .where(and(eq(auditLog.tenantId, tenantId), gt(auditLog.id, lastId)))
      .orderBy(asc(auditLog.id))
      .limit(VERIFY_BATCH);
    for (const row of batch) {
      if (row.prevHash !== prevHash) {
        return {
          ok: false,
          brokenAt: row.id,
          reason: "prev_hash does not match the previous row's hash: a row before it was " +
            "deleted, inserted or edited",
        };
      }
      if (row.hash !== await auditHash(row)) {
        return { ok: false, brokenAt: row.id, reason: "the row's contents do not match its hash" };
      }
      prevHash = row.hash;
      lastId = row.id;
      count++;
    }
    if (batch.length < VERIFY_BATCH) break;
  }
  const [head] = await db.select().from(auditHeads).where(eq(auditHeads.tenantId, tenantId));
  if (!head && count === 0) return { ok: true, rows: 0 };
  if (!head || head.hash !== prevHash || head.lastId !== lastId || head.rows !== count) {
    return {
      ok: false,
      brokenAt: lastId,
      reason: head
        ? `the chain ends at row ${lastId} (${count} rows) but its head is row ${head.lastId} ` +
          `(${head.rows} rows): the newest rows were removed or the head was altered`
        : "the tenant's chain head is missing",
    };
  }
  return { ok: true, rows: count };
}

/**
 * The tenant's newest `n` audit rows, oldest first.
 *
 * @example
 * ```ts
 * import { openCatalog } from "./db.ts";
 * import { tailAudit } from "./audit.ts";
 * const { db, close } = await openCatalog({});
 * console.assert((await tailAudit(db, "acme", 10)).length === 0);
 * await close();
 * ```
 */
export async function tailAudit(
  db: CatalogDatabase,
  tenantId: string,
  n: number,
): Promise<AuditRow[]> {
  const rows = await db
    .select()
    .from(auditLog)
    .where(eq(auditLog.tenantId, tenantId))
    .orderBy(desc(auditLog.id))
    .limit(Math.max(0, Math.floor(n)));
  return rows.reverse();
}

/**
 * The hash of an audit row: SHA-256 hex of `prev_hash` + the canonical JSON of its other fields.
 *
 * @example
 * ```ts
 * import { auditHash, GENESIS_HASH } from "./audit.ts";
 * const hash = await auditHash({
 *   id: 1, tenantId: "acme", userEmail: "dev@acme", zone: "us", traceId: "t", sql: "SELECT 1",
 *   tables: [], rows: 1, status: 200, errorCode: null, kind: "query",
 *   createdAt: new Date(0), prevHash: GENESIS_HASH,
 * });
 * console.assert(hash.length === 64);
 * ```
 */
export async function auditHash(row: Omit<AuditRow, "hash">): Promise<string> {
  const fields = {
    id: row.id,
    tenantId: row.tenantId,
    userEmail: row.userEmail,
    zone: row.zone,
    traceId: row.traceId,
    sql: row.sql,
    tables: row.tables,
    rows: row.rows,
    status: row.status,
    errorCode: row.errorCode,
    kind: row.kind,
    createdAt: row.createdAt.toISOString(),
  };
  const bytes = new TextEncoder().encode(row.prevHash + canonicalJson(fields));
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", bytes));
  return Array.from(digest, (b) => b.toString(16).padStart(2, "0")).join("");
}
