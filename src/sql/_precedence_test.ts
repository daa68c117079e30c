import assert from "node:assert/strict";
import { parseQuery } from "./parse.ts";
import { conjuncts } from "./_analyze.ts";

/** The WHERE clause of a query as a fully parenthesised string. */
function shape(where: string): string {
  const show = (n: Record<string, unknown>): string =>
    n.type === "binary_expr" && /^(AND|OR)$/i.test(String(n.operator))
      ? `(${show(n.left as never)} ${n.operator} ${show(n.right as never)})`
      : String((n.left as { column?: { expr?: { value?: string } } })?.column?.expr?.value);
  return show(parseQuery(`SELECT 1 FROM s.t WHERE ${where}`).ast.where as never);
}

Deno.test("parseQuery() binds AND tighter than OR, as DuckDB does", () => {
  const shapes: Record<string, string> = {
    "a = 1 OR c = 3 AND d = 4": "(a OR (c AND d))",
    "a = 1 AND b = 2 OR c = 3 AND d = 4": "((a AND b) OR (c AND d))",
    "a = 1 OR c LIKE 'x' AND d = 4 OR e = 5": "((a OR (c AND d)) OR e)",
    "(a = 1 OR c = 3) AND d = 4": "((a OR c) AND d)",
    "a = 1 AND (b = 2 OR c = 3 AND d = 4)": "(a AND (b OR (c AND d)))",
  };
  for (const [where, expected] of Object.entries(shapes)) {
    assert.equal(shape(where), expected, where);
  }
});

Deno.test("conjuncts() of a mixed chain never split an OR", () => {
  const where = parseQuery("SELECT 1 FROM s.t WHERE a = 1 OR c = 3 AND d = 4").ast.where;
  assert.equal(conjuncts(where).length, 1);
});
