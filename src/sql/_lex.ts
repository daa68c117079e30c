/**
 * A small scanner with DuckDB's lexical rules, run before node-sql-parser. It finds the leading
 * keywords (so a `DROP` or `ATTACH` the parser cannot parse is still reported as not read-only),
 * finds a second statement after a `;`, and masks backslashes inside quoted strings and
 * identifiers: node-sql-parser reads `\n` or `\'` there as escapes, DuckDB as plain characters.
 * The parser gets the masked text (same length, so error positions hold) and {@link unmask} puts
 * the backslashes back into the AST, so the AST we push down from is the query DuckDB runs.
 *
 * @module
 */
import { OmniError } from "../errors.ts";

/** A word token (keyword or identifier) outside strings and comments. */
export interface Word {
  /** Upper-cased text. */
  text: string;
  /** Offset of its first character. */
  start: number;
  /** Offset just after its last character. */
  end: number;
}

/** What the scanner learnt about the SQL text. */
export interface Scan {
  /** The first words of the text (up to three), in order. */
  words: Word[];
  /** Offset of the first character of a second statement after a `;`, if any. */
  secondStatementAt: number | null;
  /** The text with each backslash inside a plain quoted string/identifier replaced by `sentinel`. */
  masked: string;
  /** A private-use character that does not occur in the text. */
  sentinel: string;
  /**
   * Every literal token exactly as written, in order: quoted strings and identifiers, dollar
   * strings, numbers. node-sql-parser rounds long numbers (`3.0000000000000001` parses as
   * `3.0000000000000000`), so what must tell two queries apart keeps these too.
   */
  literals: string[];
}

/** Line and column (both 1-based) of an offset. */
export function position(sql: string, offset: number): { line: number; column: number } {
  let line = 1, lineStart = 0;
  for (let i = 0; i < offset && i < sql.length; i++) {
    if (sql[i] === "\n") {
      line++;
      lineStart = i + 1;
    }
  }
  return { line, column: offset - lineStart + 1 };
}

/** A `PLAN_FAILED` error pointing at an offset of the SQL. */
export function planFailedAt(sql: string, offset: number, what: string): OmniError {
  const { line, column } = position(sql, offset);
  return new OmniError(
    "PLAN_FAILED",
    `SQL does not parse at line ${line}, column ${column}: ${what}`,
    { details: { line, column } },
  );
}

const WORD_START = /[A-Za-z_\u0080-\uffff]/;
const WORD_PART = /[A-Za-z0-9_$\u0080-\uffff]/;

/**
 * Scans `sql` with DuckDB's lexical rules. Throws `PLAN_FAILED` for an unterminated string,
 * identifier or comment, a nested block comment and a backtick outside strings and comments.
 */
export function scan(sql: string): Scan {
  const words: Word[] = [];
  const backslashes: number[] = [];
  const literals: string[] = [];
  let secondStatementAt: number | null = null;
  let afterSemicolon = false;
  let i = 0;
  const n = sql.length;
  while (i < n) {
    const ch = sql[i];
    if (/\s/.test(ch)) {
      i++;
      continue;
    }
    if (ch === "-" && sql[i + 1] === "-") {
      while (i < n && sql[i] !== "\n") i++;
      continue;
    }
    if (ch === "/" && sql[i + 1] === "*") {
      const end = sql.indexOf("*/", i + 2);
      if (end < 0) throw planFailedAt(sql, i, "unterminated comment");
      if (sql.slice(i + 2, end).includes("/*")) {
        throw planFailedAt(sql, i, "nested block comments are not supported");
      }
      i = end + 2;
      continue;
    }
    if (afterSemicolon && ch !== ";") {
      secondStatementAt ??= i;
    }
    if (ch === ";") {
      afterSemicolon = true;
      i++;
      continue;
    }
    if (ch === "'" || ch === '"') {
      const isEscapeString = ch === "'" && i > 0 && /[eE]/.test(sql[i - 1]) &&
        (i < 2 || !WORD_PART.test(sql[i - 2]));
      const start = i;
      i = skipQuoted(sql, i, ch, isEscapeString, backslashes);
      literals.push(sql.slice(isEscapeString ? start - 1 : start, i));
      continue;
    }
    if (ch === "`") {
      // node-sql-parser reads a backtick as an identifier's quote, DuckDB as an operator's
      // character: between two of them the parser would see a name where DuckDB runs SQL the
      // planner never read. DuckDB has no use for one outside strings and comments.
      throw planFailedAt(sql, i, "a backtick is not a quote: quote identifiers with double quotes");
    }
    if (ch === "$") {
      const tag = /^\$([A-Za-z_][A-Za-z0-9_]*)?\$/.exec(sql.slice(i));
      if (tag) {
        const close = sql.indexOf(tag[0], i + tag[0].length);
        if (close < 0) throw planFailedAt(sql, i, "unterminated dollar-quoted string");
        literals.push(sql.slice(i, close + tag[0].length));
        i = close + tag[0].length;
        continue;
      }
    }
    const number = /[0-9.]/.test(ch) &&
      /^(?:\d[\d_]*\.?[\d_]*|\.\d[\d_]*)(?:[eE][+-]?\d+)?/.exec(sql.slice(i, i + 400));
    if (number && (i === 0 || !WORD_PART.test(sql[i - 1]))) {
      literals.push(number[0]);
      i += number[0].length;
      continue;
    }
    if (WORD_START.test(ch)) {
      const start = i;
      while (i < n && WORD_PART.test(sql[i])) i++;
      // `E'…'` is an escape string, not a word followed by a string.
      if (!(i - start === 1 && /[eE]/.test(ch) && sql[i] === "'") && words.length < 3) {
        words.push({ text: sql.slice(start, i).toUpperCase(), start, end: i });
      }
      continue;
    }
    if (words.length < 3 && ch === "(" && words.length === 0) {
      words.push({ text: "(", start: i, end: i + 1 });
    }
    i++;
  }
  let sentinel = "\ue000";
  while (sql.includes(sentinel)) sentinel = String.fromCharCode(sentinel.charCodeAt(0) + 1);
  let masked = sql;
  if (backslashes.length > 0) {
    const chars = sql.split("");
    for (const at of backslashes) chars[at] = sentinel;
    masked = chars.join("");
  }
  return { words, secondStatementAt, masked, sentinel, literals };
}

/** Puts back the backslashes {@link scan} masked, in every string of a parsed AST (in place). */
export function unmask<T>(ast: T, sentinel: string): T {
  const fix = (x: unknown): unknown => {
    if (typeof x === "string") return x.includes(sentinel) ? x.replaceAll(sentinel, "\\") : x;
    if (Array.isArray(x)) {
      for (let i = 0; i < x.length; i++) x[i] = fix(x[i]);
    } else if (x !== null && typeof x === "object") {
      const o = x as Record<string, unknown>;
      for (const k of Object.keys(o)) o[k] = fix(o[k]);
    }
    return x;
  };
  return fix(ast) as T;
}

function skipQuoted(
  sql: string,
  start: number,
  quote: string,
  escapes: boolean,
  backslashes: number[],
): number {
  let i = start + 1;
  while (i < sql.length) {
    const ch = sql[i];
    if (escapes && ch === "\\") {
      i += 2;
      continue;
    }
    if (ch === "\\") backslashes.push(i);
    if (ch === quote) {
      if (sql[i + 1] === quote) {
        i += 2;
        continue;
      }
      return i + 1;
    }
    i++;
  }
  throw planFailedAt(
    sql,
    start,
    quote === "'" ? "unterminated string literal" : "unterminated quoted identifier",
  );
}
