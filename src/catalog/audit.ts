/**
 * The audit log: append-only and hash-chained per tenant. Each row's `hash` is the SHA-256 (hex)
 * of its `prev_hash` followed by the canonical JSON of its fields (id included) — keyed, as
 * `hmac:` + HMAC-SHA-256 hex, when the deployment has an audit key (`OMNISQL_AUDIT_KEY`, which the
 * database never holds), so the table's owner cannot rewrite the chain consistently — and its
 * `prev_hash` is the previous row's `hash` for the same tenant (64 zeros for the first row); so
 * editing, deleting or reordering a row breaks the chain at or after that row. Each append also
 * moves the tenant's chain head (`audit_heads`: last id, hash, row count) in the same
 * transaction, so removing the newest rows — which leaves a valid but shorter chain — is detected
 * too. The database refuses updates and deletes of audit rows and moving a head backwards
 * (triggers of migration `0003_audit_append_only`).
 *
 * @module
 */
import { and, asc, desc, eq, gt, inArray, sql } from "drizzle-orm";
import { type CatalogDatabase, executeRows } from "./db.ts";
import { auditHeads, auditLog, type AuditRow, type NewAuditRow } from "./schema.ts";
import { canonicalJson } from "./_canonical_json.ts";
import { createHmac } from "node:crypto";
import { sha256Hex } from "../crypto/sha256.ts";

/**
 * What a caller records; id and hashes are filled in by {@link appendAudit}, and the time too
 * unless the record carries when it was answered (`createdAt`, set by an audit journal).
 */
export type AuditRecord = Omit<NewAuditRow, "id" | "prevHash" | "hash"> & {
  /**
   * The record may already be in the chain (a journal replaying after a crash, or retrying a
   * commit that failed after it reached the database): its `journalEntry` is looked up first.
   */
  recheck?: boolean;
};

/**
 * What a central record holds instead of a query's SQL text when the text must stay in the
 * tenant's zone: `sha256:` + the hex digest of the text (an auditor holding the text can match
 * it; nobody can read it back).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { sqlDigest } from "./audit.ts";
 * assert.match(await sqlDigest("SELECT 1"), /^sha256:[0-9a-f]{64}$/);
 * ```
 */
export async function sqlDigest(sql: string): Promise<string> {
  return `sha256:${await sha256Hex(sql)}`;
}

/** The result of {@link verifyAudit}. */
export type AuditVerification =
  | { ok: true; rows: number }
  | { ok: false; brokenAt: number; reason: string };

/** `prev_hash` of a tenant's first audit row. */
export const GENESIS_HASH: string = "0".repeat(64);

const VERIFY_BATCH = 1000;

/** How keyed hashes begin, so a verifier tells keyed rows from unkeyed ones. */
const KEYED = "hmac:";

/** The audit key, when the deployment has one: every hash of the chain is an HMAC with it. */
export interface AuditKeyOptions {
  /** `OMNISQL_AUDIT_KEY`. @default none: unkeyed SHA-256 (the local stack) */
  auditKey?: string;
}

/**
 * Appends a row to the tenant's chain. Safe under concurrent appends for one tenant, across
 * processes: a transaction-scoped advisory lock on the tenant serialises them.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { openCatalog } from "./db.ts";
 * import { appendAudit, GENESIS_HASH } from "./audit.ts";
 * const { db, close } = await openCatalog({});
 * const row = await appendAudit(db, {
 *   tenantId: "acme", userEmail: "dev@acme", zone: "us", traceId: "t1",
 *   sql: "SELECT 1", tables: [], rows: 1, status: 200, kind: "query",
 * });
 * assert.ok(row.prevHash === GENESIS_HASH);
 * await close();
 * ```
 */
export async function appendAudit(
  db: CatalogDatabase,
  record: AuditRecord,
  options: AuditKeyOptions = {},
): Promise<AuditRow> {
  const [row] = await appendAuditBatch(db, [record], options);
  return row;
}

