/**
 * Small readers for node-sql-parser's AST (PostgreSQL dialect), which is untyped JSON.
 *
 * @module
 */
import type { Scalar } from "../../connectors/sdk/predicate.ts";

/** An AST node: a JSON object of unknown shape. */
export type Node = Record<string, unknown>;

/** `x` as a node, or null when it is not a plain object. */
export function asNode(x: unknown): Node | null {
  return x !== null && typeof x === "object" && !Array.isArray(x) ? x as Node : null;
}

/** `x` as an array (empty when it is not one). */
export function asArray(x: unknown): unknown[] {
  return Array.isArray(x) ? x : [];
}

/**
 * The text of an identifier, lower-cased (DuckDB matches identifiers case-insensitively, quoted
 * or not). Accepts a plain string or a `{ type, value }` / `{ expr: { type, value } }` node.
 */
export function identText(x: unknown): string | null {
  if (typeof x === "string") return x.toLowerCase();
  const node = asNode(x);
  if (!node) return null;
  if (typeof node.value === "string") return node.value.toLowerCase();
  if (node.expr !== undefined) return identText(node.expr);
  return null;
}

/** A column reference: its qualifier parts (lower-case) and column name (or `*`). */
export interface ColumnRefParts {
  qualifier: string[];
  column: string;
}

/** Reads a `column_ref` node; null when it is not one or has an unexpected shape. */
export function columnRefParts(x: unknown): ColumnRefParts | null {
  const node = asNode(x);
  if (!node || node.type !== "column_ref") return null;
  const column = node.column === "*" ? "*" : identText(node.column);
  if (column === null) return null;
  const qualifier: string[] = [];
  for (const part of [node.db, node.schema, node.table]) {
    if (part === null || part === undefined || part === "") continue;
    const text = identText(part);
    if (text === null) return null;
    qualifier.push(text);
  }
  return { qualifier, column };
}

/**
 * A reference to one column by name: not `*`, and without a COLLATE (which changes how values
 * compare, so nothing about it can be offered to a source). Null for anything else.
 */
export function plainColumnRef(x: unknown): ColumnRefParts | null {
  const parts = columnRefParts(x);
  if (!parts || parts.column === "*") return null;
  const collate = asNode(x)!.collate;
  return collate === undefined || collate === null ? parts : null;
}

/**
 * What kind of literal a value came from; decides which column types it may compare with and how
 * DuckDB casts it (`date`: `DATE '…'`, `timestamp`: `TIMESTAMP '…'` or a cast to it).
 */
export type LiteralKind = "string" | "date" | "timestamp" | "number" | "boolean" | "null";

/** A literal read from the AST. */
export interface Literal {
  kind: LiteralKind;
  value: Scalar;
}

const TEXT_TYPES = new Set(["TEXT", "VARCHAR", "STRING", "CHAR", "BPCHAR"]);
// TIMESTAMPTZ is not here: it applies an offset the TIMESTAMP columns' cast ignores.
const TEMPORAL_TYPES: Record<string, "date" | "timestamp"> = {
  DATE: "date",
  TIMESTAMP: "timestamp",
  DATETIME: "timestamp",
};

/**
 * Whether a number as node-sql-parser spells it is exactly the number written: the parser keeps
 * the digit count but rounds past ~17 significant digits (`3.0000000000000001` arrives as
 * `3.0000000000000000`), and a double holds any 15 significant decimal digits exactly.
 */
function exactNumberText(raw: string): boolean {
  if (/e/i.test(raw)) return true; // a DOUBLE in DuckDB too: both read it as the nearest double
  // Trailing zeros count: the parser's rounding leaves them (`3.0000000000000000`).
  return raw.replace(/^[-+]/, "").replace(".", "").replace(/^0+/, "").length <= 15;
}

/**
 * Reads a literal: a single-quoted string (with `''` unescaped; backslashes kept, as DuckDB
 * does), a number, a boolean, NULL, `DATE '…'`/`TIMESTAMP '…'`, or a cast of a string literal to
 * a date, timestamp or text type. Anything else is not a literal (null).
 */
export function literalOf(x: unknown): Literal | null {
  const node = asNode(x);
  if (!node) return null;
  switch (node.type) {
    case "single_quote_string":
      if (node.escape !== undefined || typeof node.value !== "string") return null;
      return { kind: "string", value: node.value.replaceAll("''", "'") };
    case "number":
    case "bigint": {
      const raw = node.value;
      const num = typeof raw === "number" ? raw : typeof raw === "string" ? Number(raw) : NaN;
      if (!Number.isFinite(num)) return null;
      if (typeof raw === "string" && !exactNumberText(raw)) return null;
      // A huge integer literal loses precision as a JS number: not offered.
      if (typeof raw === "string" && !/[.eE]/.test(raw) && !Number.isSafeInteger(num)) return null;
      if (typeof raw === "number" && Number.isInteger(raw) && !Number.isSafeInteger(raw)) {
        return null;
      }
      return { kind: "number", value: num };
    }
    case "bool":
      return typeof node.value === "boolean" ? { kind: "boolean", value: node.value } : null;
    case "null":
      return { kind: "null", value: null };
    case "date":
    case "timestamp":
      return typeof node.value === "string" ? { kind: node.type, value: node.value } : null;
    case "unary_expr": {
      if (node.operator !== "-") return null;
      const inner = literalOf(node.expr);
      return inner?.kind === "number" ? { kind: "number", value: -(inner.value as number) } : null;
    }
    case "cast": {
      const inner = asNode(node.expr);
      const targets = asArray(node.target);
      const target = asNode(targets[0]);
      if (inner?.type !== "single_quote_string" || targets.length !== 1 || !target) return null;
      if (target.length !== undefined && target.length !== null) return null;
      if (asArray(target.suffix).length > 0) return null;
      const type = String(target.dataType ?? "").toUpperCase();
      const lit = literalOf(inner);
      if (!lit) return null;
      if (Object.hasOwn(TEMPORAL_TYPES, type)) {
        return { kind: TEMPORAL_TYPES[type], value: lit.value };
      }
      if (TEXT_TYPES.has(type)) return lit;
      return null;
    }
    default:
      return null;
  }
}
