/**
 * Where a statement sent over the Postgres door goes: session statements (`SET`, `BEGIN`, …)
 * are answered by the session; statements that read the catalog (`pg_catalog`,
 * `information_schema`, catalog functions such as `version()`) or no table at all go to the
 * user's catalog view; everything else — every query on data — goes through the pipeline.
 *
 * @module
 */

/** What to do with one statement. */
export type Route =
  | { kind: "empty" }
  | { kind: "session"; tag: string; transaction?: "begin" | "end" | "fail-safe" }
  | { kind: "set"; name: string; value: string | null }
  | { kind: "show"; name: string }
  | { kind: "catalog" }
  | { kind: "pipeline" }
  /** Reads the catalog and an app's table together: neither side can answer it whole. */
  | { kind: "mixed" };

/**
 * `sql` with string literals, quoted identifiers' quotes kept, and comments blanked out, so
 * keyword tests cannot be fooled by what a literal or comment holds.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { blankLiterals } from "./statement.ts";
 * assert.equal(blankLiterals("SELECT 'it''s pg_class' -- from x").trimEnd(), "SELECT ''");
 * ```
 */
export function blankLiterals(sql: string): string {
  let out = "";
  let i = 0;
  while (i < sql.length) {
    const ch = sql[i];
    const dollar = ch === "$" ? /^\$(?:[A-Za-z_][\w]*)?\$/.exec(sql.slice(i)) : null;
    if (dollar && !/[\w$]/.test(sql[i - 1] ?? "")) {
      // A dollar-quoted string: nothing inside it is code.
      const end = sql.indexOf(dollar[0], i + dollar[0].length);
      const j = end < 0 ? sql.length : end + dollar[0].length;
      out += "''" + " ".repeat(Math.max(0, j - i - 2));
      i = j;
    } else if (ch === "'") {
      // E'…' strings escape with backslashes as well as doubled quotes.
      const escapes = /[eE]/.test(sql[i - 1] ?? "") && !/\w/.test(sql[i - 2] ?? "");
      let j = i + 1;
      while (j < sql.length) {
        if (escapes && sql[j] === "\\") j += 2;
        else if (sql[j] === "'" && sql[j + 1] === "'") j += 2;
        else if (sql[j] === "'") break;
        else j++;
      }
      const end = Math.min(j + 1, sql.length);
      out += "''" + " ".repeat(Math.max(0, end - i - 2));
      i = end;
    } else if (ch === '"') {
      // A quoted identifier is kept as written; a quote or dash in it starts nothing.
      let j = i + 1;
      while (j < sql.length) {
        if (sql[j] === '"' && sql[j + 1] === '"') j += 2;
        else if (sql[j] === '"') break;
        else j++;
      }
      const end = Math.min(j + 1, sql.length);
      out += sql.slice(i, end);
      i = end;
    } else if (ch === "-" && sql[i + 1] === "-") {
      const end = sql.indexOf("\n", i);
      const j = end < 0 ? sql.length : end;
      out += " ".repeat(j - i);
      i = j;
    } else if (ch === "/" && sql[i + 1] === "*") {
      const end = sql.indexOf("*/", i + 2);
      const j = end < 0 ? sql.length : end + 2;
      out += " ".repeat(j - i);
      i = j;
    } else {
      out += ch;
      i++;
    }
  }
  return out;
}

/**
 * Splits a simple-protocol query string into statements at top-level semicolons.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { splitStatements } from "./statement.ts";
 * assert.deepEqual(splitStatements("SET a = ';'; SELECT 1;"), ["SET a = ';'", " SELECT 1"]);
 * ```
 */
export function splitStatements(sql: string): string[] {
  const blank = blankLiterals(sql);
  const out: string[] = [];
  let depth = 0;
  let start = 0;
  let quoted = false;
  for (let i = 0; i < blank.length; i++) {
    const ch = blank[i];
    if (ch === '"') quoted = !quoted;
    else if (!quoted && ch === "(") depth++;
    else if (!quoted && ch === ")") depth--;
    else if (!quoted && ch === ";" && depth <= 0) {
      out.push(sql.slice(start, i));
      start = i + 1;
    }
  }
  const last = sql.slice(start);
  if (last.trim() || out.length === 0) out.push(last);
  return out.filter((s, i) => s.trim() !== "" || (i === 0 && out.length === 1));
}

const CATALOG = new RegExp(
  [
    String.raw`\b(pg_catalog|information_schema)\b`,
    String.raw`\bpg_\w+`,
    String.raw`::\s*reg\w+`,
    String
      .raw`\b(version|current_schemas?|current_database|current_catalog|current_setting|set_config|has_\w+_privilege|obj_description|col_description|shobj_description|format_type|to_regclass|to_regtype|to_regnamespace|quote_ident|inet_server_(addr|port)|txid_current)\s*\(`,
    String.raw`\b(current_user|session_user|current_role)\b`,
  ].join("|"),
  "i",
);

