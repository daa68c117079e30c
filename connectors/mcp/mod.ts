/**
 * The MCP connector: OmniSQL as a client of any SaaS app's MCP server (Streamable HTTP; stdio is
 * not for a multi-tenant gateway). A connection names the server's endpoint and credentials — a
 * static bearer token, or OAuth client credentials found through the server's protected-resource
 * metadata (MCP authorization spec) — and maps tools to tables in its config (see
 * `mapping.ts`; `discover.ts` derives mappings from tools' `outputSchema`). Everything else is the
 * SDK's: pushdown into tool arguments, cursor pages, retries and error mapping through the
 * query's client, plus a per-connection calls budget (MCP has no rate-limit headers).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { mcp } from "./mod.ts";
 * const tables = mcp.tablesFor!({ name: "support", config: { tables: [{ name: "tickets",
 *   tool: "list_tickets", records: "tickets", columns: [{ name: "id", type: "text" }] }] } });
 * assert.deepEqual(tables.map((t) => t.name), ["tickets"]);
 * ```
 *
 * @module
 */
import { type ConnectorDef, protocolReaders, type TableDef } from "../sdk/mod.ts";
import { readMcpConfig } from "./mapping.ts";
import { mcpTable } from "./table.ts";

export {
  type ArgumentMapping,
  type McpConfig,
  readMcpConfig,
  type TableMapping,
} from "./mapping.ts";
export { closeMcpSessions, mcpSession } from "./client.ts";
export { discoverTables } from "./discover.ts";

/** Tables built per config object: the planner asks on every query. */
const built = new WeakMap<Record<string, unknown>, TableDef[]>();

/** The MCP connector. */
export const mcp: ConnectorDef = {
  id: "mcp",
  description: "Any app's MCP server: tables from its tools (Streamable HTTP).",
  tables: [],
  tablesFor(connection) {
    let tables = built.get(connection.config);
    if (!tables) {
      tables = readMcpConfig(connection.config).config.tables.map((t) => mcpTable(mcp, t));
      built.set(connection.config, tables);
    }
    return tables;
  },
  configProblems: (config) => readMcpConfig(config).problems,
  connection: {
    baseUrl: "the server's MCP endpoint, e.g. https://mcp.example.com/mcp",
    config: [
      {
        name: "tables",
        type: "object[]",
        required: true,
        description: "tool → table mappings (README: MCP mapping format)",
      },
      {
        name: "budget",
        type: "object",
        description: "{calls, window_s}: calls allowed per window (default 600 per 60 s)",
      },
      {
        name: "oauth",
        type: "object",
        description: "{scope?, issuer?}: for OAuth client credentials",
      },
    ],
    credentials: [
      [{ name: "token", type: "string", required: true, description: "a bearer token" }],
      [
        { name: "clientId", type: "string", required: true, description: "OAuth client id" },
        {
          name: "clientSecret",
          type: "string",
          required: true,
          description: "OAuth client secret (client-credentials grant)",
        },
      ],
    ],
    example: {
      baseUrl: "https://mcp.example.com/mcp",
      config: {
        tables: [{
          name: "tickets",
          tool: "list_tickets",
          records: "tickets",
          cursor: { argument: "cursor", next: "next_cursor" },
          arguments: [{ argument: "status", column: "status", op: "=" }],
          columns: [{ name: "ticket_id", type: "text", path: "id" }, {
            name: "status",
            type: "text",
          }],
        }],
      },
      credentials: { token: "mcp_token_placeholder" },
    },
  },
  authorize: (connection): Record<string, string> =>
    connection.credentials.token ? { authorization: `Bearer ${connection.credentials.token}` } : {},
  // No MCP rate-limit headers exist; a server behind a gateway may still send the common ones.
  ...protocolReaders({
    rateLimit: {
      buckets: [
        {
          limit: "x-ratelimit-limit",
          remaining: "x-ratelimit-remaining",
          reset: "x-ratelimit-reset",
        },
      ],
    },
    errors: { messages: ["error.message", "error_description", "error", "message"] },
  }),
};
