/**
 * One policy rule, parsed from its text. Four forms, each optionally ending in `FOR <subjects>`
 * (`ALL` when absent; `ALL EXCEPT role:a, role:b`; or `role:a, role:b`):
 *
 * - `SELECT * FROM <schema.table> WHERE <predicate>` — row-level security: only rows for which
 *   the predicate is true are readable. The predicate compares columns with literals and
 *   `user.<attribute>` (`=`, `!=`, `<`, `<=`, `>`, `>=`, `IN`, `LIKE`, `IS NULL`, `AND`, `OR`,
 *   `NOT`, parentheses).
 * - `MASK <column> WITH '<sha256|hash|redact|null>'` — column-level masking. `<column>` is a bare
 *   name (every table with that column), `schema.table.column`, or `CLASS <class>` (every column
 *   the connectors classify so, e.g. `CLASS pii.email`).
 * - `BLOCK <column>` — reading the column is refused (`ENTITLEMENT_DENIED`).
 * - `DENY TABLE <schema.table>` — reading the table is refused.
 *
 * @module
 */
import { Cursor, tokenize } from "./_lex.ts";
import { type Expr, parseExpr } from "./_expr.ts";

/** How a masked column's values are replaced. */
export type MaskKind = "sha256" | "redact" | "null";

/** Who a rule applies to. */
export interface Subjects {
  /** `true` for `ALL [EXCEPT …]`, `false` for a list of roles. */
  all: boolean;
  /** With `all`: the roles exempted; otherwise the roles it applies to. */
  roles: string[];
}

/** A column a rule names: in one table, or (table `null`) in every table that has it. */
export interface ColumnRef {
  table: string | null;
  column: string;
}

/** What a column rule targets: named columns, or every column of a data class. */
export type ColumnTarget = ColumnRef | { classification: string };

/** A parsed rule. */
export type Rule =
  & { id: string; text: string; subjects: Subjects }
  & (
    | { kind: "rls"; table: string; where: Expr }
    | { kind: "mask"; target: ColumnTarget; mask: MaskKind }
    | { kind: "block"; target: ColumnTarget }
    | { kind: "deny"; table: string }
  );

const MASKS: Record<string, MaskKind> = {
  sha256: "sha256",
  hash: "sha256",
  redact: "redact",
  null: "null",
};

/**
 * Parses one rule; throws an `Error` whose message says what is wrong and where.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { parseRule } from "./rule.ts";
 * const rule = parseRule("mask_email", "MASK email WITH 'sha256' FOR ALL EXCEPT role:admin");
 * assert.ok(rule.kind === "mask" && rule.subjects.roles[0] === "admin");
 * ```
 */
export function parseRule(id: string, text: string): Rule {
  const cur = new Cursor(tokenize(text));
  let body: Rule;
  if (cur.acceptKeyword("SELECT")) {
    cur.expect("*");
    cur.expectKeyword("FROM");
    const table = tableName(cur);
    cur.expectKeyword("WHERE");
    body = { id, text, subjects: ALL, kind: "rls", table, where: parseExpr(cur) };
  } else if (cur.acceptKeyword("MASK")) {
    const target = columnTarget(cur);
    cur.expectKeyword("WITH");
    const t = cur.next();
    const mask = MASKS[t.text.toLowerCase()];
    if ((t.kind !== "string" && t.kind !== "word") || !mask) {
      throw new Error(
        `unknown mask ${
          JSON.stringify(t.text)
        } at column ${t.at}; masks: sha256, hash, redact, null`,
      );
    }
    body = { id, text, subjects: ALL, kind: "mask", target, mask };
  } else if (cur.acceptKeyword("BLOCK")) {
    body = { id, text, subjects: ALL, kind: "block", target: columnTarget(cur) };
  } else if (cur.acceptKeyword("DENY")) {
    cur.expectKeyword("TABLE");
    body = { id, text, subjects: ALL, kind: "deny", table: tableName(cur) };
  } else {
    return cur.fail("a rule starts with SELECT * FROM, MASK, BLOCK or DENY TABLE");
  }
  if (cur.acceptKeyword("FOR")) body.subjects = subjects(cur);
  if (cur.peek().kind !== "end") cur.fail("unexpected text after the rule");
  return body;
}

const ALL: Subjects = { all: true, roles: [] };

function subjects(cur: Cursor): Subjects {
  if (cur.acceptKeyword("ALL")) {
    if (!cur.acceptKeyword("EXCEPT")) return ALL;
    return { all: true, roles: roleList(cur) };
  }
  return { all: false, roles: roleList(cur) };
}

function roleList(cur: Cursor): string[] {
  const roles: string[] = [];
  do {
    if (!cur.acceptKeyword("ROLE")) cur.fail("expected role:<name>");
    cur.expect(":");
    const t = cur.next();
    if (t.kind !== "word" && t.kind !== "string") cur.fail("expected a role name");
    roles.push(t.text);
  } while (cur.accept(","));
  return roles;
}

function tableName(cur: Cursor): string {
  const t = cur.next();
  if (t.kind !== "word" || t.text.split(".").length !== 2) {
    throw new Error(`expected a table as schema.table at column ${t.at}`);
  }
  return t.text.toLowerCase();
}

function columnTarget(cur: Cursor): ColumnTarget {
  if (cur.acceptKeyword("CLASS")) {
    const t = cur.next();
    if (t.kind !== "word" || !/^[a-z]+(\.[a-z_]+)+$/i.test(t.text)) {
      throw new Error(`expected a data class such as pii.email at column ${t.at}`);
    }
    return { classification: t.text.toLowerCase() };
  }
  return columnRef(cur);
}

function columnRef(cur: Cursor): ColumnRef {
  const t = cur.next();
  const parts = t.kind === "word" ? t.text.toLowerCase().split(".") : [];
  if (parts.length === 1) return { table: null, column: parts[0] };
  if (parts.length === 3) return { table: `${parts[0]}.${parts[1]}`, column: parts[2] };
  throw new Error(`expected a column (name or schema.table.column) at column ${t.at}`);
}
