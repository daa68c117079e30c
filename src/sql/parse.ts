/**
 * Parses and validates a user's SQL: one read-only statement (optionally after `EXPLAIN`), and
 * analyses it once ({@link Analysis}: its tables, column references, filters, joins and LIMIT).
 * Everything after — the column check, pushdown offers, dependent joins, the guard's checks and
 * the result-cache key — reads this one result; nothing parses the SQL text again.
 *
 * @module
 */
import NodeSqlParser from "node-sql-parser";
import { OmniError } from "../errors.ts";
import { deepFreeze } from "../deep_freeze.ts";
import { type Analysis, analyze } from "./_analyze.ts";
import { asNode, type Node } from "./_ast.ts";
import { checkFunctions } from "./functions.ts";
import { checkExpressionDepth, checkNestingDepth, MAX_NESTING_DEPTH } from "./nesting.ts";
import { fixBooleanPrecedence } from "./_precedence.ts";
import { planFailedAt, scan, unmask, type Word } from "./_lex.ts";

/** Longest SQL text accepted, in characters. */
export const MAX_SQL_LENGTH = 100_000;

/** A base-table reference in the query, lower-cased. */
export interface TableRef {
  /** The schema (the connection name, e.g. `github`), or null when the query omits it. */
  schema: string | null;
  table: string;
  alias: string | null;
}

/** A parsed, validated read-only query. */
export interface ParsedQuery {
  /** Whether the query began with `EXPLAIN`. */
  explain: boolean;
  /** The SQL to run: without `EXPLAIN`, trimmed, without a trailing semicolon. */
  sql: string;
  /** node-sql-parser's AST of the statement (PostgreSQL dialect). */
  ast: Node;
  /**
   * The one analysis of the statement; `analysis.tables` lists every base-table reference,
   * anywhere in the query, in order of appearance. Shared: readers must not change it.
   */
  analysis: Analysis;
  /** Every literal token exactly as written (strings, quoted names, numbers), in order. */
  literals: string[];
}

const READ_ONLY = new Set(["SELECT", "WITH", "VALUES", "(", "FROM", "TABLE"]);
const NOT_READ_ONLY = new Set([
  "INSERT",
  "UPDATE",
  "DELETE",
  "MERGE",
  "UPSERT",
  "REPLACE",
  "DROP",
  "CREATE",
  "ALTER",
  "TRUNCATE",
  "RENAME",
  "COMMENT",
  "GRANT",
  "REVOKE",
  "COPY",
  "EXPORT",
  "IMPORT",
  "ATTACH",
  "DETACH",
  "USE",
  "SET",
  "RESET",
  "PRAGMA",
  "CALL",
  "EXECUTE",
  "PREPARE",
  "DEALLOCATE",
  "INSTALL",
  "LOAD",
  "FORCE",
  "UNINSTALL",
  "UPDATE",
  "VACUUM",
  "ANALYZE",
  "CHECKPOINT",
  "BEGIN",
  "START",
  "COMMIT",
  "ROLLBACK",
  "ABORT",
  "END",
  "SAVEPOINT",
  "RELEASE",
  "LOCK",
  "UNLOCK",
  "DESCRIBE",
  "DESC",
  "SHOW",
  "SUMMARIZE",
  "LISTEN",
  "NOTIFY",
  "UNLISTEN",
  "DO",
  "DISCARD",
  "REINDEX",
  "CLUSTER",
  "REFRESH",
  "SECURITY",
]);

// deno-lint-ignore no-explicit-any
const parser = new (NodeSqlParser as any).Parser() as {
  astify(sql: string, opt: { database: string }): unknown;
};

/**
 * Parses one read-only query. Throws `INVALID_REQUEST` for an empty or oversized text, several
 * statements, `EXPLAIN ANALYZE` or anything but a read-only query, and `PLAN_FAILED` (with the
 * line and column) when the SQL does not parse, names a three-part table, calls a table
 * function in FROM or calls a function that is not on the allow-list ({@link checkFunctions}).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { parseQuery } from "./parse.ts";
 * const q = parseQuery("EXPLAIN SELECT gh.pr_id FROM github.pull_requests gh;");
 * assert.ok(q.explain && q.sql === "SELECT gh.pr_id FROM github.pull_requests gh");
 * const [table] = q.analysis.tables;
 * assert.ok(table.schema === "github" && table.alias === "gh");
 * ```
 */
export function parseQuery(sql: string): ParsedQuery {
  const known = typeof sql === "string" ? recentlyParsed.get(sql) : undefined;
  if (known) return known;
  const parsed = deepFreeze(parseFresh(sql));
  if (sql.length <= REMEMBERED_LENGTH) {
    if (recentlyParsed.size >= REMEMBERED) {
      recentlyParsed.delete(recentlyParsed.keys().next().value!);
    }
    recentlyParsed.set(sql, parsed);
  }
  return parsed;
}

