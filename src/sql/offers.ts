/**
 * Builds the pushdown offer for each table a query reads: the columns it needs, the WHERE (and
 * INNER JOIN ON) conjuncts that touch that table alone, and — for a plain single-table query —
 * its ORDER BY and LIMIT. DuckDB re-applies the whole query over what is fetched, so an offer may
 * be loose (a superset of rows) but must never drop a row the query needs.
 *
 * @module
 */
import type { Predicate, Scalar } from "../../connectors/sdk/predicate.ts";
import type { ColumnDef, ColumnType, ScanOffer, SortKey } from "../../connectors/sdk/table.ts";
import { canonicalTimestamp, literalTimestampMicros } from "../../connectors/sdk/timestamp.ts";
import type { Analysis, Nullability, Occurrence, Scope } from "./_analyze.ts";
import { asArray, asNode, type Literal, literalOf, plainColumnRef } from "./_ast.ts";
import { comparisonOp, SWAPPED } from "./comparison.ts";
import type { ParsedQuery, TableRef } from "./parse.ts";

/** A table of the query as the planner resolved it in the catalog. */
export interface ResolvedTable {
  /** Lower-case `schema.table`, e.g. `github.pull_requests`. */
  key: string;
  /** The table's columns. */
  columns: ColumnDef[];
}

interface TableInfo {
  key: string;
  columns: Map<string, ColumnType>;
  order: string[];
  read: Set<string>;
  predicates: Predicate[];
  occurrences: Occurrence[];
}

/**
 * Builds one {@link ScanOffer} per resolved table (keyed by `ResolvedTable.key`).
 *
 * - `columns`: every column of the table the query reads anywhere, in the table's column order
 *   (over-approximated when a reference is ambiguous; may be empty, e.g. for `count(*)`).
 * - `predicates`: top-level AND conjuncts of a WHERE (or an INNER JOIN's ON) of the SELECT whose
 *   FROM holds the table, over that table alone, in the shapes a connector understands — only
 *   when the table is referenced once in the whole query.
 * - `orderBy`/`limit`: only for a plain single-table SELECT whose whole WHERE became predicates.
 *   The planner must pass `limit` on only if the connector takes every predicate exactly (no
 *   residual), and sorts the way DuckDB does (NULLS LAST).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { parseQuery } from "./parse.ts";
 * import { buildOffers } from "./offers.ts";
 * const parsed = parseQuery("SELECT pr_id FROM github.pull_requests WHERE status = 'merged'");
 * const cols = ["pr_id", "status"].map((name) => ({ name, type: "text" as const, description: "" }));
 * const offer = buildOffers(parsed, [{ key: "github.pull_requests", columns: cols }])
 *   .get("github.pull_requests")!;
 * assert.ok(offer.columns.join() === "pr_id,status");
 * assert.ok(JSON.stringify(offer.predicates) ===
 *   JSON.stringify([{ column: "status", op: "=", value: "merged" }]));
 * ```
 */
export function buildOffers(parsed: ParsedQuery, tables: ResolvedTable[]): Map<string, ScanOffer> {
  const { analysis } = parsed;
  const infos = new Map<string, TableInfo>();
  for (const t of tables) {
    const key = t.key.toLowerCase();
    infos.set(key, {
      key,
      columns: new Map(t.columns.map((c) => [c.name.toLowerCase(), c.type])),
      order: t.columns.map((c) => c.name.toLowerCase()),
      read: new Set(),
      predicates: [],
      occurrences: [],
    });
  }
  const infoOf = new Map<Occurrence, TableInfo>();
  for (const occ of analysis.occurrences) {
    const info = resolveRef(occ.ref, infos);
    if (!info) continue;
    infoOf.set(occ, info);
    info.occurrences.push(occ);
  }

  collectColumns(analysis, infoOf);
  const fullyOffered = collectPredicates(analysis, infoOf);

  const offers = new Map<string, ScanOffer>();
  for (const info of infos.values()) {
    const offer: ScanOffer = {
      predicates: info.predicates,
      columns: info.order.filter((c) => info.read.has(c)),
    };
    offers.set(info.key, offer);
  }
  const topN = singleTableTopN(analysis, infoOf, fullyOffered);
  if (topN) {
    const offer = offers.get(topN.key)!;
    if (topN.orderBy) offer.orderBy = topN.orderBy;
    offer.limit = topN.limit;
  }
  return offers;
}

