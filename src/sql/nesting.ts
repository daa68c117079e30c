/**
 * Depth limits that hold for every shape of input. node-sql-parser's parser recurses once per
 * nesting level (parentheses, `CASE`, prefix operators such as `NOT` and unary signs), and our
 * own AST walks recurse once per expression level (a chain of 8,000 `+` terms or `AND`s parses
 * iteratively into a tree 8,000 levels deep). Either overflows the stack: a 500 for a bad input.
 * So the text is measured before parsing ({@link nestingDepth}) and the tree after parsing,
 * without recursion ({@link expressionDepth}), and too deep an input is an `INVALID_REQUEST`
 * naming the limit.
 *
 * @module
 */
import { OmniError } from "../errors.ts";

/** Deepest nesting of brackets, `CASE` and prefix operators accepted in the SQL text. */
export const MAX_NESTING_DEPTH = 128;

/**
 * Deepest expression tree accepted after parsing, counted in AST nodes (a function call is two:
 * the call and its argument list). Above the 2 × 128 levels the text limit allows for nested
 * calls; DuckDB's own limit is 1000.
 */
export const MAX_EXPRESSION_DEPTH = 512;

const OPEN: Record<string, string> = { "(": ")", "[": "]", "{": "}" };
const CLOSE = new Set([")", "]", "}"]);
const SIGNS = new Set(["-", "+", "~", "!"]);
const WORD_START = /[A-Za-z_\u0080-\uffff]/;
const WORD_PART = /[A-Za-z0-9_$\u0080-\uffff]/;

/**
 * How deeply the SQL text nests, as the parser will recurse: each `(`, `[`, `{` and `CASE` opens
 * a level, and each prefix operator (`NOT`, a unary `-`, `+`, `~`, `!`) adds one to the level it
 * is in until its operand ends (a sign right after a word reads as binary, so a run counts one
 * less after a keyword: harmless at these limits). Strings, quoted identifiers, dollar quotes and
 * comments are skipped. Returns the deepest level and the offset where it was reached.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { nestingDepth } from "./nesting.ts";
 * assert.equal(nestingDepth("SELECT ((1))").depth, 2);
 * assert.equal(nestingDepth("SELECT NOT NOT NOT TRUE").depth, 3);
 * assert.equal(nestingDepth("SELECT (- - - 1) + 2").depth, 4);
 * assert.equal(nestingDepth("SELECT 1 - 2 - 3").depth, 0);
 * assert.equal(nestingDepth("SELECT '((((' AS s").depth, 0);
 * ```
 */
export function nestingDepth(sql: string): { depth: number; at: number } {
  // Each open level: the depth at which it started, and what closes it.
  const levels: { base: number; close: string }[] = [{ base: 0, close: "" }];
  let run = 0; // prefix operators pending in the current level
  let afterOperand = false; // a sign after an operand is binary, not a prefix
  let max = 0, at = 0;
  const reach = (depth: number, offset: number) => {
    if (depth > max) {
      max = depth;
      at = offset;
    }
  };
  const n = sql.length;
  let i = 0;
  while (i < n) {
    const ch = sql[i];
    const top = levels[levels.length - 1];
    if (/\s/.test(ch)) {
      i++;
    } else if (ch === "-" && sql[i + 1] === "-") {
      const end = sql.indexOf("\n", i);
      i = end < 0 ? n : end + 1;
    } else if (ch === "/" && sql[i + 1] === "*") {
      const end = sql.indexOf("*/", i + 2);
      i = end < 0 ? n : end + 2;
    } else if (ch === "'" || ch === '"') {
      const escapes = ch === "'" && i > 0 && /[eE]/.test(sql[i - 1]) &&
        (i < 2 || !WORD_PART.test(sql[i - 2]));
      i = skipQuoted(sql, i, ch, escapes);
      run = 0;
      afterOperand = true;
    } else if (ch === "$" && /^\$([A-Za-z_][A-Za-z0-9_]*)?\$/.test(sql.slice(i, i + 64))) {
      const tag = /^\$([A-Za-z_][A-Za-z0-9_]*)?\$/.exec(sql.slice(i, i + 64))![0];
      const end = sql.indexOf(tag, i + tag.length);
      i = end < 0 ? n : end + tag.length;
      run = 0;
      afterOperand = true;
    } else if (OPEN[ch]) {
      const base = top.base + run + 1;
      levels.push({ base, close: OPEN[ch] });
      reach(base, i);
      run = 0;
      afterOperand = false;
      i++;
    } else if (CLOSE.has(ch)) {
      if (levels.length > 1) levels.pop();
      run = 0;
      afterOperand = true;
      i++;
    } else if (SIGNS.has(ch) && !afterOperand) {
      run++;
      reach(top.base + run, i);
      i++;
    } else if (WORD_START.test(ch)) {
      const start = i;
      while (i < n && WORD_PART.test(sql[i])) i++;
      const word = sql.slice(start, i).toUpperCase();
      if (word === "NOT") {
        run++;
        reach(top.base + run, start);
        afterOperand = false;
      } else if (word === "CASE") {
        const base = top.base + run + 1;
        levels.push({ base, close: "END" });
        reach(base, start);
        run = 0;
        afterOperand = false;
      } else if (word === "END" && top.close === "END") {
        levels.pop();
        run = 0;
        afterOperand = true;
      } else {
        run = 0;
        afterOperand = true;
      }
    } else if (/[0-9.]/.test(ch)) {
      while (i < n && /[0-9.eE_]/.test(sql[i])) i++;
      run = 0;
      afterOperand = true;
    } else {
      // Any other operator or punctuation: what follows is an operand again.
      afterOperand = false;
      i++;
    }
  }
  return { depth: max, at };
}