/**
 * Appends several rows of ONE tenant's chain in one transaction (group commit): one lock, one
 * head move, ids and hashes in the given order. Rows of another tenant are refused. A record
 * marked `recheck` whose `journalEntry` is already in the chain (a journal replaying after a
 * crash) is not appended again: its existing row is returned in its place.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { openCatalog } from "./db.ts";
 * import { appendAuditBatch } from "./audit.ts";
 * const { db, close } = await openCatalog({});
 * const rec = { tenantId: "acme", userEmail: "u", zone: "us", traceId: "t", sql: "SELECT 1",
 *   tables: [], rows: 1, status: 200, kind: "query" as const };
 * const [a, b] = await appendAuditBatch(db, [rec, rec]);
 * assert.ok(b.prevHash === a.hash);
 * await close();
 * ```
 */
export async function appendAuditBatch(
  db: CatalogDatabase,
  records: AuditRecord[],
  options: AuditKeyOptions = {},
): Promise<AuditRow[]> {
  if (records.length === 0) return [];
  const tenantId = records[0].tenantId;
  if (records.some((r) => r.tenantId !== tenantId)) {
    throw new Error("an audit batch holds one tenant's rows");
  }
  // Four round trips: the lock, the chain's end with fresh ids, the rows with the head, commit.
  return await db.transaction(async (tx) => {
    await tx.execute(sql`select pg_advisory_xact_lock(hashtext(${tenantId}))::text`);
    const existing = await journalled(tx, tenantId, records);
    const fresh = records.filter((r) => !existing.has(r.journalEntry ?? ""));
    if (fresh.length === 0) return records.map((r) => existing.get(r.journalEntry!)!);
    const [end] = await executeRows<{ last: string | null; ids: unknown }>(
      tx,
      sql`select
            (select hash from audit_log where tenant_id = ${tenantId}
              order by id desc limit 1) as last,
            array(select nextval(pg_get_serial_sequence('audit_log', 'id'))::text
              from generate_series(1, ${fresh.length})) as ids`,
    );
    const ids = idList(end.ids).sort((a, b) => a - b);
    let prevHash = end.last ?? GENESIS_HASH;
    const rows: AuditRow[] = [];
    const now = new Date();
    for (const [i, record] of fresh.entries()) {
      const row: AuditRow = {
        id: ids[i],
        tenantId,
        // Postgres JSON cannot hold NUL nor an unpaired surrogate (such requests are refused
        // anyway): the record shows U+FFFD in their place, so no text can stop the chain.
        userEmail: storable(record.userEmail),
        zone: storable(record.zone),
        traceId: storable(record.traceId),
        sql: storable(record.sql),
        tables: (record.tables ?? []).map(storable),
        rows: record.rows ?? null,
        status: record.status,
        errorCode: record.errorCode ?? null,
        kind: record.kind,
        createdAt: record.createdAt ?? now,
        prevHash,
        hash: "",
        journalEntry: record.journalEntry ?? null,
        door: record.door ?? null,
      };
      row.hash = await auditHash(row, options.auditKey);
      prevHash = row.hash;
      rows.push(row);
      // A full batch hashes for milliseconds on the thread that answers: let answers through.
      if (i % 32 === 31) await new Promise((resolve) => setTimeout(resolve, 0));
    }
    const head = rows[rows.length - 1];
    // The rows and the head move in one statement (a data-modifying CTE always runs in full).
    // The rows travel as one JSON parameter (not 16 per row): binding and encoding thousands of
    // parameters cost more than the insert itself on a busy batch.
    const json = JSON.stringify(rows.map((r) => ({ ...r, createdAt: r.createdAt.toISOString() })));
    await tx.execute(sql`with appended as (
        insert into audit_log (id, tenant_id, user_email, zone, trace_id, sql, tables, rows,
          status, error_code, kind, created_at, prev_hash, hash, journal_entry, door)
        select id, "tenantId", "userEmail", zone, "traceId", sql, tables, rows, status,
          "errorCode", kind, "createdAt", "prevHash", hash, "journalEntry", door
        from jsonb_to_recordset(${json}::jsonb) as r(id bigint, "tenantId" text,
          "userEmail" text, zone text, "traceId" text, sql text, tables jsonb, rows integer,
          status integer, "errorCode" text, kind text, "createdAt" timestamptz,
          "prevHash" text, hash text, "journalEntry" text, door text))
      insert into audit_heads (tenant_id, last_id, hash, rows)
      values (${tenantId}, ${head.id}, ${head.hash}, ${rows.length})
      on conflict (tenant_id) do update set
        last_id = excluded.last_id, hash = excluded.hash, rows = audit_heads.rows + excluded.rows`);
    if (existing.size === 0) return rows;
    const appended = rows.values();
    return records.map((r) => existing.get(r.journalEntry ?? "") ?? appended.next().value!);
  });
}

