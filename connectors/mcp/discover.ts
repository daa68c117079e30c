/**
 * Tables from a server's tools, with no mapping written: a tool whose `outputSchema` holds a list
 * of objects is a table. Its columns are the objects' properties (one nested object flattened:
 * `requester.email` → `requester_email`), typed from JSON Schema (`format: date-time` is a
 * timestamp, `format: email` a `pii.email` column); arguments named like a column take `=`,
 * `<column>_since`/`_after` take `>=` on `<column>_at` (or `<column>`), `_until` `<=`, `_before`
 * `<`; a `cursor`-like argument with a `next_cursor`-like result field pages; a `limit`-like
 * integer argument sets the page size. The result is an ordinary mapping, for the connection's
 * config, where an admin can rename or retype what the schema could not say.
 *
 * @module
 */
import type { Tool } from "@modelcontextprotocol/sdk/types.js";
import { type ColumnType, type Connection, SourceClient } from "../sdk/mod.ts";
import type { ArgumentMapping, ColumnMapping, TableMapping } from "./mapping.ts";
import { mcpSession } from "./client.ts";
import { mcp } from "./mod.ts";

type Schema = Record<string, unknown>;

const CURSOR_ARGS = ["cursor", "page_token", "pageToken", "after", "starting_after"];
const NEXT_FIELDS = ["next_cursor", "nextCursor", "next_page_token", "nextPageToken", "cursor"];
const SIZE_ARGS = ["limit", "page_size", "pageSize", "per_page", "max_results"];

/**
 * The table mappings a list of tools implies.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { mappingsFromTools } from "./discover.ts";
 * const [t] = mappingsFromTools([{ name: "list_users", inputSchema: { type: "object",
 *   properties: { cursor: { type: "string" }, role: { type: "string" } } },
 *   outputSchema: { type: "object", properties: { next_cursor: { type: "string" },
 *     users: { type: "array", items: { type: "object", properties: {
 *       role: { type: "string" }, email: { type: "string", format: "email" } } } } } } }]);
 * assert.equal(t.name, "users");
 * assert.deepEqual(t.cursor, { argument: "cursor", next: "next_cursor" });
 * assert.deepEqual(t.arguments, [{ argument: "role", column: "role", op: "=" }]);
 * assert.equal(t.columns[1].classification, "pii.email");
 * ```
 */
export function mappingsFromTools(tools: Tool[]): TableMapping[] {
  const out: TableMapping[] = [];
  for (const tool of tools) {
    const mapping = mappingFromTool(tool);
    if (mapping && !out.some((m) => m.name === mapping.name)) out.push(mapping);
  }
  return out;
}

function mappingFromTool(tool: Tool): TableMapping | undefined {
  const output = tool.outputSchema as Schema | undefined;
  const outProps = propsOf(output);
  const input = propsOf(tool.inputSchema as Schema);
  const required = (tool.inputSchema as { required?: string[] }).required ?? [];
  const recordsKey = Object.keys(outProps).find((k) => {
    const s = outProps[k];
    return typeOf(s) === "array" && typeOf(s.items as Schema) === "object";
  });
  if (!recordsKey) return undefined;
  const cursorArg = CURSOR_ARGS.find((a) => typeOf(input[a]) === "string");
  const next = NEXT_FIELDS.find((f) => typeOf(outProps[f]) === "string");
  const sizeArg = SIZE_ARGS.find((a) => ["integer", "number"].includes(typeOf(input[a]) ?? ""));
  const used = new Set([cursorArg, sizeArg]);
  const columns = columnsOf(propsOf((outProps[recordsKey].items) as Schema));
  const names = new Set(columns.map((c) => c.name));
  const args: ArgumentMapping[] = [];
  for (const [arg, schema] of Object.entries(input)) {
    if (used.has(arg)) continue;
    const mapped = argumentFor(arg, schema, names);
    if (mapped) args.push(mapped);
  }
  // A tool that needs an argument (one ticket by id) does not list a table.
  if (required.length) return undefined;
  const name = tool.name.replace(/^(list|search|get|fetch)_/, "").toLowerCase()
    .replace(/[^a-z0-9_]/g, "_");
  if (!/^[a-z_]/.test(name)) return undefined;
  const max = Number((input[sizeArg ?? ""] as Schema | undefined)?.maximum ?? 100);
  return {
    name,
    ...(tool.description ? { description: tool.description } : {}),
    tool: tool.name,
    records: recordsKey,
    ...(cursorArg && next ? { cursor: { argument: cursorArg, next } } : {}),
    ...(sizeArg ? { page_size: { argument: sizeArg, value: Math.min(max, 100) } } : {}),
    arguments: args,
    columns,
  };
}