/**
 * Throws `INVALID_REQUEST` naming the limit when {@link nestingDepth} exceeds `max`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { checkNestingDepth } from "./nesting.ts";
 * checkNestingDepth("SELECT NOT NOT TRUE");
 * assert.throws(() => checkNestingDepth("SELECT " + "- ".repeat(5000) + "1"), /nested too deeply/);
 * ```
 */
export function checkNestingDepth(sql: string, max: number = MAX_NESTING_DEPTH): void {
  const { depth, at } = nestingDepth(sql);
  if (depth > max) {
    throw new OmniError(
      "INVALID_REQUEST",
      `sql is nested too deeply: more than ${max} levels of parentheses, brackets, CASE and ` +
        `prefix operators (NOT, unary signs) at offset ${at}`,
      { details: { limit: "max_nesting_depth", max, offset: at } },
    );
  }
}

/**
 * The depth of a parsed statement in AST nodes that have a `type` (expressions, statements,
 * argument lists), measured with an explicit stack.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { expressionDepth } from "./nesting.ts";
 * const leaf = { type: "number", value: 1 };
 * assert.equal(expressionDepth({ type: "binary_expr", left: leaf, right: leaf }), 2);
 * ```
 */
export function expressionDepth(ast: unknown): number {
  let max = 0;
  const stack: [unknown, number][] = [[ast, 0]];
  while (stack.length > 0) {
    const [x, depth] = stack.pop()!;
    if (x === null || typeof x !== "object") continue;
    const typed = !Array.isArray(x) && typeof (x as Record<string, unknown>).type === "string";
    const here = typed ? depth + 1 : depth;
    if (here > max) max = here;
    for (const value of Object.values(x)) {
      if (value !== null && typeof value === "object") stack.push([value, here]);
    }
  }
  return max;
}

/**
 * Throws `INVALID_REQUEST` naming the limit when the parsed statement is deeper than `max`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { checkExpressionDepth } from "./nesting.ts";
 * let tree: unknown = { type: "number", value: 1 };
 * for (let i = 0; i < 600; i++) tree = { type: "binary_expr", left: tree, right: null };
 * assert.throws(() => checkExpressionDepth(tree), /expressions nest too deeply/);
 * ```
 */
export function checkExpressionDepth(ast: unknown, max: number = MAX_EXPRESSION_DEPTH): void {
  const depth = expressionDepth(ast);
  if (depth > max) {
    throw new OmniError(
      "INVALID_REQUEST",
      `sql expressions nest too deeply: ${depth} levels, at most ${max} (a long chain of AND, ` +
        "OR or + nests one level per term; IN (…) lists do not nest)",
      { details: { limit: "max_expression_depth", max, depth } },
    );
  }
}

function skipQuoted(sql: string, start: number, quote: string, escapes: boolean): number {
  let i = start + 1;
  while (i < sql.length) {
    if (escapes && sql[i] === "\\") {
      i += 2;
      continue;
    }
    if (sql[i] === quote) {
      if (sql[i + 1] === quote) {
        i += 2;
        continue;
      }
      return i + 1;
    }
    i++;
  }
  return sql.length;
}
