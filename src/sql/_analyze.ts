/**
 * Walks a node-sql-parser AST once and records, per SELECT, its scope: the base tables directly
 * in its FROM (with how nullable outer joins make them), the other FROM items (subqueries, CTE
 * references, VALUES), the column references made in it, and the conjuncts that filter it (WHERE
 * and join ON), each with the tables it may be pushed to; plus the statement's output names and
 * its pushable LIMIT. `parse.ts` runs it once and hands it on with the parsed query: the column
 * check, the pushdown offers and the join planner resolve it against the catalog's columns and
 * never walk the SQL again.
 *
 * @module
 */
import { OmniError } from "../errors.ts";
import {
  asArray,
  asNode,
  type ColumnRefParts,
  columnRefParts,
  identText,
  type Node,
} from "./_ast.ts";
import type { TableRef } from "./parse.ts";
import { type TopN, topN } from "./_top_n.ts";

/**
 * How an outer join can null-extend a table in its scope: `none`, `outer` (nullable side of a
 * LEFT/RIGHT join), `full` (a FULL join, or a join type we do not know).
 */
export type Nullability = "none" | "outer" | "full";

/** One base-table reference in a FROM clause. */
export interface Occurrence {
  ref: TableRef;
  scope: Scope;
  /** The name it is referred to by: its alias, else its table name. */
  name: string;
  /** `t AS x(a, b)` renames columns: read all of them, offer no predicates. */
  renamed: boolean;
  /** Nullability in the whole FROM clause (for WHERE conjuncts). */
  nullability: Nullability;
}

/** A conjunct that filters rows of some tables, and which tables may receive it. */
export interface FilterSource {
  conjunct: unknown;
  /** Where it came from, for documentation and tests. */
  origin: "where" | "on";
  /** Tables it may be offered to, with the nullability that applies at that point. */
  eligible: Map<Occurrence, Nullability>;
}

/** A column reference and the scope it was made in. */
export interface ColumnUse extends ColumnRefParts {
  scope: Scope;
}

/** One SELECT (or set-operation branch): what its FROM holds and what filters it. */
export interface Scope {
  parent: Scope | null;
  select: Node;
  tables: Occurrence[];
  /** Names (alias or CTE name) of FROM items that are not base tables. */
  otherNames: string[];
  filters: FilterSource[];
}

/** Everything `analyze` found. */
export interface Analysis {
  tables: TableRef[];
  occurrences: Occurrence[];
  scopes: Scope[];
  columns: ColumnUse[];
  /** Whether any aggregate, window function or named window appears anywhere. */
  hasAggregateOrWindow: boolean;
  /** Every `AS name` in the statement, lower-cased (an over-approximation is harmless). */
  outputAliases: Set<string>;
  /** The LIMIT (and ORDER BY) a plain single-table query lets its source apply. */
  topN: TopN | null;
}

const RANK: Record<Nullability, number> = { none: 0, outer: 1, full: 2 };
const worse = (a: Nullability, b: Nullability): Nullability => RANK[a] >= RANK[b] ? a : b;

/** Splits an expression into its top-level AND conjuncts. */
export function conjuncts(expr: unknown): unknown[] {
  const node = asNode(expr);
  if (!node) return [];
  if (node.type === "binary_expr" && String(node.operator).toUpperCase() === "AND") {
    return [...conjuncts(node.left), ...conjuncts(node.right)];
  }
  return [expr];
}

/**
 * Walks a parsed statement. Throws `PLAN_FAILED` for three-part table names, table functions and
 * FROM items it does not understand, and `INVALID_REQUEST` for a statement inside a CTE that is
 * not a SELECT.
 */
export function analyze(ast: Node): Analysis {
  const out: Analysis = {
    tables: [],
    occurrences: [],
    scopes: [],
    columns: [],
    hasAggregateOrWindow: false,
    outputAliases: outputAliases(ast),
    topN: null,
  };
  walkStatement(ast, null, new Set(), out);
  out.topN = topN(ast, out);
  return out;
}

