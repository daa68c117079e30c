/**
 * Row-level rule predicates: the WHERE clause of `SELECT * FROM t WHERE …` rules. Parsed once,
 * bound to a user's attributes (which folds `user.*` comparisons into constants), evaluated on
 * rows with SQL's three-valued logic, and split into the simple conjuncts a source can take.
 *
 * @module
 */
import {
  type ComparisonOp,
  matchesPredicate,
  type Predicate,
  type Scalar,
} from "../../connectors/sdk/predicate.ts";
import type { ColumnType } from "../../connectors/sdk/table.ts";
import { SWAPPED } from "../sql/comparison.ts";
import type { Cursor } from "./_lex.ts";

/** A value in a rule: a column of the row, a user attribute, or a literal. */
export type Operand =
  | { kind: "column"; name: string }
  | { kind: "attr"; name: string }
  | { kind: "literal"; value: Scalar };

/** A rule predicate. */
export type Expr =
  | { kind: "and" | "or"; args: Expr[] }
  | { kind: "not"; arg: Expr }
  | { kind: "cmp"; op: ComparisonOp; left: Operand; right: Operand }
  | { kind: "in"; operand: Operand; list: Operand[]; negated: boolean }
  | { kind: "null"; operand: Operand; negated: boolean }
  | { kind: "like"; operand: Operand; pattern: Operand; negated: boolean }
  /** A folded truth value: `null` is SQL's unknown. */
  | { kind: "const"; value: boolean | null };

/** Three-valued truth. */
type Truth = boolean | null;

/** Parses `expr` up to (not including) a top-level `FOR` or the end. */
export function parseExpr(cur: Cursor): Expr {
  return parseOr(cur);
}

function parseOr(cur: Cursor): Expr {
  const args = [parseAnd(cur)];
  while (cur.acceptKeyword("OR")) args.push(parseAnd(cur));
  return args.length === 1 ? args[0] : { kind: "or", args };
}

function parseAnd(cur: Cursor): Expr {
  const args = [parseNot(cur)];
  while (cur.acceptKeyword("AND")) args.push(parseNot(cur));
  return args.length === 1 ? args[0] : { kind: "and", args };
}

function parseNot(cur: Cursor): Expr {
  if (cur.acceptKeyword("NOT")) return { kind: "not", arg: parseNot(cur) };
  if (cur.accept("(")) {
    const inner = parseOr(cur);
    cur.expect(")");
    return inner;
  }
  return parseComparison(cur);
}

function parseComparison(cur: Cursor): Expr {
  const left = parseOperand(cur);
  const t = cur.peek();
  if (t.kind === "op") {
    cur.next();
    const op = (t.text === "<>" ? "!=" : t.text) as ComparisonOp;
    return { kind: "cmp", op, left, right: parseOperand(cur) };
  }
  if (cur.acceptKeyword("IS")) {
    const negated = cur.acceptKeyword("NOT");
    cur.expectKeyword("NULL");
    return { kind: "null", operand: left, negated };
  }
  const negated = cur.acceptKeyword("NOT");
  if (cur.acceptKeyword("IN")) {
    cur.expect("(");
    const list = [parseOperand(cur)];
    while (cur.accept(",")) list.push(parseOperand(cur));
    cur.expect(")");
    return { kind: "in", operand: left, list, negated };
  }
  if (cur.acceptKeyword("LIKE")) {
    return { kind: "like", operand: left, pattern: parseOperand(cur), negated };
  }
  if (!negated && left.kind === "literal" && typeof left.value === "boolean") {
    return { kind: "const", value: left.value };
  }
  return cur.fail("expected a comparison (=, !=, <, <=, >, >=, IN, LIKE, IS NULL)");
}

function parseOperand(cur: Cursor): Operand {
  const t = cur.peek();
  if (t.kind === "string") {
    cur.next();
    return { kind: "literal", value: t.text };
  }
  if (t.kind === "number") {
    cur.next();
    return { kind: "literal", value: Number(t.text) };
  }
  if (t.kind === "word") {
    const upper = t.text.toUpperCase();
    if (upper === "NULL") return cur.next(), { kind: "literal", value: null };
    if (upper === "TRUE" || upper === "FALSE") {
      cur.next();
      return { kind: "literal", value: upper === "TRUE" };
    }
    if (["AND", "OR", "NOT", "IN", "IS", "LIKE", "FOR"].includes(upper)) {
      return cur.fail("expected a column, user.<attribute> or a literal");
    }
    cur.next();
    const parts = t.text.split(".");
    if (parts[0].toLowerCase() === "user") {
      if (parts.length !== 2) throw new Error(`bad attribute ${t.text} at column ${t.at}`);
      return { kind: "attr", name: parts[1].toLowerCase() };
    }
    // `table.column` or `schema.table.column`: the rule is about one table, so keep the column.
    return { kind: "column", name: parts[parts.length - 1].toLowerCase() };
  }
  return cur.fail("expected a column, user.<attribute> or a literal");
}

