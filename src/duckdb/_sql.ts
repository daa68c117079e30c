/**
 * SQL text helpers for the engine: identifier quoting, DuckDB error messages made readable, and
 * the read-only gate every user statement passes before it runs.
 *
 * @module
 */
import { OmniError } from "../errors.ts";
import type { DuckConnection } from "./_bindings.ts";

/** A double-quoted SQL identifier. */
export function quoteIdent(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}

/** The message of anything DuckDB-WASM throws (some errors arrive as JSON text). */
export function duckMessage(err: unknown): string {
  const raw = err instanceof Error ? err.message : String(err);
  if (raw.startsWith("{")) {
    try {
      const parsed = JSON.parse(raw) as { exception_type?: string; exception_message?: string };
      if (parsed.exception_message) {
        return `${parsed.exception_type ?? "DuckDB"} Error: ${parsed.exception_message}`;
      }
    } catch {
      // not JSON after all
    }
  }
  return raw;
}

/**
 * A DuckDB error message on one line: the `LINE n: … ^` excerpt becomes `(line n, column c)`
 * (located in `sql` when DuckDB shortened the excerpt), and the per-query database's name is
 * removed so it never shows.
 */
export function cleanMessage(message: string, options: { sql?: string; hide?: string } = {}) {
  let text = message;
  let where = "";
  const line = /\n\s*LINE (\d+): (.*)\n(\s*)\^/.exec(text);
  if (line) {
    const lineNo = Number(line[1]);
    let column = line[3].replace(/^\n/, "").length - `LINE ${lineNo}: `.length + 1;
    let known = true;
    if (line[2].startsWith("...")) {
      const source = options.sql?.split("\n")[lineNo - 1] ?? "";
      const at = source.indexOf(line[2].slice(3).replace(/\.\.\.$/, ""));
      known = at >= 0;
      column += at - 3;
    }
    where = known ? ` (line ${lineNo}, column ${Math.max(1, column)})` : ` (line ${lineNo})`;
  }
  text = text.replace(/\n\s*LINE \d+:[\s\S]*$/, "");
  if (options.hide) {
    text = text.replaceAll(`"${options.hide}".`, "").replaceAll(`${options.hide}.`, "");
  }
  return text.replace(/\s+/g, " ").trim() + where;
}

const ONLY_READS = "only a single read-only query (SELECT) can run";

/**
 * Lets through one read-only statement and nothing else, without executing anything:
 * `DESCRIBE <sql>` parses only for queries, and preparing refuses several statements.
 * Bind errors (unknown column…) are left for the real run to report in its own words.
 */
export function assertReadOnly(conn: DuckConnection, sql: string): void {
  if (sql.trim() === "") throw new OmniError("INVALID_REQUEST", "empty SQL");
  let parseError: string;
  try {
    conn.prepare(`DESCRIBE ${sql}`).close();
    return;
  } catch (err) {
    const message = duckMessage(err);
    if (/multiple statements/i.test(message)) {
      throw new OmniError("INVALID_REQUEST", `${ONLY_READS}: found several statements`);
    }
    if (!/^Parser Error/i.test(message)) return;
    parseError = message;
  }
  // Not a query. Preparing (which executes nothing) tells a syntax error from a statement that
  // parses but is not a query (ATTACH, COPY, SET, `WITH x AS (…) INSERT …`).
  try {
    conn.prepare(sql).close();
  } catch (err) {
    const message = duckMessage(err);
    if (/^Parser Error/i.test(message)) {
      throw new OmniError("PLAN_FAILED", cleanMessage(message, { sql }), { cause: err });
    }
  }
  throw new OmniError("INVALID_REQUEST", ONLY_READS, { cause: parseError });
}