/** The rows of the chain that already hold one of these records' journal entries. */
async function journalled(
  tx: Pick<CatalogDatabase, "select">,
  tenantId: string,
  records: AuditRecord[],
): Promise<Map<string, AuditRow>> {
  const entries = records.flatMap((r) => r.recheck && r.journalEntry ? [r.journalEntry] : []);
  if (entries.length === 0) return new Map();
  const rows = await tx.select().from(auditLog).where(
    and(eq(auditLog.tenantId, tenantId), inArray(auditLog.journalEntry, entries)),
  );
  return new Map(rows.map((r) => [r.journalEntry!, r]));
}

function storable(text: string): string {
  return text.toWellFormed().replaceAll("\u0000", "\uFFFD");
}

/** Ids from a text[] column, whichever form the driver gives it in. */
function idList(value: unknown): number[] {
  const items = Array.isArray(value)
    ? value
    : String(value ?? "").replace(/^\{|\}$/g, "").split(",").filter(Boolean);
  return items.map((v) => Number(v));
}

/**
 * Batches concurrent appends per tenant: while one tenant's transaction is in flight, the
 * records that arrive wait and go together in the next one. Each caller's promise settles when
 * its own row is committed (or its batch failed), so "audited before answering" still holds.
 *
 * @example
 * ```ts ignore
 * const writer = new AuditWriter(db);
 * await Promise.all([writer.append(a), writer.append(b)]); // one transaction
 * ```
 */
export class AuditWriter {
  readonly #db: CatalogDatabase;
  readonly #queues = new Map<
    string,
    { record: AuditRecord; resolve: (row: AuditRow) => void; reject: (err: unknown) => void }[]
  >();
  readonly #flushing = new Set<string>();
  readonly #options: AuditKeyOptions;

  constructor(db: CatalogDatabase, options: AuditKeyOptions = {}) {
    this.#db = db;
    this.#options = options;
  }

  /** Appends a record; settles once it is committed. */
  append(record: AuditRecord): Promise<AuditRow> {
    return new Promise((resolve, reject) => {
      const queue = this.#queues.get(record.tenantId) ?? [];
      queue.push({ record, resolve, reject });
      this.#queues.set(record.tenantId, queue);
      if (!this.#flushing.has(record.tenantId)) {
        // From the next microtask: records appended together (a journal's batch) share it.
        this.#flushing.add(record.tenantId);
        queueMicrotask(() => void this.#flush(record.tenantId));
      }
    });
  }

  async #flush(tenantId: string): Promise<void> {
    this.#flushing.add(tenantId);
    try {
      for (;;) {
        const queue = this.#queues.get(tenantId) ?? [];
        if (queue.length === 0) break;
        const batch = queue.splice(0, MAX_BATCH);
        try {
          const rows = await appendAuditBatch(
            this.#db,
            batch.map((w) => w.record),
            this.#options,
          );
          batch.forEach((w, i) => w.resolve(rows[i]));
        } catch (err) {
          batch.forEach((w) => w.reject(err));
        }
      }
    } finally {
      this.#flushing.delete(tenantId);
      this.#queues.delete(tenantId);
    }
  }
}

const MAX_BATCH = 1000;

/**
 * Walks the tenant's chain from the first row and reports the first row where it breaks.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { openCatalog } from "./db.ts";
 * import { verifyAudit } from "./audit.ts";
 * const { db, close } = await openCatalog({});
 * assert.ok((await verifyAudit(db, "acme")).ok); // an empty chain is valid
 * await close();
 * ```
 */
