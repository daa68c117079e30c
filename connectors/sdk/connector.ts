/**
 * A connector: an app's tables plus how to authenticate and read its errors and rate limits.
 * The SDK's {@link SourceClient} applies these once for every connector.
 *
 * @module
 */
import type { ConnectionSchema } from "./connection_schema.ts";
import type { Connection, TableDef } from "./table.ts";

/** A source's own budget, as read from its rate-limit headers. */
export interface RateLimitInfo {
  limit?: number;
  remaining?: number;
  /** When the budget resets, epoch milliseconds. */
  resetAt?: number;
  /** Server-requested wait before the next call, milliseconds. */
  retryAfterMs?: number;
  /**
   * The reading is of a side budget (GitHub's search budget, 30 a minute), not the connection's
   * main one: it explains its own answer, but is not reported as the source's budget.
   */
  side?: boolean;
}

/** How a connector reads a failed answer. */
export interface ErrorReading {
  /** The app's own message, user-safe. */
  message: string;
  /** True when the answer means the source's budget is spent (even if the status is 400/403). */
  rateLimited?: boolean;
}

/** A connector declaration. */
export interface ConnectorDef {
  /** Connector id, also the default schema name, e.g. `github`. */
  id: string;
  description: string;
  /** The tables every connection of this connector has. */
  tables: TableDef[];
  /**
   * The tables of one connection, when they depend on its config (an MCP server's tools, mapped
   * per connection). Pure and synchronous: the planner, the policy schema and `/v1/catalog` call
   * it for every query. @default the connector's `tables`
   */
  tablesFor?(connection: Pick<Connection, "name" | "config">): TableDef[];
  /** What is wrong with a connection's config, checked when an admin sets it. @default none */
  configProblems?(config: Record<string, unknown>): string[];
  /** What a connection holds: base URL, config and credentials, with an example. */
  connection?: ConnectionSchema;
  /** Headers that authenticate a request for this connection. */
  authorize(connection: Connection): HeadersInit | Promise<HeadersInit>;
  /** Reads the app's rate-limit headers. */
  readRateLimit(headers: Headers): RateLimitInfo;
  /** Reads an error answer (status ≥ 400, or an error inside a 200 for GraphQL). */
  readError(status: number, body: unknown, headers: Headers): ErrorReading;
}

/**
 * The tables a connection exposes: its connector's `tablesFor`, else the connector's `tables`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { connectionTables } from "./connector.ts";
 * const connector = { id: "x", description: "", tables: [], authorize: () => ({}),
 *   readRateLimit: () => ({}), readError: () => ({ message: "" }) };
 * assert.deepEqual(connectionTables(connector, { name: "x", config: {} }), []);
 * ```
 */
export function connectionTables(
  connector: ConnectorDef,
  connection?: Pick<Connection, "name" | "config">,
): TableDef[] {
  return connection && connector.tablesFor ? connector.tablesFor(connection) : connector.tables;
}
