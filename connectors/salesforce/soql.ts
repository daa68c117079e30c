/**
 * SOQL for the Salesforce tables: literal escaping, and the pushdown negotiation — which
 * predicates, order and limit SOQL expresses exactly, which only as a superset (SOQL compares
 * text case-insensitively), and which it cannot express at all (left to DuckDB).
 *
 * @module
 */
import type { ComparisonOp, Predicate, Scalar, ScanOffer, SortKey } from "../sdk/mod.ts";
import { millisecondBound } from "../sdk/timestamp.ts";

/** How a column's SOQL field compares. */
export type SoqlKind = "id" | "text" | "number" | "boolean" | "datetime" | "date";

/** A column of a Salesforce table and the SOQL field it reads. */
export interface SoqlField {
  column: string;
  /** SOQL field path, e.g. `Owner.Email`. */
  field: string;
  kind: SoqlKind;
  /** The field may appear in WHERE. @default true */
  filterable?: boolean;
}

/**
 * A SOQL string literal: single quotes, with `\` and `'` (and control characters) escaped by
 * backslashes as SOQL requires.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { soqlString } from "./soql.ts";
 * assert.ok(soqlString("O'Brien \\ Co") === "'O\\'Brien \\\\ Co'");
 * ```
 */
export function soqlString(value: string): string {
  let out = "";
  for (const ch of value) {
    switch (ch) {
      case "\\":
        out += "\\\\";
        break;
      case "'":
        out += "\\'";
        break;
      case '"':
        out += '\\"';
        break;
      case "\n":
        out += "\\n";
        break;
      case "\r":
        out += "\\r";
        break;
      case "\t":
        out += "\\t";
        break;
      case "\b":
        out += "\\b";
        break;
      case "\f":
        out += "\\f";
        break;
      default:
        out += ch;
    }
  }
  return `'${out}'`;
}

const ID_RE = /^[a-zA-Z0-9]{15}(?:[a-zA-Z0-9]{3})?$/;

/** One predicate as a SOQL condition, and whether SOQL applies it exactly. */
export interface SoqlCondition {
  soql: string;
  exact: boolean;
}

/**
 * Translates a predicate into a SOQL condition, or `null` when SOQL cannot express it without
 * possibly dropping a row SQL keeps.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { soqlCondition } from "./soql.ts";
 * const f = { column: "name", field: "Name", kind: "text" as const };
 * assert.ok(soqlCondition(f, { column: "name", op: "=", value: "a'b" })?.soql === "Name = 'a\\'b'");
 * assert.ok(soqlCondition(f, { column: "name", op: "!=", value: "x" }) === null);
 * ```
 */
export function soqlCondition(f: SoqlField, p: Predicate): SoqlCondition | null {
  if (f.filterable === false) return null;
  switch (p.op) {
    case "is null":
      return f.kind === "boolean" ? null : { soql: `${f.field} = null`, exact: true };
    case "is not null":
      return f.kind === "boolean" ? null : { soql: `${f.field} != null`, exact: true };
    case "like": {
      if (f.kind !== "text") return null;
      // SOQL LIKE is case-insensitive: a superset of SQL's LIKE.
      return { soql: `${f.field} LIKE ${soqlString(p.pattern)}`, exact: false };
    }
    case "in":
    case "not in": {
      if (p.values.length === 0 || p.values.some((v) => v === null)) return null;
      if (f.kind === "date" || f.kind === "datetime") return null;
      const lits = p.values.map((v) => literal(f, v));
      if (lits.some((l) => l === null)) return null;
      if (p.op === "not in" && (f.kind === "text" || f.kind === "id")) return null;
      return {
        soql: `${f.field} ${p.op === "in" ? "IN" : "NOT IN"} (${lits.join(", ")})`,
        exact: f.kind !== "text" && f.kind !== "id" && p.op === "in",
      };
    }
    default: {
      if (p.value === null) return null;
      if (f.kind === "date") return dateCondition(f, p.op, p.value);
      if (f.kind === "datetime") return datetimeCondition(f, p.op, p.value);
      const lit = literal(f, p.value);
      if (lit === null) return null;
      if (f.kind === "text" || f.kind === "id") {
        // Case-insensitive in SOQL: `=` keeps a superset, `!=` would drop rows SQL keeps.
        if (p.op !== "=") return null;
        return { soql: `${f.field} = ${lit}`, exact: false };
      }
      if (f.kind === "boolean" && p.op !== "=" && p.op !== "!=") return null;
      // SOQL's `!=` keeps NULLs that SQL drops: a superset.
      return { soql: `${f.field} ${p.op} ${lit}`, exact: p.op !== "!=" || f.kind === "boolean" };
    }
  }
}

function literal(f: SoqlField, v: Scalar): string | null {
  switch (f.kind) {
    case "id":
      return typeof v === "string" && ID_RE.test(v) ? soqlString(v) : null;
    case "text":
      return typeof v === "string" ? soqlString(v) : null;
    case "number":
      // SOQL refuses exponent form (`1e21`, `1e-7`): such a number stays with DuckDB.
      return typeof v === "number" && Number.isFinite(v) && !/e/i.test(String(v))
        ? String(v)
        : null;
    case "boolean":
      return typeof v === "boolean" ? String(v) : null;
    default:
      return null;
  }
}

/**
 * The comparison on whole milliseconds equivalent to `op v` (a canonical timestamp literal that
 * may carry microseconds), or null when it is not a plain comparison SOQL can carry.
 */
function msComparison(op: ComparisonOp, v: Scalar): { op: ComparisonOp; ms: number } | null {
  const bound = typeof v === "string" ? millisecondBound(op, v) : undefined;
  return bound?.kind === "compare" ? bound : null;
}

