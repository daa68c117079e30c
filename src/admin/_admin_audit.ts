/**
 * Every admin action that changes a tenant goes on the tenant's audit log (`kind: 'admin'`), with
 * its outcome: what was run, by whom, and whether it succeeded.
 *
 * @module
 */
import type { Catalog } from "../catalog/store.ts";
import { toOmniError } from "../errors.ts";

/** Who runs admin commands when the CLI is not told (`--by`). */
export const DEFAULT_ADMIN = "admin-cli";

/**
 * Runs an admin action and audits it — success or failure. When the success cannot be audited
 * the command fails (the change stands, but the operator is told the record is missing).
 */
export async function auditedAction<T>(
  catalog: Catalog,
  action: { tenantId: string; command: string; by?: string },
  run: () => Promise<T>,
): Promise<T> {
  const zone = (await catalog.getTenant(action.tenantId))?.zone ?? "none";
  const record = (status: number, errorCode: string | null) =>
    catalog.appendAudit({
      tenantId: action.tenantId,
      userEmail: action.by ?? DEFAULT_ADMIN,
      zone,
      traceId: crypto.randomUUID(),
      sql: `admin ${action.command}`,
      tables: [],
      rows: null,
      status,
      errorCode,
      kind: "admin",
    });
  let result: T;
  try {
    result = await run();
  } catch (err) {
    const error = toOmniError(err);
    await record(error.status, error.code).catch(() => {});
    throw err;
  }
  await record(200, null);
  return result;
}
