/**
 * The query part of a result-cache key, built from the parsed query — never from the SQL text:
 * comments, spacing and keyword case do not change it, and two queries that differ in any
 * literal never share it (a quote inside a comment or a `$$…$$` string cannot shift what counts
 * as a literal, because the lexer that finds literals is the one that finds comments).
 *
 * @module
 */
import type { ParsedQuery } from "./parse.ts";

/** Bumped whenever the key's shape changes, so old entries are never read as new ones. */
const VERSION = 1;

/**
 * The canonical text of a parsed query for a cache key: its AST (object keys sorted) and every
 * literal token as written — node-sql-parser rounds long numbers, so the AST alone could make
 * `x = 3.0000000000000001` and `x = 3.0000000000000000` one key.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { parseQuery } from "./parse.ts";
 * import { queryCacheKey } from "./cache_key.ts";
 * const key = (sql: string) => queryCacheKey(parseQuery(sql));
 * assert.equal(key("select n from jira.issues -- x"), key("SELECT n\n  FROM jira.issues"));
 * assert.notEqual(
 *   key("SELECT count(*) FROM jira.issues /* it's *\/ WHERE status = 'Done'"),
 *   key("SELECT count(*) FROM jira.issues /* it's *\/ WHERE status = 'DONE'"),
 * );
 * ```
 */
export function queryCacheKey(parsed: ParsedQuery): string {
  return JSON.stringify([VERSION, parsed.explain, sorted(parsed.ast), parsed.literals]);
}

function sorted(x: unknown): unknown {
  if (Array.isArray(x)) return x.map(sorted);
  if (x === null || typeof x !== "object") return x;
  const o = x as Record<string, unknown>;
  return Object.fromEntries(
    Object.keys(o).sort().filter((k) => o[k] !== undefined).map((k) => [k, sorted(o[k])]),
  );
}
