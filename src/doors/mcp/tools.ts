/**
 * The MCP tools an AI agent uses: `query`, `explain`, `list_tables` and `describe_table`. Each
 * runs through the gateway with the agent's user token (door `mcp`), so an agent gets exactly
 * the entitlements, budgets and audit trail of its user. Their descriptions teach the dialect,
 * the freshness model and the error codes; large answers are cut with a note on how to narrow.
 *
 * @module
 */
// @ts-types="npm:@modelcontextprotocol/sdk@1.32.2/server/mcp"
import { McpServer } from "@modelcontextprotocol/sdk/server/mcp.js";
import { z } from "zod";
import { OmniError, toOmniError } from "../../errors.ts";
import { type Gateway, runQuery, userCatalog } from "../gateway.ts";

/** Options of {@link buildMcpServer}. */
export interface McpToolsOptions {
  gateway: Gateway;
  /** The user's token. */
  token: string;
  /** Rows an answer carries at most. @default 200 */
  maxRows?: number;
  /** Characters of JSON an answer's text carries at most. @default 20_000 */
  maxChars?: number;
}

const DIALECT = "SQL is DuckDB's dialect, read-only (SELECT / WITH / EXPLAIN only). Every table " +
  "is named source.table (e.g. github.pull_requests, jira.issues); list_tables shows which the " +
  "user may read and describe_table their columns. Joins across sources work. Filters on a " +
  "column's filterable operators are pushed to the source's API (fewer calls, faster); add " +
  "LIMIT and narrow WHERE clauses rather than reading whole tables.";

const FRESHNESS = "Data is fetched live from the apps; an answer may come from a short-lived " +
  "cache when it is younger than max_staleness_ms (default: the tenant's setting). " +
  "max_staleness_ms: 0 forces a fresh fetch. freshness_ms in the answer says how old the data is.";

const ERRORS = "Errors come back as isError with a code: PLAN_FAILED (fix the SQL: unknown " +
  "table/column or syntax; the message says where), ENTITLEMENT_DENIED (the user may not read " +
  "that table or column: do not retry), RATE_LIMIT_EXHAUSTED (wait retry_after_ms), STALE_DATA " +
  "(raise max_staleness_ms or retry later), SOURCE_TIMEOUT / QUERY_TIMEOUT (narrow the query), " +
  "SOURCE_ERROR / REGION_UNAVAILABLE (retry later), INVALID_REQUEST (not a read-only query).";

const text = (t: string) => [{ type: "text" as const, text: t }];

function errorResult(err: unknown) {
  const error = toOmniError(err);
  const retry = error.retryAfterMs !== undefined ? ` (retry after ${error.retryAfterMs} ms)` : "";
  return { isError: true, content: text(`${error.code}: ${error.message}${retry}`) };
}

/**
 * An MCP server with OmniSQL's tools for one user.
 *
 * @example
 * ```ts ignore
 * const server = buildMcpServer({ gateway, token });
 * await server.connect(transport);
 * ```
 */