function argumentFor(
  arg: string,
  schema: Schema,
  columns: Set<string>,
): ArgumentMapping | undefined {
  const type = typeOf(schema);
  if (!type || !["string", "integer", "number", "boolean"].includes(type)) return undefined;
  if (columns.has(arg)) return { argument: arg, column: arg, op: "=" };
  const bound = /^(.*)_(since|after|until|before)$/.exec(arg);
  if (!bound) return undefined;
  const column = [`${bound[1]}_at`, bound[1]].find((c) => columns.has(c));
  if (!column) return undefined;
  const op = ({ since: ">=", after: ">=", until: "<=", before: "<" } as const)[
    bound[2] as "since" | "after" | "until" | "before"
  ];
  return { argument: arg, column, op };
}

function columnsOf(props: Record<string, Schema>): ColumnMapping[] {
  const out: ColumnMapping[] = [];
  for (const [key, schema] of Object.entries(props)) {
    if (typeOf(schema) === "object" && schema.properties) {
      for (const [sub, s] of Object.entries(propsOf(schema))) {
        if (typeOf(s) === "object") continue;
        out.push(column(`${key}_${sub}`, `${key}.${sub}`, s));
      }
      continue;
    }
    out.push(column(key, key, schema));
  }
  return out;
}

function column(name: string, path: string, schema: Schema): ColumnMapping {
  const clean = name.replace(/([a-z0-9])([A-Z])/g, "$1_$2").toLowerCase().replace(
    /[^a-z0-9_]/g,
    "_",
  );
  const format = schema.format;
  const type: ColumnType = (() => {
    switch (typeOf(schema)) {
      case "string":
        return format === "date-time" ? "timestamp" : "text";
      case "integer":
        return "integer";
      case "number":
        return "double";
      case "boolean":
        return "boolean";
      default:
        return "json";
    }
  })();
  return {
    name: clean,
    type,
    ...(path !== clean ? { path } : {}),
    ...(typeof schema.description === "string" ? { description: schema.description } : {}),
    ...(format === "email" ? { classification: "pii.email" as const } : {}),
  };
}

function propsOf(schema: Schema | undefined): Record<string, Schema> {
  const props = schema?.properties;
  return typeof props === "object" && props !== null ? props as Record<string, Schema> : {};
}

/** The JSON Schema type, the non-null one of a `[T, "null"]` union. */
function typeOf(schema: Schema | undefined): string | undefined {
  const t = schema?.type;
  if (typeof t === "string") return t;
  if (Array.isArray(t)) return t.find((x) => x !== "null");
  return undefined;
}

/**
 * Reads a server's tools (through the connection's session) and derives table mappings.
 *
 * @example
 * ```ts ignore
 * const tables = await discoverTables(connection, AbortSignal.timeout(10_000));
 * ```
 */
export async function discoverTables(
  connection: Connection,
  signal?: AbortSignal,
): Promise<TableMapping[]> {
  const http = new SourceClient(mcp, connection, { signal });
  const session = await mcpSession(mcp, connection);
  return mappingsFromTools([...(await session.tools(http, signal)).values()]);
}