/**
 * The analyses of recent texts, frozen: a dashboard's repeated query is parsed once (0.5–2 ms
 * of the only thread each time otherwise), and whatever changed a shared analysis would throw.
 * Only texts up to {@link REMEMBERED_LENGTH} characters; a refused text is parsed again each time.
 */
const REMEMBERED = 512;
const REMEMBERED_LENGTH = 8192;
const recentlyParsed = new Map<string, ParsedQuery>();

function parseFresh(sql: string): ParsedQuery {
  if (typeof sql !== "string" || sql.trim() === "") {
    throw new OmniError("INVALID_REQUEST", "sql must be a non-empty string");
  }
  if (sql.length > MAX_SQL_LENGTH) {
    throw new OmniError(
      "INVALID_REQUEST",
      `sql is too long: ${sql.length} characters (at most ${MAX_SQL_LENGTH})`,
    );
  }
  const scanned = scan(sql);
  let words: Word[] = scanned.words;
  let explain = false;
  let body = scanned.masked;
  let bodyStart = 0;
  if (words[0]?.text === "EXPLAIN") {
    explain = true;
    if (words[1]?.text === "ANALYZE" || words[1]?.text === "ANALYSE") {
      throw new OmniError("INVALID_REQUEST", "EXPLAIN ANALYZE is not supported; use EXPLAIN");
    }
    // Blank the keyword out rather than cut it, so parse errors keep the user's line/column.
    bodyStart = words[0].end;
    body = " ".repeat(bodyStart) + body.slice(bodyStart);
    words = words.slice(1);
  }
  const first = words[0];
  if (!first) throw new OmniError("INVALID_REQUEST", "sql contains no statement");
  if (NOT_READ_ONLY.has(first.text) || first.text === "EXPLAIN") {
    throw new OmniError(
      "INVALID_REQUEST",
      `only read-only queries (SELECT …) are allowed; got ${first.text}`,
    );
  }
  if (scanned.secondStatementAt !== null) {
    throw new OmniError("INVALID_REQUEST", "only one statement is allowed per query", {
      details: { offset: scanned.secondStatementAt },
    });
  }
  if (!READ_ONLY.has(first.text)) {
    throw planFailedAt(sql, first.start, `expected SELECT, WITH or VALUES, got ${first.text}`);
  }

  // Bound the parser's recursion before it runs, and ours before any walk of the tree.
  checkNestingDepth(sql);
  let parsed: unknown;
  try {
    parsed = parser.astify(body, { database: "PostgresQL" });
  } catch (err) {
    if (err instanceof RangeError) throw tooDeep(err);
    // node-sql-parser trims the text before parsing: its offsets start after leading whitespace.
    throw parseError(sql, err, body.length - body.trimStart().length);
  }
  const statements = Array.isArray(parsed) ? parsed : [parsed];
  if (statements.length !== 1) {
    throw new OmniError("INVALID_REQUEST", "only one statement is allowed per query");
  }
  checkExpressionDepth(statements[0]);
  let ast: Node;
  let analysis: Analysis;
  try {
    const node = asNode(fixBooleanPrecedence(unmask(statements[0], scanned.sentinel)));
    if (!node) throw new OmniError("PLAN_FAILED", "SQL does not parse: empty statement");
    ast = node;
    if (ast.type !== "select") {
      throw new OmniError(
        "INVALID_REQUEST",
        `only read-only queries (SELECT …) are allowed; got ${String(ast.type).toUpperCase()}`,
      );
    }
    analysis = analyze(ast);
    checkFunctions(ast);
  } catch (err) {
    // The limits above should make this unreachable; a shape they miss is still a 400.
    if (err instanceof RangeError) throw tooDeep(err);
    throw err;
  }
  return {
    explain,
    sql: cleanSql(sql.slice(bodyStart)),
    ast,
    analysis,
    literals: scanned.literals,
  };
}

function tooDeep(cause: RangeError): OmniError {
  return new OmniError(
    "INVALID_REQUEST",
    `sql is nested too deeply to parse (at most ${MAX_NESTING_DEPTH} levels)`,
    { details: { limit: "max_nesting_depth", max: MAX_NESTING_DEPTH }, cause },
  );
}

function cleanSql(text: string): string {
  let out = text.trim();
  while (out.endsWith(";")) out = out.slice(0, -1).trimEnd();
  return out;
}

function parseError(sql: string, err: unknown, shift: number): OmniError {
  const e = err as { message?: unknown; location?: { start?: { offset?: unknown } } };
  const offset = e?.location?.start?.offset;
  const message = typeof e?.message === "string" ? e.message : "syntax error";
  const found = /but (.+?) found\.?$/.exec(message)?.[1];
  const what = found === undefined
    ? "syntax error"
    : found === "end of input"
    ? "unexpected end of input"
    : `unexpected ${found}`;
  if (typeof offset === "number") return planFailedAt(sql, offset + shift, what);
  return new OmniError("PLAN_FAILED", `SQL does not parse: ${what}`, { cause: err });
}
