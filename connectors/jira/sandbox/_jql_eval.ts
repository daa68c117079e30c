/**
 * The Jira sandbox's JQL: a tokenizer, a parser and an evaluator for the subset of JQL a Jira
 * Cloud site answers for `issues` searches. Errors are {@link JqlError}s carrying the messages
 * Jira itself sends, so a client that copes with the sandbox copes with Jira.
 *
 * Private to the sandbox (and its tests).
 *
 * @module
 */
import { skipSpace } from "../../sdk/lexing.ts";

/** A JQL error: the sandbox answers it as HTTP 400 with this message. */
export class JqlError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "JqlError";
  }
}

/** An issue as the evaluator sees it. */
export interface JqlIssue {
  id: string;
  key: string;
  project: string;
  summary: string;
  status: string;
  assigneeAccountId: string | null;
  /** Epoch milliseconds. */
  created: number;
  updated: number;
  /** Custom field id (`customfield_10016`) → value. */
  custom: Record<string, string | number | null>;
}

/** The site's dictionaries the evaluator checks values against. */
export interface JqlSchema {
  projects: { key: string; id: string; name: string }[];
  statuses: { id: string; name: string; categoryKey: string }[];
  categories: { id: string; key: string; name: string }[];
  users: { accountId: string; email: string; displayName: string }[];
  customFields: { id: string; name: string; type: "number" | "string" }[];
  /** Issue keys that exist (with their ids), for `key` clauses. */
  issueIds: Map<string, string>;
  /** The authenticated user's accountId, for `currentUser()`. */
  currentUser: string;
}

// ---------------------------------------------------------------------------------------------
// Tokens

type TokenType = "str" | "word" | "op" | "lp" | "rp" | "comma" | "eof";
interface Token {
  type: TokenType;
  value: string;
  pos: number;
}