export function buildMcpServer(options: McpToolsOptions): McpServer {
  const { gateway, token } = options;
  const maxRows = options.maxRows ?? 200;
  const maxChars = options.maxChars ?? 20_000;
  const server = new McpServer({ name: "omnisql", version: "1.0.0" }, {
    instructions: `OmniSQL answers SQL over the company's SaaS apps. ${DIALECT} ${FRESHNESS}`,
  });

  server.registerTool("query", {
    title: "Run a SQL query",
    description: `Runs one read-only SQL query and returns its rows (at most ${maxRows}; ` +
      `truncated answers say so). ${DIALECT} ${FRESHNESS} ${ERRORS}`,
    inputSchema: {
      sql: z.string().describe("One SELECT/WITH query, tables named source.table"),
      max_staleness_ms: z.number().int().min(0).optional()
        .describe("Accept cached data up to this old; 0 forces a fresh fetch"),
      timeout_ms: z.number().int().min(1).optional().describe("Give up after this long"),
    },
    outputSchema: {
      columns: z.array(z.string()),
      rows: z.array(z.record(z.string(), z.unknown())),
      row_count: z.number().describe("Rows the query returned (before truncation here)"),
      truncated: z.boolean(),
      freshness_ms: z.number().describe("Age of the oldest data used, ms"),
      from_cache: z.boolean(),
      sources: z.array(z.object({
        table: z.string(),
        rows: z.number(),
        from_cache: z.boolean(),
        freshness_ms: z.number(),
      })),
      trace_id: z.string(),
    },
  }, async ({ sql, max_staleness_ms, timeout_ms }, extra) => {
    try {
      const answer = await runQuery(gateway, "mcp", token, {
        sql,
        metadata: { max_staleness_ms, timeout_ms },
      }, extra.signal);
      if ("explain" in answer) {
        throw new OmniError("INVALID_REQUEST", "use the explain tool for EXPLAIN");
      }
      let rows = answer.rows.slice(0, maxRows);
      while (rows.length > 1 && JSON.stringify(rows).length > maxChars) {
        rows = rows.slice(0, Math.floor(rows.length / 2));
      }
      const truncated = answer.truncated || rows.length < answer.rows.length;
      const structured = {
        columns: answer.columns,
        rows,
        row_count: answer.rows.length,
        truncated,
        freshness_ms: answer.freshness_ms,
        from_cache: answer.from_cache,
        sources: answer.sources.map((s) => ({
          table: s.table,
          rows: s.rows,
          from_cache: s.from_cache,
          freshness_ms: s.freshness_ms,
        })),
        trace_id: answer.trace_id,
      };
      const summary = `${answer.rows.length} row(s)` +
        (rows.length < answer.rows.length ? `, first ${rows.length} shown` : "") +
        ` from ${answer.sources.map((s) => s.table).join(", ") || "no source"}; data ` +
        `${answer.freshness_ms} ms old${answer.from_cache ? " (cached)" : ""}.` +
        (truncated
          ? " The answer is truncated: add a LIMIT, a narrower WHERE, or aggregate " +
            "(GROUP BY / count) to see everything that matters."
          : "");
      return {
        content: text(`${summary}\n${JSON.stringify(rows)}`),
        structuredContent: structured,
      };
    } catch (err) {
      return errorResult(err);
    }
  });

  server.registerTool("explain", {
    title: "Explain a SQL query",
    description: "Shows the plan of a query without fetching data: per source, what is pushed " +
      "down to the app's API (native calls, filters) and what is left to the engine. Use it to " +
      `make a slow query cheaper. ${DIALECT}`,
    inputSchema: { sql: z.string().describe("The query to explain (without EXPLAIN)") },
  }, async ({ sql }, extra) => {
    try {
      const statement = /^\s*explain\b/i.test(sql) ? sql : `EXPLAIN ${sql}`;
      const plan = await runQuery(gateway, "mcp", token, { sql: statement }, extra.signal);
      return { content: text(JSON.stringify(plan, null, 2).slice(0, maxChars)) };
    } catch (err) {
      return errorResult(err);
    }
  });

  server.registerTool("list_tables", {
    title: "List tables",
    description: "Lists the tables this user may query (source.table), with descriptions.",
    inputSchema: {},
    outputSchema: {
      tables: z.array(
        z.object({ table: z.string(), description: z.string(), columns: z.number() }),
      ),
    },
  }, async () => {
    try {
      const tables = (await userCatalog(gateway, "mcp", token)).map((t) => ({
        table: t.table,
        description: t.description ?? "",
        columns: t.columns.length,
      }));
      return {
        content: text(tables.map((t) => `${t.table} — ${t.description}`).join("\n")),
        structuredContent: { tables },
      };
    } catch (err) {
      return errorResult(err);
    }
  });

  server.registerTool("describe_table", {
    title: "Describe a table",
    description: "The columns of one table this user may read: type, description, the " +
      "operators the source filters on (pushed down), and which are masked for this user.",
    inputSchema: { table: z.string().describe("source.table, e.g. github.pull_requests") },
  }, async ({ table }) => {
    try {
      const found = (await userCatalog(gateway, "mcp", token))
        .find((t) => t.table.toLowerCase() === table.toLowerCase());
      if (!found) {
        throw new OmniError(
          "PLAN_FAILED",
          `unknown table ${table}: list_tables shows the tables you may read`,
        );
      }
      return { content: text(JSON.stringify(found, null, 2)) };
    } catch (err) {
      return errorResult(err);
    }
  });
  return server;
}
