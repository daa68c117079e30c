/**
 * The mapping an MCP connection's config holds: which tool lists each table's records, how its
 * arguments express predicates, how it pages, where the records are in its structured result and
 * what the columns are. Validated here once; a table whose mapping is invalid is reported, never
 * half-read.
 *
 * ```json
 * { "tables": [{
 *     "name": "tickets", "tool": "list_tickets", "records": "tickets",
 *     "cursor": { "argument": "cursor", "next": "next_cursor" },
 *     "page_size": { "argument": "limit", "value": 100 },
 *     "arguments": [{ "argument": "status", "column": "status", "op": "=", "exact": true },
 *                   { "argument": "updated_since", "column": "updated_at", "op": ">=" }],
 *     "columns": [{ "name": "ticket_id", "type": "text", "path": "id" },
 *                 { "name": "requester_email", "type": "text", "path": "requester.email",
 *                   "classification": "pii.email" }] }],
 *   "budget": { "calls": 600, "window_s": 60 } }
 * ```
 *
 * @module
 */
import type { Classification, ColumnType } from "../sdk/mod.ts";

/** How an argument takes predicates on its column. */
export type ArgumentOp = "=" | ">=" | ">" | "<=" | "<" | "in";

/** One tool argument filled from pushed predicates. */
export interface ArgumentMapping {
  /** The tool argument's name. */
  argument: string;
  /** The column whose predicates fill it. */
  column: string;
  /**
   * What the argument means: `=` a value, `>=`/`>`/`<=`/`<` a bound, `in` a list of values.
   * A `>=` argument also takes `>` (and `<=` takes `<`) as a widening DuckDB narrows.
   */
  op: ArgumentOp;
  /**
   * The server applies it exactly as SQL would (same case, same precision), so a LIMIT may be
   * pushed past it. @default false
   */
  exact?: boolean;
}

/** One column of a mapped table. */
export interface ColumnMapping {
  name: string;
  type: ColumnType;
  /** JSON path of the value in a record (`requester.email`). @default the column's name */
  path?: string;
  description?: string;
  classification?: Classification;
}

/** One table: a tool whose structured result lists records. */
export interface TableMapping {
  name: string;
  description?: string;
  /** The tool that lists the records. */
  tool: string;
  /** JSON path of the records in the tool's structured result (`.` for the result itself). */
  records: string;
  /** Cursor pagination: the argument that takes the cursor and the result field that holds the next one. */
  cursor?: { argument: string; next: string };
  /** The argument that sets the page size, and the size to ask for. */
  page_size?: { argument: string; value: number };
  /** Arguments sent on every call, as they are. @default {} */
  fixed?: Record<string, unknown>;
  /** Arguments filled from pushed predicates. @default [] */
  arguments?: ArgumentMapping[];
  columns: ColumnMapping[];
  /** Rows a scan with nothing pushed typically returns. @default 1000 */
  estimated_rows?: number;
}

/** The config of an MCP connection. */
export interface McpConfig {
  tables: TableMapping[];
  /**
   * Calls (JSON-RPC requests: initialize, tools/list, tools/call) allowed per window: MCP servers
   * send no rate-limit headers, so the connection keeps its own count. @default 600 per 60 s
   */
  budget?: { calls: number; window_s: number };
  /** OAuth client credentials: the scope to ask for and the issuer the credentials belong to. */
  oauth?: { scope?: string; issuer?: string };
}

/** A config read: the valid tables and the problems of the others. */
export interface ReadConfig {
  config: McpConfig;
  problems: string[];
}

const TYPES: ColumnType[] = ["text", "integer", "double", "boolean", "timestamp", "json"];
const OPS: ArgumentOp[] = ["=", ">=", ">", "<=", "<", "in"];
const CLASSES: Classification[] = ["pii.email", "pii.person"];
const NAME = /^[a-z_][a-z0-9_]*$/;

/**
 * Reads a connection's config: every valid table mapping, and a problem for each invalid one.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { readMcpConfig } from "./mapping.ts";
 * const { config, problems } = readMcpConfig({ tables: [
 *   { name: "t", tool: "list_t", records: "items", columns: [{ name: "id", type: "text" }] },
 *   { name: "Bad Name", tool: "x", records: ".", columns: [] },
 * ] });
 * assert.equal(config.tables.length, 1);
 * assert.match(problems[0], /Bad Name/);
 * ```
 */