/**
 * Decides where a statement goes.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { routeOf } from "./statement.ts";
 * assert.equal(routeOf("SELECT count(*) FROM github.pull_requests").kind, "pipeline");
 * assert.equal(routeOf("SELECT relname FROM pg_class").kind, "catalog");
 * assert.equal(routeOf("SELECT 1").kind, "catalog");
 * assert.equal(routeOf("SELECT 'pg_class' AS x FROM github.pull_requests").kind, "pipeline");
 * assert.deepEqual(routeOf("SET application_name = 'psql'"), { kind: "set", name: "application_name", value: "psql" });
 * const apps = new Set(["github.pull_requests"]);
 * assert.equal(routeOf("SELECT * FROM github.pull_requests, pg_class", apps).kind, "mixed");
 * assert.equal(routeOf('SELECT 1 FROM pg_class c JOIN "github".pull_requests p ON true', apps).kind, "mixed");
 * assert.equal(routeOf("SELECT * FROM pg_class WHERE relname = 'github.pull_requests'", apps).kind, "catalog");
 * ```
 */
export function routeOf(sql: string, appTables: ReadonlySet<string> = NO_TABLES): Route {
  const blank = blankLiterals(sql).trim();
  if (blank === "") return { kind: "empty" };
  const words = blank.split(/\s+/);
  const verb = words[0].toUpperCase().replace(/;$/, "");
  switch (verb) {
    case "BEGIN":
    case "START":
      return { kind: "session", tag: "BEGIN", transaction: "begin" };
    case "COMMIT":
    case "END":
      return { kind: "session", tag: "COMMIT", transaction: "end" };
    case "ROLLBACK":
    case "ABORT":
      // ROLLBACK TO SAVEPOINT stays in the transaction.
      return /^\s*rollback\s+(work\s+|transaction\s+)?to\b/i.test(blank)
        ? { kind: "session", tag: "ROLLBACK", transaction: "fail-safe" }
        : { kind: "session", tag: "ROLLBACK", transaction: "end" };
    case "SAVEPOINT":
      return { kind: "session", tag: "SAVEPOINT" };
    case "RELEASE":
      return { kind: "session", tag: "RELEASE" };
    case "DISCARD":
      return { kind: "session", tag: `DISCARD ${(words[1] ?? "ALL").toUpperCase()}` };
    case "DEALLOCATE":
      return { kind: "session", tag: "DEALLOCATE" };
    case "CLOSE":
      return { kind: "session", tag: "CLOSE CURSOR" };
    case "LISTEN":
    case "UNLISTEN":
    case "RESET":
      return { kind: "session", tag: verb };
    case "SET":
      return setRoute(sql);
    case "SHOW":
      return { kind: "show", name: (words[1] ?? "").replace(/;$/, "").toLowerCase() };
  }
  if (CATALOG.test(blank) || !/\bfrom\b/i.test(blank)) {
    if (!/^(SELECT|WITH|VALUES|TABLE)$/.test(verb)) return { kind: "pipeline" };
    // The catalog holds the apps' tables empty (for `\d`): read there, they answer no rows.
    return namesAppTable(blank, appTables) ? { kind: "mixed" } : { kind: "catalog" };
  }
  return { kind: "pipeline" };
}

const NO_TABLES: ReadonlySet<string> = new Set();

/**
 * Whether a statement (literals blanked) names one of the apps' tables, `schema.table` as the
 * catalog lists it (quoted or not): a select list's `alias.column` names none of them.
 */
function namesAppTable(blank: string, appTables: ReadonlySet<string>): boolean {
  const qualified = /(?<![\w$."])"?([A-Za-z_][\w$]*)"?\s*\.\s*"?([A-Za-z_][\w$]*)/g;
  for (const [, schema, table] of blank.matchAll(qualified)) {
    if (appTables.has(`${schema}.${table}`.toLowerCase())) return true;
  }
  return false;
}

function setRoute(sql: string): Route {
  const m =
    /^\s*set\s+(?:session\s+|local\s+)?(time\s+zone|[\w.]+)\s*(?:=|\bto\b)?\s*(.*?)\s*;?\s*$/is
      .exec(sql);
  if (!m) return { kind: "session", tag: "SET" };
  const name = m[1].toLowerCase().replace(/\s+/, "") === "timezone"
    ? "timezone"
    : m[1].toLowerCase();
  const raw = m[2].trim();
  const value = /^default$/i.test(raw)
    ? null
    : raw.replace(/^'(.*)'$/s, "$1").replaceAll("''", "'");
  return { kind: "set", name, value };
}