/** `2026-01-02T03:04:05Z` (SOQL takes no milliseconds). */
function soqlDateTime(ms: number): string {
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, "Z");
}

function datetimeCondition(f: SoqlField, rawOp: ComparisonOp, v: Scalar): SoqlCondition | null {
  const bound = msComparison(rawOp, v);
  if (!bound) return null;
  const { op, ms } = bound;
  // SOQL's `!=` keeps NULLs that SQL drops: a superset.
  if (ms % 1000 === 0) return { soql: `${f.field} ${op} ${soqlDateTime(ms)}`, exact: op !== "!=" };
  // Salesforce keeps whole seconds: widen to the enclosing second.
  const floor = ms - (((ms % 1000) + 1000) % 1000);
  switch (op) {
    case ">":
    case ">=":
      return { soql: `${f.field} >= ${soqlDateTime(floor)}`, exact: false };
    case "<":
    case "<=":
      return { soql: `${f.field} <= ${soqlDateTime(floor + 1000)}`, exact: false };
    default:
      return null;
  }
}

/** A date field holds midnight UTC of its day in the column. */
function dateCondition(f: SoqlField, rawOp: ComparisonOp, v: Scalar): SoqlCondition | null {
  const bound = msComparison(rawOp, v);
  if (!bound) return null;
  const { op, ms } = bound;
  const DAY = 86_400_000;
  const day = (x: number) => new Date(x).toISOString().slice(0, 10);
  const floor = Math.floor(ms / DAY) * DAY;
  if (floor === ms) {
    if (op === "!=") return { soql: `${f.field} != ${day(ms)}`, exact: false };
    return { soql: `${f.field} ${op} ${day(ms)}`, exact: true };
  }
  // Not a midnight: a date is above it iff it is after its day.
  switch (op) {
    case ">":
    case ">=":
      return { soql: `${f.field} > ${day(floor)}`, exact: true };
    case "<":
    case "<=":
      return { soql: `${f.field} <= ${day(floor)}`, exact: true };
    default:
      return null;
  }
}

/** What SOQL takes of an offer. */
export interface SoqlPlan {
  /** SELECT list. */
  fields: string[];
  /** WHERE conditions, ANDed. */
  where: string[];
  /** ORDER BY items. */
  orderBy: string[];
  /** LIMIT, when the source's rows are exactly the query's. */
  limit?: number;
  pushed: Predicate[];
  residual: Predicate[];
}

/**
 * Negotiates an offer: predicates to WHERE, columns to the SELECT list, and ORDER BY + LIMIT
 * only when SOQL sorts the way DuckDB does (numbers, dates, booleans, NULLS LAST) and every
 * predicate was taken exactly.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { planSoql, renderSoql } from "./soql.ts";
 * const fields = [
 *   { column: "id", field: "Id", kind: "id" as const },
 *   { column: "amount", field: "Amount", kind: "number" as const },
 * ];
 * const plan = planSoql(fields, { predicates: [{ column: "amount", op: ">", value: 5 }],
 *   columns: ["id"], orderBy: [{ column: "amount", direction: "desc" }], limit: 3 });
 * assert.ok(renderSoql("Opportunity", plan) ===
 *   "SELECT Id, Amount FROM Opportunity WHERE Amount > 5 ORDER BY Amount DESC NULLS LAST LIMIT 3");
 * ```
 */
export function planSoql(fields: SoqlField[], offer: ScanOffer): SoqlPlan {
  const byColumn = new Map(fields.map((f) => [f.column, f]));
  const pushed: Predicate[] = [];
  const residual: Predicate[] = [];
  const where: string[] = [];
  let exact = true;
  for (const p of offer.predicates) {
    const f = byColumn.get(p.column);
    const cond = f ? soqlCondition(f, p) : null;
    if (!cond) {
      residual.push(p);
      continue;
    }
    where.push(cond.soql);
    exact &&= cond.exact;
    pushed.push(p);
  }
  const columns = [
    ...new Set([
      ...offer.columns,
      ...offer.predicates.map((p) => p.column),
      ...(offer.orderBy ?? []).map((s) => s.column),
    ]),
  ];
  const select = ["Id", ...columns.map((c) => byColumn.get(c)?.field).filter(Boolean)];
  const orderBy = sortable(byColumn, offer.orderBy);
  const limitOk = offer.limit !== undefined && exact && residual.length === 0 &&
    (!offer.orderBy?.length || orderBy !== null);
  return {
    fields: [...new Set(select as string[])],
    where,
    orderBy: limitOk && orderBy ? orderBy : [],
    ...(limitOk ? { limit: offer.limit } : {}),
    pushed,
    residual,
  };
}

function sortable(byColumn: Map<string, SoqlField>, keys?: SortKey[]): string[] | null {
  if (!keys?.length) return null;
  const out: string[] = [];
  for (const k of keys) {
    const f = byColumn.get(k.column);
    // Text sorts case-insensitively in SOQL, unlike DuckDB: not pushed.
    if (!f || f.kind === "text" || f.kind === "id") return null;
    out.push(`${f.field} ${k.direction === "desc" ? "DESC" : "ASC"} NULLS LAST`);
  }
  return out;
}

/** The SOQL text of a plan. */
export function renderSoql(object: string, plan: SoqlPlan): string {
  let q = `SELECT ${plan.fields.join(", ")} FROM ${object}`;
  if (plan.where.length) q += ` WHERE ${plan.where.join(" AND ")}`;
  if (plan.orderBy.length) q += ` ORDER BY ${plan.orderBy.join(", ")}`;
  if (plan.limit !== undefined) q += ` LIMIT ${plan.limit}`;
  return q;
}