const OPS = ["!=", "!~", ">=", "<=", "&&", "||", "=", "~", ">", "<", "!", "&", "|"];
const WORD_STOP = /[\s()",'=!<>~&|]/;

function tokenize(text: string): Token[] {
  const tokens: Token[] = [];
  for (let i = skipSpace(text, 0); i < text.length; i = skipSpace(text, i)) {
    const ch = text[i];
    if (ch === "(") tokens.push({ type: "lp", value: ch, pos: i++ });
    else if (ch === ")") tokens.push({ type: "rp", value: ch, pos: i++ });
    else if (ch === ",") tokens.push({ type: "comma", value: ch, pos: i++ });
    else if (ch === '"' || ch === "'") {
      const start = i++;
      let value = "";
      for (;;) {
        if (i >= text.length) {
          throw syntax(
            `Error in the JQL Query: The quoted string '${
              text.slice(start)
            }' has not been completed.`,
            text,
            start,
          );
        }
        const c = text[i];
        if (c === ch) {
          i++;
          break;
        }
        if (c === "\\") {
          const e = text[i + 1];
          const simple: Record<string, string> = {
            t: "\t",
            n: "\n",
            r: "\r",
            '"': '"',
            "'": "'",
            "\\": "\\",
            " ": " ",
          };
          if (e !== undefined && e in simple) {
            value += simple[e];
            i += 2;
          } else if (e === "u" && /^[0-9a-fA-F]{4}$/.test(text.slice(i + 2, i + 6))) {
            value += String.fromCharCode(parseInt(text.slice(i + 2, i + 6), 16));
            i += 6;
          } else {
            throw syntax(
              `Error in the JQL Query: '\\${e ?? ""}' is an illegal JQL escape sequence.`,
              text,
              i,
            );
          }
          continue;
        }
        if (c === "\n" || c === "\r") {
          throw syntax(
            "Error in the JQL Query: The quoted string contains a newline; use '\\n'.",
            text,
            i,
          );
        }
        value += c;
        i++;
      }
      tokens.push({ type: "str", value, pos: start });
    } else {
      const op = OPS.find((o) => text.startsWith(o, i));
      if (op) {
        tokens.push({ type: "op", value: op, pos: i });
        i += op.length;
        continue;
      }
      const start = i;
      while (i < text.length && !WORD_STOP.test(text[i])) i++;
      tokens.push({ type: "word", value: text.slice(start, i), pos: start });
    }
  }
  tokens.push({ type: "eof", value: "", pos: text.length });
  return tokens;
}

function syntax(message: string, text: string, pos: number): JqlError {
  const before = text.slice(0, pos);
  const line = before.split("\n").length;
  const character = pos - before.lastIndexOf("\n");
  return new JqlError(`${message} (line ${line}, character ${character})`);
}

// ---------------------------------------------------------------------------------------------
// AST

/** A value in a clause. */
export type JqlValue =
  | { kind: "literal"; text: string; quoted: boolean }
  | { kind: "empty" }
  | { kind: "function"; name: string };

/** A JQL operator. */
export type JqlOperator =
  | "="
  | "!="
  | ">"
  | ">="
  | "<"
  | "<="
  | "~"
  | "!~"
  | "in"
  | "not in"
  | "is"
  | "is not";

/** A parsed WHERE expression. */
export type JqlExpr =
  | { kind: "and" | "or"; left: JqlExpr; right: JqlExpr }
  | { kind: "not"; expr: JqlExpr }
  | { kind: "clause"; field: string; op: JqlOperator; values: JqlValue[] };

/** A parsed query. */
export interface JqlQuery {
  where?: JqlExpr;
  orderBy: { field: string; direction: "asc" | "desc" }[];
}

const RESERVED = new Set([
  "and",
  "or",
  "not",
  "in",
  "is",
  "empty",
  "null",
  "order",
  "by",
  "asc",
  "desc",
]);
const OPERATOR_LIST =
  "The valid operators are '=', '!=', '<', '>', '<=', '>=', '~', '!~', 'IN', 'NOT IN', 'IS' and 'IS NOT'.";

/**
 * Parses a JQL query, or throws a {@link JqlError} with a Jira-style message.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { parseJql } from "./_jql_eval.ts";
 * const q = parseJql('project in ("MOB") AND status != Done ORDER BY created DESC');
 * assert.ok(q.orderBy[0].direction === "desc");
 * ```
 */
export function parseJql(text: string): JqlQuery {
  const tokens = tokenize(text);
  let at = 0;
  const peek = () => tokens[at];
  const next = () => tokens[at++];
  const isWord = (t: Token, w: string) => t.type === "word" && t.value.toLowerCase() === w;
  const fail = (t: Token, expected: string): never => {
    const got = t.type === "eof" ? "end of query" : `'${t.value}'`;
    throw syntax(`Error in the JQL Query: Expecting ${expected} but got ${got}.`, text, t.pos);
  };

  /** A left-associative run of `operand`s joined by the keyword `kind` or one of its symbols. */
  function joined(kind: "or" | "and", symbols: string[], operand: () => JqlExpr): JqlExpr {
    let left = operand();
    while (isWord(peek(), kind) || (peek().type === "op" && symbols.includes(peek().value))) {
      next();
      left = { kind, left, right: operand() };
    }
    return left;
  }
  function orExpr(): JqlExpr {
    return joined("or", ["||", "|"], andExpr);
  }
  function andExpr(): JqlExpr {
    return joined("and", ["&&", "&"], notExpr);
  }
  function notExpr(): JqlExpr {
    const t = peek();
    if (isWord(t, "not") || (t.type === "op" && t.value === "!")) {
      next();
      return { kind: "not", expr: notExpr() };
    }
    if (t.type === "lp") {
      next();
      const inner = orExpr();
      if (peek().type !== "rp") fail(peek(), "')'");
      next();
      return inner;
    }
    return clause();
  }
  function clause(): JqlExpr {
    const f = next();
    if (
      !(f.type === "str" || (f.type === "word" && !RESERVED.has(f.value.toLowerCase())))
    ) fail(f, "a field name");
    const field = f.value;
    const o = next();
    let op: JqlOperator;
    if (o.type === "op" && ["=", "!=", ">", ">=", "<", "<=", "~", "!~"].includes(o.value)) {
      op = o.value as JqlOperator;
    } else if (isWord(o, "in")) op = "in";
    else if (isWord(o, "not") && isWord(peek(), "in")) {
      next();
      op = "not in";
    } else if (isWord(o, "is")) {
      if (isWord(peek(), "not")) {
        next();
        op = "is not";
      } else op = "is";
    } else {
      const got = o.type === "eof" ? "end of query" : `'${o.value}'`;
      throw syntax(
        `Error in the JQL Query: Expecting operator but got ${got}. ${OPERATOR_LIST}`,
        text,
        o.pos,
      );
    }
    if (op === "is" || op === "is not") {
      const v = next();
      if (!isWord(v, "empty") && !isWord(v, "null")) fail(v, "'EMPTY' or 'NULL'");
      return { kind: "clause", field, op, values: [{ kind: "empty" }] };
    }
    if (op === "in" || op === "not in") {
      if (peek().type !== "lp") fail(peek(), "'('");
      next();
      const values: JqlValue[] = [value()];
      while (peek().type === "comma") {
        next();
        values.push(value());
      }
      if (peek().type !== "rp") fail(peek(), "')' or ','");
      next();
      return { kind: "clause", field, op, values };
    }
    return { kind: "clause", field, op, values: [value()] };
  }
  function value(): JqlValue {
    const t = next();
    if (t.type === "str") return { kind: "literal", text: t.value, quoted: true };
    if (t.type === "word") {
      const lower = t.value.toLowerCase();
      if (lower === "empty" || lower === "null") return { kind: "empty" };
      if (peek().type === "lp" && /^[a-z]\w*$/i.test(t.value)) {
        next();
        if (peek().type !== "rp") fail(peek(), "')'");
        next();
        return { kind: "function", name: t.value };
      }
      if (RESERVED.has(lower)) {
        throw syntax(
          `Error in the JQL Query: The word '${t.value}' is a reserved JQL word. You must surround it in quotation marks to use it in a query.`,
          text,
          t.pos,
        );
      }
      return { kind: "literal", text: t.value, quoted: false };
    }
    return fail(t, "either a value, 'EMPTY' or a function");
  }

  const query: JqlQuery = { orderBy: [] };
  if (peek().type !== "eof" && !isWord(peek(), "order")) query.where = orExpr();
  if (isWord(peek(), "order")) {
    next();
    if (!isWord(peek(), "by")) fail(peek(), "'by'");
    next();
    for (;;) {
      const f = next();
      if (!(f.type === "str" || f.type === "word")) fail(f, "a field name");
      let direction: "asc" | "desc" = "asc";
      if (isWord(peek(), "asc") || isWord(peek(), "desc")) {
        direction = next().value.toLowerCase() as "asc" | "desc";
      }
      query.orderBy.push({ field: f.value, direction });
      if (peek().type !== "comma") break;
      next();
    }
    if (query.orderBy.length > 7) {
      throw new JqlError("The ORDER BY clause may contain at most 7 fields.");
    }
  }
  if (peek().type !== "eof") fail(peek(), "operator 'AND', 'OR' or 'ORDER BY'");
  return query;
}

// ---------------------------------------------------------------------------------------------
// Evaluation

type FieldKind =
  | "project"
  | "key"
  | "status"
  | "statusCategory"
  | "assignee"
  | "created"
  | "updated"
  | "summary"
  | "text"
  | "customNumber"
  | "customString";

interface ResolvedField {
  kind: FieldKind;
  /** Name for messages. */
  label: string;
  /** Custom field id. */
  id?: string;
}

const SUPPORTED: Record<FieldKind, JqlOperator[]> = {
  project: ["=", "!=", "in", "not in", "is", "is not"],
  key: ["=", "!=", "in", "not in", ">", ">=", "<", "<="],
  status: ["=", "!=", "in", "not in", "is", "is not"],
  statusCategory: ["=", "!=", "in", "not in"],
  assignee: ["=", "!=", "in", "not in", "is", "is not"],
  created: ["=", "!=", ">", ">=", "<", "<=", "is", "is not"],
  updated: ["=", "!=", ">", ">=", "<", "<=", "is", "is not"],
  summary: ["~", "!~", "is", "is not"],
  text: ["~"],
  customNumber: ["=", "!=", ">", ">=", "<", "<=", "in", "not in", "is", "is not"],
  customString: ["~", "!~", "is", "is not"],
};

function resolveField(name: string, schema: JqlSchema): ResolvedField {
  const lower = name.toLowerCase();
  const system: Record<string, FieldKind> = {
    project: "project",
    key: "key",
    issuekey: "key",
    id: "key",
    status: "status",
    statuscategory: "statusCategory",
    assignee: "assignee",
    created: "created",
    createddate: "created",
    updated: "updated",
    updateddate: "updated",
    summary: "summary",
    text: "text",
  };
  if (system[lower]) return { kind: system[lower], label: system[lower] };
  const m = lower.match(/^(?:cf\[(\d+)\]|customfield_(\d+))$/);
  const custom = m
    ? schema.customFields.find((f) => f.id === `customfield_${m[1] ?? m[2]}`)
    : schema.customFields.find((f) => f.name.toLowerCase() === lower);
  if (custom) {
    return {
      kind: custom.type === "number" ? "customNumber" : "customString",
      label: custom.name,
      id: custom.id,
    };
  }
  throw new JqlError(`Field '${name}' does not exist or you do not have permission to view it.`);
}

/** A compiled query: a row filter and a comparator. */
export interface CompiledJql {
  matches(issue: JqlIssue): boolean;
  compare(a: JqlIssue, b: JqlIssue): number;
  /** Whether the query restricts the search at all (Jira refuses unbounded queries). */
  bounded: boolean;
}

type Pred = (issue: JqlIssue) => boolean;

/**
 * Compiles a parsed query against a site's dictionaries: checks fields, operators and values
 * the way Jira does, throwing {@link JqlError} with Jira's messages.
 *
 * @example
 * ```ts ignore
 * const q = compileJql(parseJql("project = MOB"), schema);
 * const hits = issues.filter(q.matches).sort(q.compare);
 * ```
 */
export function compileJql(query: JqlQuery, schema: JqlSchema, now = Date.now()): CompiledJql {
  const where = query.where ? compileExpr(query.where, schema, now) : () => true;
  const sorters = query.orderBy.map(({ field, direction }) => {
    const f = resolveField(field, schema);
    const get = sortValue(f);
    const sign = direction === "desc" ? -1 : 1;
    return (a: JqlIssue, b: JqlIssue) => {
      const x = get(a), y = get(b);
      if (x === y) return 0;
      if (x === null) return 1;
      if (y === null) return -1;
      return (x < y ? -1 : 1) * sign;
    };
  });
  return {
    matches: where,
    bounded: query.where !== undefined,
    compare(a, b) {
      for (const s of sorters) {
        const c = s(a, b);
        if (c !== 0) return c;
      }
      return Number(a.id) - Number(b.id);
    },
  };
}

function sortValue(f: ResolvedField): (i: JqlIssue) => string | number | null {
  switch (f.kind) {
    case "key":
      return (i) => `${i.project}-${String(keyNumber(i.key)).padStart(12, "0")}`;
    case "summary":
    case "text":
      return (i) => i.summary.toLowerCase();
    case "statusCategory":
      return (i) => i.status;
    default:
      return storedValue(f);
  }
}

/** A field as the issue stores it: project, status, assignee, dates and custom fields. */
function storedValue(f: ResolvedField): (i: JqlIssue) => string | number | null {
  switch (f.kind) {
    case "project":
      return (i) => i.project;
    case "status":
      return (i) => i.status;
    case "assignee":
      return (i) => i.assigneeAccountId;
    case "created":
      return (i) => i.created;
    case "updated":
      return (i) => i.updated;
    default:
      return (i) => i.custom[f.id!] ?? null;
  }
}

function keyNumber(key: string): number {
  return Number(key.slice(key.lastIndexOf("-") + 1));
}

function compileExpr(expr: JqlExpr, schema: JqlSchema, now: number): Pred {
  switch (expr.kind) {
    case "and": {
      const l = compileExpr(expr.left, schema, now), r = compileExpr(expr.right, schema, now);
      return (i) => l(i) && r(i);
    }
    case "or": {
      const l = compileExpr(expr.left, schema, now), r = compileExpr(expr.right, schema, now);
      return (i) => l(i) || r(i);
    }
    case "not": {
      const inner = compileExpr(expr.expr, schema, now);
      return (i) => !inner(i);
    }
    case "clause":
      return compileClause(expr, schema, now);
  }
}

function compileClause(
  clause: Extract<JqlExpr, { kind: "clause" }>,
  schema: JqlSchema,
  now: number,
): Pred {
  const field = resolveField(clause.field, schema);
  let op = clause.op;
  // `= EMPTY` and `!= EMPTY` mean IS and IS NOT.
  if ((op === "=" || op === "!=") && clause.values[0]?.kind === "empty") {
    op = op === "=" ? "is" : "is not";
  }
  if (!SUPPORTED[field.kind].includes(op)) {
    throw new JqlError(
      `The operator '${op.toUpperCase()}' is not supported by the '${field.label}' field.`,
    );
  }
  const get = issueValue(field, schema);
  if (op === "is") return (i) => get(i) === null;
  if (op === "is not") return (i) => get(i) !== null;

  if (op === "~" || op === "!~") {
    const v = clause.values[0];
    if (v.kind !== "literal") {
      throw new JqlError(
        `The operator '${op}' does not support the value for field '${field.label}'.`,
      );
    }
    const search = compileTextSearch(v.text, field.label);
    return op === "~"
      ? (i) => {
        const x = get(i);
        return x !== null && search(String(x));
      }
      : (i) => {
        const x = get(i);
        return x !== null && !search(String(x));
      };
  }

  const values = clause.values.map((v) => normalizeValue(field, v, schema, now));
  const present = values.filter((v): v is string | number => v !== null);
  const eq = (x: string | number, y: string | number) =>
    typeof x === "string" && typeof y === "string" ? x.toLowerCase() === y.toLowerCase() : x === y;
  switch (op) {
    case "=":
    case "in":
      return (i) => {
        const x = get(i);
        return x !== null && present.some((v) => eq(x, v));
      };
    case "!=":
    case "not in":
      return (i) => {
        const x = get(i);
        return x !== null && !present.some((v) => eq(x, v));
      };
    default: {
      const v = values[0];
      if (v === null) return () => false;
      const key = field.kind === "key";
      return (i) => {
        const raw = get(i);
        if (raw === null) return false;
        let x: string | number = raw, y: string | number = v;
        if (key) {
          if (String(x).split("-")[0] !== String(y).split("-")[0]) return false;
          x = keyNumber(String(x));
          y = keyNumber(String(y));
        }
        switch (op) {
          case ">":
            return x > y;
          case ">=":
            return x >= y;
          case "<":
            return x < y;
          default:
            return x <= y;
        }
      };
    }
  }
}

/** The issue's value of a field, in the form values are normalized to. */
function issueValue(
  field: ResolvedField,
  schema: JqlSchema,
): (i: JqlIssue) => string | number | null {
  switch (field.kind) {
    case "key":
      return (i) => i.key;
    case "statusCategory":
      return (i) => `\u0000${categoryOfStatus(schema, i.status) ?? ""}`;
    case "summary":
      return (i) => i.summary;
    case "text":
      return (i) =>
        [i.summary, ...Object.values(i.custom).filter((v) => typeof v === "string")].join(" \n ");
    default:
      return storedValue(field);
  }
}

/** Resolves a clause value to the issue-side form, or throws Jira's error for unknown values. */
function normalizeValue(
  field: ResolvedField,
  value: JqlValue,
  schema: JqlSchema,
  now: number,
): string | number | null {
  if (value.kind === "empty") return null;
  if (value.kind === "function") {
    if (field.kind === "assignee" && value.name.toLowerCase() === "currentuser") {
      return schema.currentUser;
    }
    throw new JqlError(`Unable to find JQL function '${value.name}()'.`);
  }
  const text = value.text;
  const lower = text.toLowerCase();
  const unknown = () =>
    new JqlError(`The value '${text}' does not exist for the field '${field.label}'.`);
  switch (field.kind) {
    case "project": {
      const p = schema.projects.find((p) =>
        p.key.toLowerCase() === lower || p.id === text || p.name.toLowerCase() === lower
      );
      if (!p) throw unknown();
      return p.key;
    }
    case "key": {
      if (/^\d+$/.test(text)) {
        for (const [key, id] of schema.issueIds) if (id === text) return key;
        throw new JqlError(`An issue with key '${text}' does not exist for field 'key'.`);
      }
      const m = text.match(/^([A-Za-z][A-Za-z0-9_]*)-(\d+)$/);
      if (!m || !schema.projects.some((p) => p.key.toLowerCase() === m[1].toLowerCase())) {
        throw new JqlError(`The issue key '${text}' for field 'key' is invalid.`);
      }
      const key = `${m[1].toUpperCase()}-${Number(m[2])}`;
      if (!schema.issueIds.has(key)) {
        throw new JqlError(`An issue with key '${text}' does not exist for field 'key'.`);
      }
      return key;
    }
    case "status": {
      const s = schema.statuses.find((s) => s.name.toLowerCase() === lower || s.id === text);
      if (!s) throw unknown();
      return s.name;
    }
    case "statusCategory": {
      const c = schema.categories.find((c) =>
        c.id === text || c.key.toLowerCase() === lower || c.name.toLowerCase() === lower
      );
      if (!c) throw unknown();
      // Matched against the marker issueValue() derives from the issue's status.
      return `\u0000${c.key}`;
    }
    case "assignee": {
      const u = schema.users.find((u) => u.accountId === text || u.email.toLowerCase() === lower);
      if (!u) throw unknown();
      return u.accountId;
    }
    case "created":
    case "updated": {
      const ms = parseJqlDate(text, now);
      if (ms === undefined) {
        throw new JqlError(
          `Date value '${text}' for field '${field.label}' is invalid. Valid formats include: 'yyyy/MM/dd HH:mm', 'yyyy-MM-dd HH:mm', 'yyyy/MM/dd', 'yyyy-MM-dd', or a period format e.g. '-5d', '4w 2d'.`,
        );
      }
      return ms;
    }
    case "customNumber": {
      const n = Number(text);
      if (text.trim() === "" || !Number.isFinite(n)) {
        throw new JqlError(
          `The value '${text}' is not a valid number for the field '${field.label}'.`,
        );
      }
      return n;
    }
    default:
      return text;
  }
}

/**
 * Parses a JQL date in the user's time zone (the sandbox's users are all on UTC): absolute
 * `yyyy-MM-dd[ HH:mm]` / `yyyy/MM/dd[ HH:mm]`, or a period relative to now (`-5d`, `4w 2d`).
 */
export function parseJqlDate(text: string, now = Date.now()): number | undefined {
  const abs = text.trim().match(/^(\d{4})[-/](\d{1,2})[-/](\d{1,2})(?:\s+(\d{1,2}):(\d{2}))?$/);
  if (abs) {
    const [, y, mo, d, h, mi] = abs;
    const ms = Date.UTC(Number(y), Number(mo) - 1, Number(d), Number(h ?? 0), Number(mi ?? 0));
    const check = new Date(ms);
    if (check.getUTCMonth() !== Number(mo) - 1 || check.getUTCDate() !== Number(d)) {
      return undefined;
    }
    if (Number(h ?? 0) > 23) return undefined;
    return ms;
  }
  const rel = text.trim().match(/^([-+]?)((?:\d+[wdhm]\s*)+)$/i);
  if (rel) {
    const unit: Record<string, number> = { w: 604_800_000, d: 86_400_000, h: 3_600_000, m: 60_000 };
    let total = 0;
    for (const m of rel[2].matchAll(/(\d+)([wdhm])/gi)) {
      total += Number(m[1]) * unit[m[2].toLowerCase()];
    }
    return now + (rel[1] === "-" ? -total : total);
  }
  return undefined;
}

/** Lower-cased word tokens, the way Jira's text index splits a value. */
export function textTokens(text: string): string[] {
  return text.toLowerCase().split(/[^\p{L}\p{N}]+/u).filter(Boolean);
}

/**
 * Compiles the right side of `~`: terms and quoted phrases, all required; a phrase matches
 * consecutive tokens; a term ending in `*` matches a token prefix. Not substring search.
 */
function compileTextSearch(query: string, label: string): (text: string) => boolean {
  const parts: { tokens: string[]; prefix: boolean }[] = [];
  const re = /"([^"]*)"?|(\S+)/g;
  for (const m of query.matchAll(re)) {
    if (m[1] !== undefined) {
      const tokens = textTokens(m[1]);
      if (tokens.length) parts.push({ tokens, prefix: false });
    } else {
      const raw = m[2];
      const prefix = raw.endsWith("*");
      const tokens = textTokens(prefix ? raw.slice(0, -1) : raw);
      if (tokens.length) parts.push({ tokens, prefix: prefix && tokens.length === 1 });
    }
  }
  if (!parts.length) {
    throw new JqlError(`The field '${label}' does not support searching for an empty string.`);
  }
  return (text) => {
    const have = textTokens(text);
    return parts.every(({ tokens, prefix }) => {
      if (prefix) return have.some((t) => t.startsWith(tokens[0]));
      for (let i = 0; i + tokens.length <= have.length; i++) {
        if (tokens.every((t, j) => have[i + j] === t)) return true;
      }
      return false;
    });
  };
}

/** Status-category clauses compare the issue's status against the category's statuses. */
export function categoryOfStatus(schema: JqlSchema, status: string): string | undefined {
  return schema.statuses.find((s) => s.name === status)?.categoryKey;
}