function resolveRef(ref: TableRef, infos: Map<string, TableInfo>): TableInfo | null {
  if (ref.schema !== null) return infos.get(`${ref.schema}.${ref.table}`) ?? null;
  // No schema: the planner resolved it; it is the one given table of that name.
  const matches = [...infos.values()].filter((i) => i.key.split(".").pop() === ref.table);
  return matches.length === 1 ? matches[0] : null;
}

// ---------------------------------------------------------------------------------------------
// Columns

function collectColumns(analysis: Analysis, infoOf: Map<Occurrence, TableInfo>) {
  const readAll = (occ: Occurrence) => {
    const info = infoOf.get(occ);
    if (info) { for (const c of info.order) info.read.add(c); }
  };
  const readOne = (occ: Occurrence, column: string) => {
    const info = infoOf.get(occ);
    if (info?.columns.has(column)) info.read.add(column);
  };
  const hasColumn = (occ: Occurrence, column: string) =>
    infoOf.get(occ)?.columns.has(column) ?? false;

  for (const occ of analysis.occurrences) if (occ.renamed) readAll(occ);

  for (const use of analysis.columns) {
    const { qualifier, column, scope } = use;
    if (qualifier.length === 0) {
      if (column === "*") {
        for (const occ of scope.tables) readAll(occ);
        continue;
      }
      resolveUnqualified(scope, column, hasColumn, readOne, readAll);
      continue;
    }
    const target = findQualified(scope, qualifier);
    if (target === "other") continue;
    if (target) {
      for (const occ of target) column === "*" ? readAll(occ) : readOne(occ, column);
      continue;
    }
    // Not a table in scope: struct access (`gh.labels.name`, `labels.name`). Over-fetch.
    if (qualifier.length > 1) {
      const t = findQualified(scope, qualifier.slice(0, 1));
      if (t === "other") continue;
      if (t) {
        for (const occ of t) readOne(occ, qualifier[1]);
        continue;
      }
    }
    resolveUnqualified(scope, qualifier[0], hasColumn, readOne, readAll);
  }
}

function resolveUnqualified(
  scope: Scope,
  column: string,
  hasColumn: (occ: Occurrence, column: string) => boolean,
  readOne: (occ: Occurrence, column: string) => void,
  readAll: (occ: Occurrence) => void,
) {
  for (let s: Scope | null = scope; s; s = s.parent) {
    const candidates = s.tables.filter((occ) => hasColumn(occ, column));
    if (candidates.length > 0) {
      for (const occ of candidates) readOne(occ, column);
      return;
    }
    // `SELECT gh FROM github.pull_requests gh` reads the whole row as a struct.
    const whole = s.tables.filter((occ) => occ.name === column);
    if (whole.length > 0) {
      for (const occ of whole) readAll(occ);
      return;
    }
  }
}

/** The tables a qualifier names, innermost scope first; `other` for a subquery/CTE alias. */
function findQualified(scope: Scope, qualifier: string[]): Occurrence[] | "other" | null {
  for (let s: Scope | null = scope; s; s = s.parent) {
    const found = matchQualifier(s, qualifier);
    if (found) return found;
  }
  return null;
}

function matchQualifier(s: Scope, qualifier: string[]): Occurrence[] | "other" | null {
  if (qualifier.length === 1) {
    const [q] = qualifier;
    const byName = s.tables.filter((occ) => occ.name === q);
    if (byName.length > 0) return byName;
    return s.otherNames.includes(q) ? "other" : null;
  }
  if (qualifier.length === 2) {
    // DuckDB's rule: an alias hides the table's own name — `FROM jira.issues l` cannot be named
    // `issues` or `jira.issues`, so such a reference binds to an outer query's table instead.
    const [schema, table] = qualifier;
    const found = s.tables.filter((occ) =>
      occ.ref.alias === null && occ.ref.schema === schema && occ.ref.table === table
    );
    return found.length > 0 ? found : null;
  }
  return null;
}

// ---------------------------------------------------------------------------------------------
// Predicates

