/**
 * Running a table's scan to completion: plan, stream pages, count what it cost. The worker and
 * the connector tests use the same function, so what tests measure is what queries do.
 *
 * @module
 */
import { OmniError } from "../../src/errors.ts";
import { connectionTables, type ConnectorDef, type RateLimitInfo } from "./connector.ts";
import { SourceClient, type SourceClientOptions } from "./http.ts";
import type { Connection, Row, ScanOffer, ScanPlan, TableDef } from "./table.ts";

/** What a finished scan returns. */
export interface ScanResult {
  plan: ScanPlan;
  rows: Row[];
  /** Pages the table's scan yielded (list calls). */
  pages: number;
  /** HTTP requests the app charged (every answer but a 304), detail calls and retries included. */
  calls: number;
  /** Requests the app answered 304: rebuilt from stored validators, not charged. */
  revalidated: number;
  /** The source's own budget after the scan, from its rate-limit headers. */
  rateLimit?: RateLimitInfo;
}

/**
 * Finds a connector's table by name (among a connection's own tables when given, see
 * `connectionTables`), or throws `PLAN_FAILED`.
 *
 * @example
 * ```ts ignore
 * const table = findTable(github, "pull_requests");
 * ```
 */
export function findTable(
  connector: ConnectorDef,
  name: string,
  connection?: Pick<Connection, "name" | "config">,
): TableDef {
  const table = connectionTables(connector, connection).find((t) => t.name === name);
  if (!table) {
    throw new OmniError("PLAN_FAILED", `unknown table ${connection?.name ?? connector.id}.${name}`);
  }
  return table;
}

/** What {@link runScan} takes beyond the HTTP client's options. */
export interface ScanOptions extends SourceClientOptions {
  /** The table's plan for the offer. @default table.plan(offer, connection) */
  plan?: ScanPlan;
  /**
   * Called with each page's rows as they are collected, in order (a page cut at the plan's limit
   * with the rows kept): the result's rows are exactly these pieces, one after another.
   */
  onRows?: (rows: Row[]) => void;
}

/**
 * Plans and runs one table scan against the app, collecting every row.
 *
 * @example
 * ```ts ignore
 * const { rows, pages } = await runScan(github, findTable(github, "pull_requests"), connection,
 *   { predicates: [{ column: "status", op: "=", value: "open" }], columns: ["pr_id"] });
 * ```
 */
export async function runScan(
  connector: ConnectorDef,
  table: TableDef,
  connection: Connection,
  offer: ScanOffer,
  options: ScanOptions = {},
): Promise<ScanResult> {
  const plan = options.plan ?? table.plan(offer, connection);
  const http = new SourceClient(connector, connection, options);
  const signal = options.signal ?? new AbortController().signal;
  const rows: Row[] = [];
  let pages = 0;
  for await (const page of table.scan({ connection, http, signal }, plan)) {
    pages++;
    const start = rows.length;
    for (const row of page) rows.push(row);
    const limit = plan.limit ?? Infinity;
    if (rows.length > limit) rows.length = limit;
    options.onRows?.(rows.slice(start));
    if (rows.length >= limit) break;
  }
  return {
    plan,
    rows,
    pages,
    calls: http.stats.calls,
    revalidated: http.stats.revalidated,
    rateLimit: http.lastRateLimit,
  };
}
