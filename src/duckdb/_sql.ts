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
 * The read-only gate every user statement passes before it runs: lets through one read-only
 * statement and nothing else, without executing anything. `DESCRIBE <sql>` parses only for
 * queries, and preparing refuses several statements. Bind errors (unknown column…) are left for
 * the real run to report in its own words.
 *
 * Whether a text passes depends on its parse alone, so the texts that passed are remembered (the
 * last {@link ReadOnlyGate.capacity} of them): a dashboard's repeated query skips the prepare,
 * which costs about as much as binding the query. Refusals are never remembered.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { ReadOnlyGate } from "./_sql.ts";
 *
 * const prepared: string[] = [];
 * const conn = {
 *   prepare(sql: string) {
 *     prepared.push(sql);
 *     // DuckDB's parser: DESCRIBE takes only a query.
 *     if (sql === "DESCRIBE DROP TABLE t") throw new Error("Parser Error: syntax error at DROP");
 *     return { close() {} };
 *   },
 * };
 * const gate = new ReadOnlyGate();
 * gate.check(conn, "SELECT 1");
 * gate.check(conn, "SELECT 1");
 * assert.deepEqual(prepared, ["DESCRIBE SELECT 1"]);
 * assert.throws(() => gate.check(conn, "DROP TABLE t"), /only a single read-only query/);
 * assert.throws(() => gate.check(conn, "DROP TABLE t"), /only a single read-only query/);
 * assert.equal(prepared.length, 5);
 * ```
 */
export class ReadOnlyGate {
  /** How many passed texts are remembered. */
  static readonly capacity = 256;
  readonly #passed = new Set<string>();

  /** Throws `INVALID_REQUEST` unless `sql` is one read-only statement (`PLAN_FAILED` for bad syntax). */
  check(conn: Pick<DuckConnection, "prepare">, sql: string): void {
    if (this.#passed.has(sql)) return;
    assertReadOnly(conn, sql);
    if (this.#passed.size >= ReadOnlyGate.capacity) {
      this.#passed.delete(this.#passed.values().next().value!);
    }
    this.#passed.add(sql);
  }
}

function assertReadOnly(conn: Pick<DuckConnection, "prepare">, sql: string): void {
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
