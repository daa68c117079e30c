/**
 * Where a query's audit record goes, so its SQL text stays in the tenant's zone. The central
 * catalog's chain records every query (who, when, which tables, the outcome); its SQL text —
 * which can quote personal data in literals — is kept only where the zone keeps its data:
 *
 * - a zone worker with its own store (`ZONE_<NAME>_DATABASE_URL`) appends the full record to the
 *   zone's chain there, and the central record carries `sha256:<digest>` of the text;
 * - a zone worker without one (the local stack's single database) keeps the text centrally;
 * - the edge, which is global, never records the text: only its digest.
 *
 * @module
 */
import { type AuditRecord, sqlDigest } from "./audit.ts";
import type { CatalogDatabase } from "./db.ts";
import type { Catalog } from "./store.ts";
import type { AuditRow } from "./schema.ts";

/** Appends a query's audit record. */
export type AuditAppender = (record: AuditRecord) => Promise<AuditRow>;

/**
 * The appender of a zone worker: with the zone's own store, the text goes to the zone's chain
 * and the central record gets its digest (zone first: a record that cannot be kept in the zone
 * is not kept centrally either, and the answer is withheld).
 *
 * @example
 * ```ts ignore
 * const append = zoneAuditAppender(catalog, zoneDb);
 * await append({ tenantId: "acme", sql: "SELECT 1", ... });
 * ```
 */
export function zoneAuditAppender(catalog: Catalog, zoneDb?: CatalogDatabase): AuditAppender {
  if (!zoneDb) return (record) => catalog.appendAudit(record);
  const zone = catalog.zoneAudit(zoneDb);
  return async function appendInZone(record) {
    await zone.append(record);
    return await catalog.appendAudit({ ...record, sql: await sqlDigest(record.sql) });
  };
}

/**
 * The edge's appender: the central record carries only the digest of the SQL text.
 *
 * @example
 * ```ts ignore
 * const journal = new AuditJournal({ commit: (rs) => Promise.all(rs.map(digestAuditAppender(catalog))) });
 * ```
 */
export function digestAuditAppender(catalog: Catalog): AuditAppender {
  return async function appendDigest(record) {
    return await catalog.appendAudit({ ...record, sql: await sqlDigest(record.sql) });
  };
}