/** Resolves a column reference in a conjunct to exactly one table of the conjunct's own FROM. */
function resolveLocal(
  scope: Scope,
  node: unknown,
  infoOf: Map<Occurrence, TableInfo>,
): { occ: Occurrence; column: string } | null {
  const parts = plainColumnRef(node);
  if (!parts) return null;
  let candidates: Occurrence[];
  if (parts.qualifier.length === 0) {
    candidates = scope.tables.filter((occ) => infoOf.get(occ)?.columns.has(parts.column));
  } else {
    const found = matchQualifier(scope, parts.qualifier);
    if (!found || found === "other") return null;
    candidates = found;
    if (parts.qualifier.length === 1 && scope.otherNames.includes(parts.qualifier[0])) return null;
  }
  if (candidates.length !== 1) return null;
  const occ = candidates[0];
  if (!infoOf.get(occ)?.columns.has(parts.column)) return null;
  return { occ, column: parts.column };
}

// DuckDB's string → DOUBLE cast: decimal or exponent notation, surrounding spaces allowed; no hex,
// no `inf`/`nan` (those are not pushed).
const DOUBLE_TEXT = /^\s*[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?\s*$/;
// DuckDB's string → BIGINT cast rounds `'3.5'` to 4: only plain integers are pushed.
const INTEGER_TEXT = /^\s*[-+]?\d+\s*$/;
const DATE_TEXT = /^\s*\d{4}-\d{1,2}-\d{1,2}\s*$/;

/**
 * The value DuckDB compares a column of `type` with when the query writes `lit`, typed and
 * normalised (timestamps cast as DuckDB casts them: offsets ignored, microseconds kept), or
 * undefined when the pair is not one whose DuckDB reading is certain — then nothing is pushed.
 */
function valueFor(type: ColumnType, lit: Literal): Scalar | undefined {
  switch (type) {
    case "text":
      return lit.kind === "string" ? lit.value : undefined;
    case "integer":
    case "double": {
      if (lit.kind === "number") return lit.value;
      if (lit.kind !== "string") return undefined;
      const text = lit.value as string;
      if (!(type === "integer" ? INTEGER_TEXT : DOUBLE_TEXT).test(text)) return undefined;
      const n = Number(text);
      // `'1e400'` overflows: DuckDB refuses it, and a JS Infinity is no value to push.
      if (!Number.isFinite(n)) return undefined;
      return type === "integer" && !Number.isSafeInteger(n) ? undefined : n;
    }
    case "boolean":
      return lit.kind === "boolean" ? lit.value : undefined;
    case "timestamp": {
      if (lit.kind !== "string" && lit.kind !== "timestamp" && lit.kind !== "date") {
        return undefined;
      }
      const text = lit.value as string;
      if (lit.kind === "date" && !DATE_TEXT.test(text)) return undefined;
      const micros = literalTimestampMicros(text);
      return micros === undefined ? undefined : canonicalTimestamp(micros);
    }
    default:
      return undefined;
  }
}

interface Candidate {
  occ: Occurrence;
  predicates: Predicate[];
  /** `is null`: true only for rows an outer join did not null-extend. */
  nullRejecting: boolean;
}

/** The predicates a conjunct means for exactly one table, or null when it is not offerable. */
function conjunctPredicates(
  scope: Scope,
  expr: unknown,
  infoOf: Map<Occurrence, TableInfo>,
): Candidate | null {
  const node = asNode(expr);
  if (!node || node.type !== "binary_expr") return null;
  const operator = String(node.operator).toUpperCase();
  const typeOf = (occ: Occurrence, column: string) => infoOf.get(occ)!.columns.get(column)!;

  const cmp = comparisonOp(operator);
  if (cmp) {
    let side = resolveLocal(scope, node.left, infoOf);
    let lit = literalOf(node.right);
    let op = cmp;
    if (!side) {
      side = resolveLocal(scope, node.right, infoOf);
      lit = literalOf(node.left);
      op = SWAPPED[cmp];
    }
    if (!side || !lit || lit.kind === "null") return null;
    const value = valueFor(typeOf(side.occ, side.column), lit);
    if (value === undefined) return null;
    return {
      occ: side.occ,
      predicates: [{ column: side.column, op, value }],
      nullRejecting: true,
    };
  }

  const side = resolveLocal(scope, node.left, infoOf);
  if (!side) return null;
  const type = typeOf(side.occ, side.column);
  const one = (p: Predicate, nullRejecting = true): Candidate => ({
    occ: side.occ,
    predicates: [p],
    nullRejecting,
  });
  switch (operator) {
    case "IN":
    case "NOT IN": {
      const list = asNode(node.right);
      if (list?.type !== "expr_list") return null;
      const values: Scalar[] = [];
      for (const item of asArray(list.value)) {
        const lit = literalOf(item);
        if (!lit) return null;
        // NULL in an IN list never matches: drop it. In NOT IN it makes the whole test unknown.
        if (lit.kind === "null") {
          if (operator === "NOT IN") return null;
          continue;
        }
        const value = valueFor(type, lit);
        if (value === undefined) return null;
        values.push(value);
      }
      if (values.length === 0) return null;
      return one({ column: side.column, op: operator === "IN" ? "in" : "not in", values });
    }
    case "IS":
    case "IS NOT": {
      if (asNode(node.right)?.type !== "null") return null;
      return operator === "IS"
        ? one({ column: side.column, op: "is null" }, false)
        : one({ column: side.column, op: "is not null" });
    }
    case "LIKE": {
      const lit = literalOf(node.right);
      if (type !== "text" || lit?.kind !== "string") return null;
      return one({ column: side.column, op: "like", pattern: lit.value as string });
    }
    case "BETWEEN": {
      const bounds = asArray(asNode(node.right)?.value);
      if (asNode(node.right)?.type !== "expr_list" || bounds.length !== 2) return null;
      const [lo, hi] = bounds.map(literalOf);
      if (!lo || !hi || lo.kind === "null" || hi.kind === "null") return null;
      const low = valueFor(type, lo), high = valueFor(type, hi);
      if (low === undefined || high === undefined) return null;
      return {
        occ: side.occ,
        predicates: [
          { column: side.column, op: ">=", value: low },
          { column: side.column, op: "<=", value: high },
        ],
        nullRejecting: true,
      };
    }
    default:
      return null;
  }
}

/** Fills each table's predicates; returns the scopes whose whole WHERE became predicates. */
function collectPredicates(analysis: Analysis, infoOf: Map<Occurrence, TableInfo>): Set<Scope> {
  const fully = new Set<Scope>();
  for (const scope of analysis.scopes) {
    let all = true;
    for (const source of scope.filters) {
      const cand = conjunctPredicates(scope, source.conjunct, infoOf);
      const ok = cand !== null && offerable(cand, source.eligible.get(cand.occ), infoOf);
      if (ok) infoOf.get(cand.occ)!.predicates.push(...cand.predicates);
      if (!ok && source.origin === "where") all = false;
    }
    if (all) fully.add(scope);
  }
  return fully;
}

function offerable(
  cand: Candidate,
  nullability: Nullability | undefined,
  infoOf: Map<Occurrence, TableInfo>,
): boolean {
  const info = infoOf.get(cand.occ);
  if (!info || nullability === undefined || cand.occ.renamed) return false;
  // One materialized table serves every reference: a filter valid for one is wrong for another.
  if (info.occurrences.length !== 1) return false;
  // On a FULL join's sides no pre-filter is offered.
  if (nullability === "full") return false;
  // On the nullable side of an outer join, a pre-filter that a NULL row passes (IS NULL) is
  // wrong: removing the row there turns its match into a null-extended row that then passes.
  if (nullability === "outer" && !cand.nullRejecting) return false;
  return true;
}

// ---------------------------------------------------------------------------------------------
// ORDER BY / LIMIT

function singleTableTopN(
  analysis: Analysis,
  infoOf: Map<Occurrence, TableInfo>,
  fullyOffered: Set<Scope>,
): { key: string; orderBy?: SortKey[]; limit: number } | null {
  const { topN } = analysis;
  if (!topN) return null;
  const [scope] = analysis.scopes;
  const info = infoOf.get(analysis.occurrences[0]);
  if (!info || !fullyOffered.has(scope)) return null;
  if (topN.orderBy.length === 0) return { key: info.key, limit: topN.limit };
  const orderBy: SortKey[] = [];
  for (const { expr, direction } of topN.orderBy) {
    const column = resolveLocal(scope, expr, infoOf)?.column;
    if (column === undefined) return null;
    orderBy.push({ column, direction });
  }
  return { key: info.key, orderBy, limit: topN.limit };
}
