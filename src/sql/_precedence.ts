/**
 * Repairs node-sql-parser's AND/OR precedence. Its PostgreSQL grammar (5.4) groups a chain of
 * AND and OR as they come, left to right: `a = 1 OR c = 3 AND d = 4` arrives as
 * `(a = 1 OR c = 3) AND d = 4`, whose top-level conjunct `d = 4` would be pushed down and drop
 * the rows `a = 1` keeps. DuckDB binds AND tighter than OR, so every unparenthesised chain is
 * rebuilt that way: its operands in text order (the parser keeps them in order, and marks every
 * parenthesised group with `parentheses: true`), ORs of ANDs.
 *
 * @module
 */
import { asNode, type Node } from "./_ast.ts";

const isLogical = (n: Node | null): boolean =>
  n !== null && n.type === "binary_expr" &&
  (String(n.operator).toUpperCase() === "AND" || String(n.operator).toUpperCase() === "OR");

/**
 * Rebuilds every AND/OR chain of an AST with DuckDB's precedence, in place; returns the AST.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { fixBooleanPrecedence } from "./_precedence.ts";
 * const leaf = (name: string) => ({ type: "column_ref", column: name });
 * // `a OR b AND c` as node-sql-parser hands it over: `(a OR b) AND c`.
 * const parsed = { type: "binary_expr", operator: "AND", right: leaf("c"),
 *   left: { type: "binary_expr", operator: "OR", left: leaf("a"), right: leaf("b") } };
 * const fixed = fixBooleanPrecedence(parsed) as { operator: string };
 * assert.equal(fixed.operator, "OR");
 * ```
 */
export function fixBooleanPrecedence<T>(ast: T): T {
  const visit = (x: unknown): unknown => {
    if (Array.isArray(x)) {
      for (let i = 0; i < x.length; i++) x[i] = visit(x[i]);
      return x;
    }
    const node = asNode(x);
    if (!node) return x;
    if (isLogical(node)) return rebuild(node);
    for (const k of Object.keys(node)) node[k] = visit(node[k]);
    return node;
  };
  return visit(ast) as T;
}

function rebuild(root: Node): Node {
  const operands: unknown[] = [];
  const operators: string[] = [];
  const flatten = (n: Node) => {
    for (const [side, child] of [["left", asNode(n.left)], ["right", asNode(n.right)]] as const) {
      if (side === "right") operators.push(String(n.operator).toUpperCase());
      if (child && isLogical(child) && child.parentheses !== true) flatten(child);
      else operands.push(fixBooleanPrecedence(n[side]));
    }
  };
  flatten(root);
  // ORs of ANDs, each left-deep as DuckDB's parser builds them.
  const groups: unknown[][] = [[operands[0]]];
  operators.forEach((op, i) => {
    if (op === "OR") groups.push([operands[i + 1]]);
    else groups[groups.length - 1].push(operands[i + 1]);
  });
  const chain = (items: unknown[], operator: string): unknown =>
    items.reduce((left, right) => ({ type: "binary_expr", operator, left, right }));
  const out = asNode(chain(groups.map((g) => chain(g, "AND")), "OR"))!;
  if (root.parentheses === true) out.parentheses = true;
  return out;
}
