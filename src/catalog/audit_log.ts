/**
 * One database's hash-chained audit log: the catalog's own, or the one in a zone's own store
 * (`ZONE_<NAME>_DATABASE_URL`), where the SQL text of that zone's queries lives. Both are hashed
 * alike, with the deployment's audit key.
 *
 * @module
 */
import type { CatalogDatabase } from "./db.ts";
import type { AuditRow } from "./schema.ts";
import {
  type AuditKeyOptions,
  type AuditRecord,
  type AuditVerification,
  AuditWriter,
  tailAudit,
  verifyAudit,
} from "./audit.ts";

/**
 * An audit chain in one database.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { openCatalog } from "./db.ts";
 * import { AuditLog } from "./audit_log.ts";
 * const { db, close } = await openCatalog({});
 * const log = new AuditLog(db, { auditKey: "k" });
 * const record = {
 *   tenantId: "acme", userEmail: "a@acme.com", zone: "us", traceId: "t1", sql: "SELECT 1",
 *   kind: "query" as const, tables: [], rows: 1, status: 200, errorCode: null,
 * };
 * await log.append(record);
 * assert.deepEqual(await log.verify("acme"), { ok: true, rows: 1 });
 * await close();
 * ```
 */
export class AuditLog {
  readonly #db: CatalogDatabase;
  readonly #options: AuditKeyOptions;
  readonly #writer: AuditWriter;

  constructor(db: CatalogDatabase, options: AuditKeyOptions = {}) {
    this.#db = db;
    this.#options = options;
    this.#writer = new AuditWriter(db, options);
  }

  /** Appends to the tenant's chain (safe under concurrent appends). */
  append(record: AuditRecord): Promise<AuditRow> {
    return this.#writer.append(record);
  }

  /** Checks the tenant's chain from the start. */
  verify(tenantId: string): Promise<AuditVerification> {
    return verifyAudit(this.#db, tenantId, this.#options);
  }

  /** The tenant's newest `n` rows, oldest first. */
  tail(tenantId: string, n: number): Promise<AuditRow[]> {
    return tailAudit(this.#db, tenantId, n);
  }
}