export function readMcpConfig(raw: Record<string, unknown>): ReadConfig {
  const problems: string[] = [];
  const tables: TableMapping[] = [];
  const list = raw.tables ?? [];
  if (!Array.isArray(list)) problems.push("tables: not a list");
  for (const [i, t] of (Array.isArray(list) ? list : []).entries()) {
    const issues = tableProblems(t);
    if (issues.length) {
      const name = isObject(t) && typeof t.name === "string" ? t.name : `#${i + 1}`;
      problems.push(...issues.map((p) => `table ${name}: ${p}`));
    } else if (tables.some((x) => x.name === (t as TableMapping).name)) {
      problems.push(`table ${(t as TableMapping).name}: mapped twice`);
    } else tables.push(t as TableMapping);
  }
  const config: McpConfig = { tables };
  const budget = raw.budget;
  if (budget !== undefined) {
    if (
      isObject(budget) && positive(budget.calls) && positive(budget.window_s)
    ) config.budget = { calls: budget.calls as number, window_s: budget.window_s as number };
    else problems.push("budget: needs positive calls and window_s");
  }
  const oauth = raw.oauth;
  if (oauth !== undefined) {
    if (
      isObject(oauth) && ["scope", "issuer"].every((k) => optionalString(oauth[k]))
    ) config.oauth = oauth as McpConfig["oauth"];
    else problems.push("oauth: scope and issuer are strings");
  }
  return { config, problems };
}

function tableProblems(t: unknown): string[] {
  if (!isObject(t)) return ["not an object"];
  const out: string[] = [];
  if (typeof t.name !== "string" || !NAME.test(t.name)) out.push("name: lower-case identifier");
  if (typeof t.tool !== "string" || t.tool === "") out.push("tool: required");
  if (typeof t.records !== "string" || t.records === "") out.push("records: a JSON path");
  if (!optionalString(t.description)) out.push("description: a string");
  if (t.cursor !== undefined) {
    const c = t.cursor;
    if (!isObject(c) || typeof c.argument !== "string" || typeof c.next !== "string") {
      out.push("cursor: needs argument and next");
    }
  }
  if (t.page_size !== undefined) {
    const p = t.page_size;
    if (!isObject(p) || typeof p.argument !== "string" || !positive(p.value)) {
      out.push("page_size: needs argument and a positive value");
    }
  }
  if (t.fixed !== undefined && !isObject(t.fixed)) out.push("fixed: an object");
  if (t.estimated_rows !== undefined && !positive(t.estimated_rows)) {
    out.push("estimated_rows: positive");
  }
  const columns = Array.isArray(t.columns) ? t.columns : [];
  if (!Array.isArray(t.columns) || columns.length === 0) out.push("columns: at least one");
  const names = new Set<string>();
  for (const c of columns) {
    if (!isObject(c) || typeof c.name !== "string" || !NAME.test(c.name)) {
      out.push(`column ${JSON.stringify(isObject(c) ? c.name : c)}: lower-case identifier`);
      continue;
    }
    if (names.has(c.name)) out.push(`column ${c.name}: twice`);
    names.add(c.name);
    if (!TYPES.includes(c.type as ColumnType)) {
      out.push(`column ${c.name}: type is one of ${TYPES.join(", ")}`);
    }
    if (!optionalString(c.path) || !optionalString(c.description)) {
      out.push(`column ${c.name}: path and description are strings`);
    }
    if (c.classification !== undefined && !CLASSES.includes(c.classification as Classification)) {
      out.push(`column ${c.name}: classification is one of ${CLASSES.join(", ")}`);
    }
  }
  const args = t.arguments ?? [];
  if (!Array.isArray(args)) out.push("arguments: a list");
  const used = new Set<string>();
  for (const a of Array.isArray(args) ? args : []) {
    if (!isObject(a) || typeof a.argument !== "string" || typeof a.column !== "string") {
      out.push("arguments: each needs argument and column");
      continue;
    }
    if (!names.has(a.column)) out.push(`argument ${a.argument}: no column ${a.column}`);
    if (!OPS.includes(a.op as ArgumentOp)) {
      out.push(`argument ${a.argument}: op is one of ${OPS.join(" ")}`);
    }
    if (a.exact !== undefined && typeof a.exact !== "boolean") {
      out.push(`argument ${a.argument}: exact is a boolean`);
    }
    if (used.has(a.argument)) out.push(`argument ${a.argument}: mapped twice`);
    used.add(a.argument);
  }
  return out;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function positive(v: unknown): boolean {
  return typeof v === "number" && Number.isFinite(v) && v > 0;
}

function optionalString(v: unknown): boolean {
  return v === undefined || typeof v === "string";
}