export async function verifyAudit(
  db: CatalogDatabase,
  tenantId: string,
  options: AuditKeyOptions = {},
): Promise<AuditVerification> {
  const { auditKey } = options;
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
      // With the key, every row must be keyed: an unkeyed row is one rewritten without it.
      if (auditKey && !row.hash.startsWith(KEYED)) {
        return {
          ok: false,
          brokenAt: row.id,
          reason: "the row's hash is not keyed with the audit key: the chain was rewritten by " +
            "someone without OMNISQL_AUDIT_KEY (or written before the key was set)",
        };
      }
      if (!auditKey && row.hash.startsWith(KEYED)) {
        return {
          ok: false,
          brokenAt: row.id,
          reason: "the chain is keyed: set OMNISQL_AUDIT_KEY (the servers' audit key) to verify it",
        };
      }
      if (row.hash !== await auditHash(row, auditKey)) {
        return {
          ok: false,
          brokenAt: row.id,
          reason: "the row's contents do not match its hash" +
            (auditKey ? " (edited, or verified with another audit key)" : ""),
        };
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
 * import assert from "node:assert/strict";
 * import { openCatalog } from "./db.ts";
 * import { tailAudit } from "./audit.ts";
 * const { db, close } = await openCatalog({});
 * assert.ok((await tailAudit(db, "acme", 10)).length === 0);
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
 * The hash of an audit row: SHA-256 hex of `prev_hash` + the canonical JSON of its other fields;
 * with an audit key, `hmac:` + the HMAC-SHA-256 hex of the same text.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { auditHash, GENESIS_HASH } from "./audit.ts";
 * const hash = await auditHash({
 *   id: 1, tenantId: "acme", userEmail: "dev@acme", zone: "us", traceId: "t", sql: "SELECT 1",
 *   tables: [], rows: 1, status: 200, errorCode: null, kind: "query",
 *   createdAt: new Date(0), prevHash: GENESIS_HASH,
 * });
 * assert.ok(hash.length === 64);
 * ```
 */
export async function auditHash(
  row: Omit<AuditRow, "hash" | "journalEntry" | "door"> & { door?: string | null },
  auditKey?: string,
): Promise<string> {
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
    // Absent (not null) when unset, so rows written before doors were recorded keep their hash.
    door: row.door ?? undefined,
  };
  const text = row.prevHash + recordJson(fields);
  if (auditKey) return KEYED + createHmac("sha256", auditKey).update(text).digest("hex");
  return await sha256Hex(text);
}

/**
 * `canonicalJson` of a record's fields, written out in its key order: the chain hashes every
 * record, on the thread that answers, and the generic walk (entries, sort, recursion) cost
 * several times this. Anything unexpected in `tables` takes the generic walk.
 */
function recordJson(f: {
  id: number;
  tenantId: string;
  userEmail: string;
  zone: string;
  traceId: string;
  sql: string;
  tables: unknown;
  rows: number | null;
  status: number;
  errorCode: string | null;
  kind: string;
  createdAt: string;
  door: string | undefined;
}): string {
  const tables = f.tables;
  const { door: _door, ...required } = f;
  if (
    !Array.isArray(tables) || !tables.every((t) => typeof t === "string") ||
    Object.values(required).includes(undefined)
  ) {
    return canonicalJson(f);
  }
  const j = (v: unknown) => v === null || v === undefined ? "null" : JSON.stringify(v);
  return `{"createdAt":${j(f.createdAt)},${
    f.door === undefined ? "" : `"door":${j(f.door)},`
  }"errorCode":${j(f.errorCode)},"id":${j(f.id)},"kind":${j(f.kind)},"rows":${j(f.rows)},"sql":${
    j(f.sql)
  },"status":${j(f.status)},"tables":${JSON.stringify(tables)},"tenantId":${
    j(f.tenantId)
  },"traceId":${j(f.traceId)},"userEmail":${j(f.userEmail)},"zone":${j(f.zone)}}`;
}