/** Every column and attribute an expression names. */
export function namesOf(expr: Expr): { columns: Set<string>; attrs: Set<string> } {
  const columns = new Set<string>();
  const attrs = new Set<string>();
  const visit = (o: Operand) => {
    if (o.kind === "column") columns.add(o.name);
    if (o.kind === "attr") attrs.add(o.name);
  };
  (function walk(e: Expr) {
    switch (e.kind) {
      case "and":
      case "or":
        return e.args.forEach(walk);
      case "not":
        return walk(e.arg);
      case "cmp":
        return visit(e.left), visit(e.right);
      case "in":
        return visit(e.operand), e.list.forEach(visit);
      case "null":
        return visit(e.operand);
      case "like":
        return visit(e.operand), visit(e.pattern);
    }
  })(expr);
  return { columns, attrs };
}

/**
 * Replaces `user.*` by the user's values (a missing attribute is NULL, so comparisons with it are
 * unknown and deny) and folds what no longer depends on a row. An attribute compared with a
 * column takes the column's type (`columnType`): a token or the directory may carry `"9"` for a
 * number, and compared as text `10 <= '9'` would hold. A value that is not of that type (`"9x"`
 * for an integer) is NULL: the row is denied.
 */
export function bindExpr(
  expr: Expr,
  attrs: (name: string) => Scalar,
  columnType: (column: string) => ColumnType | undefined = () => undefined,
): Expr {
  const bind = (o: Operand, against?: Operand): Operand =>
    o.kind === "attr"
      ? {
        kind: "literal",
        value: against?.kind === "column"
          ? asColumnType(attrs(o.name), columnType(against.name))
          : attrs(o.name),
      }
      : o;
  const rowFree = (...os: Operand[]) => os.every((o) => o.kind === "literal");
  switch (expr.kind) {
    case "const":
      return expr;
    case "and":
    case "or": {
      const args = expr.args.map((a) => bindExpr(a, attrs, columnType));
      const value = combine(expr.kind, args.map((a) => a.kind === "const" ? a.value : undefined));
      if (value !== undefined) return { kind: "const", value };
      const live = args.filter((a) => !(a.kind === "const" && a.value === (expr.kind === "and")));
      return live.length === 1 ? live[0] : { kind: expr.kind, args: live };
    }
    case "not": {
      const arg = bindExpr(expr.arg, attrs, columnType);
      return arg.kind === "const" ? { kind: "const", value: not(arg.value) } : { kind: "not", arg };
    }
    default: {
      const bound = bindOperands(expr, bind);
      return operandsOf(bound).every((o) => rowFree(o))
        ? { kind: "const", value: evalExpr(bound, {}) }
        : bound;
    }
  }
}

/** Evaluates an expression on a row (three-valued; only `true` admits a row). */
export function evalExpr(expr: Expr, row: Record<string, unknown>): Truth {
  const value = (o: Operand): unknown =>
    o.kind === "column" ? row[o.name] : o.kind === "literal" ? o.value : null;
  switch (expr.kind) {
    case "const":
      return expr.value;
    case "and":
    case "or":
      return combine(expr.kind, expr.args.map((a) => evalExpr(a, row))) ?? null;
    case "not":
      return not(evalExpr(expr.arg, row));
    case "cmp": {
      const a = value(expr.left), b = value(expr.right);
      if (a == null || b == null || !isScalar(b)) return null;
      return matchesPredicate({ column: "", op: expr.op, value: b }, a);
    }
    case "in": {
      const a = value(expr.operand);
      if (a == null) return null;
      const items = expr.list.map(value);
      const hit = items.some((b) =>
        b != null && isScalar(b) && matchesPredicate({ column: "", op: "=", value: b }, a)
      );
      const result: Truth = hit ? true : items.some((b) => b == null) ? null : false;
      return expr.negated ? not(result) : result;
    }
    case "null": {
      const isNull = value(expr.operand) == null;
      return expr.negated ? !isNull : isNull;
    }
    case "like": {
      const a = value(expr.operand), p = value(expr.pattern);
      if (a == null || p == null) return null;
      const hit = matchesPredicate({ column: "", op: "like", pattern: String(p) }, a);
      return expr.negated ? !hit : hit;
    }
  }
}