function outputAliases(ast: unknown): Set<string> {
  const out = new Set<string>();
  const walk = (x: unknown) => {
    if (Array.isArray(x)) {
      x.forEach(walk);
      return;
    }
    const node = asNode(x);
    if (!node) return;
    if (typeof node.as === "string") out.add(node.as.replace(/\(.*$/s, "").trim().toLowerCase());
    for (const v of Object.values(node)) walk(v);
  };
  walk(ast);
  return out;
}

function walkStatement(stmt: Node, parent: Scope | null, ctes: Set<string>, out: Analysis) {
  if (stmt.type !== "select") {
    throw new OmniError(
      "INVALID_REQUEST",
      `only read-only queries (SELECT …) are allowed; got ${String(stmt.type).toUpperCase()}`,
    );
  }
  const visible = new Set(ctes);
  for (const item of asArray(stmt.with)) {
    const cte = asNode(item);
    if (!cte) continue;
    const name = identText(cte.name);
    if (name !== null && cte.recursive === true) visible.add(name);
    const body = asNode(cte.stmt);
    const bodyStmt = body && body.type === undefined && asNode(body.ast) ? asNode(body.ast) : body;
    if (bodyStmt) walkStatement(bodyStmt, parent, new Set(visible), out);
    if (name !== null) visible.add(name);
  }
  walkSelect(stmt, parent, visible, out);
  const next = asNode(stmt._next);
  if (next) walkStatement({ ...next, with: null }, parent, visible, out);
}

function walkSelect(sel: Node, parent: Scope | null, ctes: Set<string>, out: Analysis) {
  if (asNode(sel.into) && (asNode(sel.into)!.expr ?? null) !== null) {
    throw new OmniError(
      "INVALID_REQUEST",
      "only read-only queries (SELECT …) are allowed; got SELECT … INTO",
    );
  }
  const scope: Scope = { parent, select: sel, tables: [], otherNames: [], filters: [] };
  out.scopes.push(scope);
  for (const l of walkFrom(asArray(sel.from), scope, ctes, out)) l.occ.nullability = l.level;
  for (const [key, value] of Object.entries(sel)) {
    if (key === "from" || key === "with" || key === "_next" || key === "type") continue;
    if (key === "window" && value !== null && value !== undefined) out.hasAggregateOrWindow = true;
    walkExpr(value, scope, ctes, out);
  }
  const where = sel.where;
  if (where) {
    const eligible = new Map<Occurrence, Nullability>();
    for (const occ of scope.tables) eligible.set(occ, occ.nullability);
    for (const c of conjuncts(where)) {
      scope.filters.push({ conjunct: c, origin: "where", eligible: new Map(eligible) });
    }
  }
}

interface Level {
  occ: Occurrence;
  level: Nullability;
}

/** Walks a FROM list (or a parenthesised join group); returns its tables with nullability. */
function walkFrom(items: unknown[], scope: Scope, ctes: Set<string>, out: Analysis): Level[] {
  const prefix: Level[] = [];
  for (const [index, raw] of items.entries()) {
    const item = asNode(raw);
    if (!item) continue;
    const added = walkFromItem(item, scope, ctes, out);
    const addedInner = added.map((a) => ({ occ: a.occ, level: a.level }));
    const join = index === 0 ? "" : String(item.join ?? "").toUpperCase().replace(" OUTER", "");
    let kind: "inner" | "left" | "right" | "full";
    if (join === "" || join === "JOIN" || join === "INNER JOIN" || join === "CROSS JOIN") {
      kind = "inner";
    } else if (join === "LEFT JOIN") kind = "left";
    else if (join === "RIGHT JOIN") kind = "right";
    else kind = "full"; // a join type we do not know: assume the worst
    if (kind === "left") { for (const a of added) a.level = worse(a.level, "outer"); }
    if (kind === "right") { for (const p of prefix) p.level = worse(p.level, "outer"); }
    if (kind === "full") {
      for (const p of [...prefix, ...added]) p.level = "full";
    }
    for (const using of asArray(item.using)) {
      const column = identText(using);
      if (column !== null) out.columns.push({ qualifier: [], column, scope });
    }
    if (item.on !== undefined && item.on !== null) {
      walkExpr(item.on, scope, ctes, out);
      // An INNER join's ON filters the join of everything so far, like a WHERE would there.
      // A LEFT join's ON filters only which rows of its right side match, so a conjunct on the
      // right side alone may be pushed to it; on the preserved left side it removes no row.
      // RIGHT/FULL ON conjuncts are never offered.
      let eligible: Level[] = [];
      if (kind === "inner") eligible = [...prefix, ...added];
      else if (kind === "left") eligible = addedInner;
      if (eligible.length > 0) {
        const map = new Map(eligible.map((e) => [e.occ, e.level] as const));
        for (const c of conjuncts(item.on)) {
          scope.filters.push({ conjunct: c, origin: "on", eligible: new Map(map) });
        }
      }
    }
    prefix.push(...added);
  }
  return prefix;
}

// node-sql-parser does not know DuckDB's ASOF/POSITIONAL/SEMI/ANTI/NATURAL joins: it reads the
// keyword as the left table's alias and the rest as an INNER JOIN, whose pushdown would be wrong.
const JOIN_KEYWORDS = new Set(["asof", "positional", "semi", "anti", "natural"]);

function walkFromItem(item: Node, scope: Scope, ctes: Set<string>, out: Analysis): Level[] {
  const alias = typeof item.as === "string" ? item.as : null;
  if (alias !== null && JOIN_KEYWORDS.has(alias.toLowerCase())) {
    throw new OmniError("PLAN_FAILED", `${alias.toUpperCase()} joins are not supported`);
  }
  const expr = asNode(item.expr);
  if (typeof item.table === "string" && !expr) {
    if (item.schema !== undefined && item.schema !== null && item.schema !== "") {
      throw new OmniError("PLAN_FAILED", "three-part table names are not supported", {
        details: { table: [item.db, item.schema, item.table].join(".") },
      });
    }
    const schema = item.db === null || item.db === undefined || item.db === ""
      ? null
      : String(item.db).toLowerCase();
    const table = item.table.toLowerCase();
    // `FROM 'data.csv'` would make DuckDB read a file (a replacement scan): never a catalog table.
    if (/[./\\:*?]/.test(table)) {
      throw new OmniError("PLAN_FAILED", `not a table name: ${item.table}`);
    }
    const aliasName = alias === null ? null : alias.replace(/\(.*$/s, "").trim().toLowerCase();
    if (schema === null && ctes.has(table)) {
      scope.otherNames.push(aliasName ?? table);
      return [];
    }
    const ref: TableRef = { schema, table, alias: aliasName };
    const occ: Occurrence = {
      ref,
      scope,
      name: aliasName ?? table,
      renamed: alias !== null && alias.includes("("),
      nullability: "none",
    };
    out.tables.push(ref);
    out.occurrences.push(occ);
    scope.tables.push(occ);
    return [{ occ, level: "none" }];
  }
  if (expr?.type === "function") {
    const name = asArray(asNode(expr.name)?.name).map(identText).filter((x) => x !== null);
    throw new OmniError(
      "PLAN_FAILED",
      `table functions are not allowed: ${name.join(".") || "unknown"}`,
    );
  }
  if (expr && asNode(expr.ast)) {
    walkStatement(asNode(expr.ast)!, scope, ctes, out);
    if (alias !== null) scope.otherNames.push(alias.replace(/\(.*$/s, "").trim().toLowerCase());
    return [];
  }
  if (expr?.type === "values") {
    walkExpr(expr.values, scope, ctes, out);
    if (alias !== null) scope.otherNames.push(alias.replace(/\(.*$/s, "").trim().toLowerCase());
    return [];
  }
  if (expr?.type === "tables") {
    return walkFrom(asArray(expr.expr), scope, ctes, out);
  }
  if (item.type === "dual") return [];
  throw new OmniError("PLAN_FAILED", "unsupported item in FROM clause");
}

/** Visits an expression: records column references, descends into subqueries. */
function walkExpr(value: unknown, scope: Scope, ctes: Set<string>, out: Analysis): void {
  if (Array.isArray(value)) {
    for (const v of value) walkExpr(v, scope, ctes, out);
    return;
  }
  const node = asNode(value);
  if (!node) return;
  if (node.type === "column_ref") {
    const parts = columnRefParts(node);
    if (parts) out.columns.push({ ...parts, scope });
    return;
  }
  if (node.type === "select") {
    walkStatement(node, scope, ctes, out);
    return;
  }
  if (asNode(node.ast) && node.tableList !== undefined) {
    walkStatement(asNode(node.ast)!, scope, ctes, out);
    return;
  }
  if (node.type === "aggr_func" || node.type === "window_func") out.hasAggregateOrWindow = true;
  if (asNode(node.over)) out.hasAggregateOrWindow = true;
  for (const v of Object.values(node)) walkExpr(v, scope, ctes, out);
}