/**
 * The conjuncts of a bound expression a source can apply (column vs literal): offered to the
 * source. What cannot be expressed stays with {@link evalExpr}, which always runs.
 */
export function pushableConjuncts(expr: Expr): Predicate[] {
  const conjuncts = expr.kind === "and" ? expr.args : [expr];
  const out: Predicate[] = [];
  for (const c of conjuncts) {
    const p = toPredicate(c);
    if (p) out.push(p);
  }
  return out;
}

function toPredicate(e: Expr): Predicate | undefined {
  switch (e.kind) {
    case "cmp": {
      if (e.left.kind === "column" && e.right.kind === "literal" && e.right.value !== null) {
        return { column: e.left.name, op: e.op, value: e.right.value };
      }
      if (e.right.kind === "column" && e.left.kind === "literal" && e.left.value !== null) {
        return { column: e.right.name, op: SWAPPED[e.op], value: e.left.value };
      }
      return undefined;
    }
    case "in": {
      if (e.operand.kind !== "column") return undefined;
      const values: Scalar[] = [];
      for (const o of e.list) {
        if (o.kind !== "literal" || o.value === null) return undefined;
        values.push(o.value);
      }
      return { column: e.operand.name, op: e.negated ? "not in" : "in", values };
    }
    case "null":
      return e.operand.kind === "column"
        ? { column: e.operand.name, op: e.negated ? "is not null" : "is null" }
        : undefined;
    case "like":
      return !e.negated && e.operand.kind === "column" && e.pattern.kind === "literal" &&
          typeof e.pattern.value === "string"
        ? { column: e.operand.name, op: "like", pattern: e.pattern.value }
        : undefined;
    default:
      return undefined;
  }
}

function combine(kind: "and" | "or", values: (Truth | undefined)[]): Truth | undefined {
  const dominant = kind === "or";
  if (values.includes(dominant)) return dominant;
  if (values.some((v) => v === undefined)) return undefined;
  return values.includes(null) ? null : !dominant;
}

function not(v: Truth): Truth {
  return v === null ? null : !v;
}

/** Each operand bound, an attribute against the column it is compared with. */
function bindOperands(e: Expr, bind: (o: Operand, against?: Operand) => Operand): Expr {
  switch (e.kind) {
    case "cmp":
      return { ...e, left: bind(e.left, e.right), right: bind(e.right, e.left) };
    case "in":
      return { ...e, operand: bind(e.operand), list: e.list.map((o) => bind(o, e.operand)) };
    default:
      return mapOperands(e, (o) => bind(o));
  }
}

const NUMBER_TEXT = /^\s*[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?\s*$/;

/**
 * A user's value as the column's type would compare it, or NULL when it cannot be one: numbers
 * from numeric text, booleans from `true`/`false`, text from any scalar.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { asColumnType } from "./_expr.ts";
 * assert.equal(asColumnType("9", "integer"), 9);
 * assert.equal(asColumnType("9abc", "integer"), null);
 * assert.equal(asColumnType(9, "text"), "9");
 * ```
 */
export function asColumnType(value: Scalar, type: ColumnType | undefined): Scalar {
  if (value === null || type === undefined) return value;
  switch (type) {
    case "integer":
    case "double": {
      const n = typeof value === "number"
        ? value
        : typeof value === "string" && NUMBER_TEXT.test(value)
        ? Number(value)
        : NaN;
      return Number.isFinite(n) ? n : null;
    }
    case "boolean":
      if (typeof value === "boolean") return value;
      return value === "true" ? true : value === "false" ? false : null;
    case "text":
      return String(value);
    default:
      return typeof value === "string" ? value : null;
  }
}

function isScalar(v: unknown): v is Scalar {
  return v === null || ["string", "number", "boolean"].includes(typeof v);
}

function operandsOf(e: Expr): Operand[] {
  switch (e.kind) {
    case "cmp":
      return [e.left, e.right];
    case "in":
      return [e.operand, ...e.list];
    case "null":
      return [e.operand];
    case "like":
      return [e.operand, e.pattern];
    default:
      return [];
  }
}

function mapOperands(e: Expr, f: (o: Operand) => Operand): Expr {
  switch (e.kind) {
    case "cmp":
      return { ...e, left: f(e.left), right: f(e.right) };
    case "in":
      return { ...e, operand: f(e.operand), list: e.list.map(f) };
    case "null":
      return { ...e, operand: f(e.operand) };
    case "like":
      return { ...e, operand: f(e.operand), pattern: f(e.pattern) };
    default:
      return e;
  }
}
