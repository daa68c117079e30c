/**
 * The sandbox's SOQL: a tokenizer, a parser for the subset the connector and users send
 * (`SELECT fields FROM Object [WHERE …] [ORDER BY …] [LIMIT n] [OFFSET n]`, with `= != <> < <= >
 * >= IN NOT IN LIKE`, `AND OR NOT`, parentheses, `null`, booleans, numbers, date and dateTime
 * literals, backslash-escaped strings) and an evaluator with Salesforce's semantics:
 * case-insensitive text comparison, `!=` keeping NULLs, `ASC NULLS FIRST` by default.
 *
 * @module
 */
import { skipSpace } from "../../sdk/lexing.ts";

/** A SOQL failure, with Salesforce's error code. */
export class SoqlError extends Error {
  constructor(
    readonly errorCode: "MALFORMED_QUERY" | "INVALID_FIELD" | "INVALID_TYPE",
    message: string,
  ) {
    super(message);
  }
}

/** Field types of the sandbox's objects. */
export type FieldType = "id" | "string" | "number" | "boolean" | "datetime" | "date";

/** An object's fields and relationships. */
export interface ObjectSchema {
  fields: Record<string, FieldType>;
  /** Relationship name → object, e.g. `Owner` → `User`. */
  relations: Record<string, string>;
}

type Tok =
  | { t: "id"; v: string; pos: number }
  | { t: "str"; v: string; raw: string; pos: number }
  | { t: "num"; v: number; pos: number }
  | { t: "date"; v: string; pos: number }
  | { t: "op"; v: string; pos: number };

function tokenize(q: string): Tok[] {
  const out: Tok[] = [];
  for (let i = skipSpace(q, 0); i < q.length; i = skipSpace(q, i)) {
    const ch = q[i];
    const pos = i;
    if (ch === "'") {
      let raw = "";
      i++;
      for (;;) {
        if (i >= q.length) throw new SoqlError("MALFORMED_QUERY", `unterminated string at ${pos}`);
        const c = q[i];
        if (c === "\\") {
          const n = q[i + 1];
          if (n === undefined || !"'\"\\nrtbf_%".includes(n)) {
            throw new SoqlError("MALFORMED_QUERY", `Invalid string literal: bad escape at ${i}`);
          }
          raw += c + n;
          i += 2;
          continue;
        }
        if (c === "'") {
          i++;
          break;
        }
        raw += c;
        i++;
      }
      out.push({ t: "str", v: unescape(raw), raw, pos });
      continue;
    }
    const date = q.slice(i).match(
      /^\d{4}-\d{2}-\d{2}(?:T\d{2}:\d{2}:\d{2}(?:\.\d{1,3})?(?:Z|[+-]\d{2}:\d{2}))?/,
    );
    if (date) {
      out.push({ t: "date", v: date[0], pos });
      i += date[0].length;
      continue;
    }
    const num = q.slice(i).match(/^-?\d+(?:\.\d+)?/);
    if (num) {
      out.push({ t: "num", v: Number(num[0]), pos });
      i += num[0].length;
      continue;
    }
    const ident = q.slice(i).match(/^[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*/);
    if (ident) {
      out.push({ t: "id", v: ident[0], pos });
      i += ident[0].length;
      continue;
    }
    const op = q.slice(i).match(/^(!=|<>|<=|>=|=|<|>|\(|\)|,)/);
    if (op) {
      out.push({ t: "op", v: op[0], pos });
      i += op[0].length;
      continue;
    }
    throw new SoqlError("MALFORMED_QUERY", `unexpected character '${ch}' at ${pos}`);
  }
  return out;
}

function unescape(raw: string): string {
  return raw.replace(
    /\\(.)/g,
    (_, c: string) =>
      ({ n: "\n", r: "\r", t: "\t", b: "\b", f: "\f" } as Record<string, string>)[c] ?? c,
  );
}

/** A literal in a condition. */
export type Lit =
  | { kind: "null" }
  | { kind: "bool"; v: boolean }
  | { kind: "num"; v: number }
  | { kind: "str"; v: string; raw: string }
  | { kind: "date"; v: string };

/** A WHERE condition. */
export type Cond =
  | { k: "and" | "or"; items: Cond[] }
  | { k: "not"; item: Cond }
  | { k: "cmp"; field: string; op: string; value: Lit }
  | { k: "in"; field: string; not: boolean; values: Lit[] }
  | { k: "like"; field: string; raw: string };

/** A parsed query. */
export interface SoqlQuery {
  fields: string[];
  object: string;
  where?: Cond;
  orderBy: { field: string; desc: boolean; nullsLast: boolean }[];
  limit?: number;
  offset?: number;
}

/**
 * Parses a SOQL query and checks its fields against the schema.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { parseSoql } from "./_soql_eval.ts";
 * const q = parseSoql("SELECT Id FROM Account WHERE Name = 'a\\'b' LIMIT 2", {
 *   Account: { fields: { Id: "id", Name: "string" }, relations: {} },
 * });
 * assert.ok(q.limit === 2 && q.where?.k === "cmp");
 * ```
 */
export function parseSoql(text: string, schema: Record<string, ObjectSchema>): SoqlQuery {
  const toks = tokenize(text);
  let i = 0;
  const peek = () => toks[i];
  const kw = (word: string) => {
    const t = toks[i];
    return t?.t === "id" && t.v.toUpperCase() === word;
  };
  const expectKw = (word: string) => {
    if (!kw(word)) throw malformed(`expecting '${word}'`);
    i++;
  };
  const malformed = (what: string) => {
    const t = toks[i];
    return new SoqlError(
      "MALFORMED_QUERY",
      `${what}, unexpected token: '${t ? (t.t === "str" ? t.raw : String(t.v)) : "<EOF>"}'`,
    );
  };
  const fieldName = (): string => {
    const t = peek();
    if (t?.t !== "id") throw malformed("expecting a field name");
    i++;
    return t.v;
  };

  expectKw("SELECT");
  const fields: string[] = [fieldName()];
  while (peek()?.t === "op" && peek()!.v === ",") {
    i++;
    fields.push(fieldName());
  }
  expectKw("FROM");
  const objTok = peek();
  if (objTok?.t !== "id") throw malformed("expecting an object");
  i++;
  const objectName = Object.keys(schema).find((o) => o.toLowerCase() === objTok.v.toLowerCase());
  if (!objectName) {
    throw new SoqlError(
      "INVALID_TYPE",
      `sObject type '${objTok.v}' is not supported. If you are attempting to use a custom object, be sure to append the '__c' after the entity name.`,
    );
  }
  const resolve = (path: string) => resolveField(schema, objectName, path);
  fields.forEach(resolve);

  const literal = (): Lit => {
    const t = peek();
    if (!t) throw malformed("expecting a value");
    i++;
    if (t.t === "str") return { kind: "str", v: t.v, raw: t.raw };
    if (t.t === "num") return { kind: "num", v: t.v };
    if (t.t === "date") return { kind: "date", v: t.v };
    if (t.t === "id") {
      const w = t.v.toLowerCase();
      if (w === "null") return { kind: "null" };
      if (w === "true" || w === "false") return { kind: "bool", v: w === "true" };
    }
    i--;
    throw malformed("expecting a value");
  };

  const primary = (): Cond => {
    const t = peek();
    if (t?.t === "op" && t.v === "(") {
      i++;
      const c = orExpr();
      if (!(peek()?.t === "op" && peek()!.v === ")")) throw malformed("expecting ')'");
      i++;
      return c;
    }
    if (kw("NOT")) {
      i++;
      return { k: "not", item: primary() };
    }
    const field = fieldName();
    const type = resolve(field);
    if (kw("LIKE")) {
      i++;
      const v = literal();
      if (v.kind !== "str") throw malformed("LIKE needs a string");
      if (type !== "string") {
        throw new SoqlError("MALFORMED_QUERY", `invalid operator on ${field}: LIKE`);
      }
      return { k: "like", field, raw: v.raw };
    }
    let not = false;
    if (kw("NOT")) {
      i++;
      not = true;
      if (!kw("IN")) throw malformed("expecting 'IN'");
    }
    if (kw("IN")) {
      i++;
      if (!(peek()?.t === "op" && peek()!.v === "(")) throw malformed("expecting '('");
      i++;
      const values = [literal()];
      while (peek()?.t === "op" && peek()!.v === ",") {
        i++;
        values.push(literal());
      }
      if (!(peek()?.t === "op" && peek()!.v === ")")) throw malformed("expecting ')'");
      i++;
      values.forEach((v) => checkType(field, type, v));
      return { k: "in", field, not, values };
    }
    const op = peek();
    if (op?.t !== "op" || !["=", "!=", "<>", "<", "<=", ">", ">="].includes(op.v)) {
      throw malformed("expecting a comparison operator");
    }
    i++;
    const value = literal();
    checkType(field, type, value);
    if (value.kind === "null" && op.v !== "=" && op.v !== "!=" && op.v !== "<>") {
      throw malformed("null only with = or !=");
    }
    return { k: "cmp", field, op: op.v === "<>" ? "!=" : op.v, value };
  };
  /** `operand`s joined by the keyword `k` (AND or OR), flattened into one node. */
  const joined = (k: "and" | "or", operand: () => Cond): Cond => {
    const items = [operand()];
    while (kw(k.toUpperCase())) {
      i++;
      items.push(operand());
    }
    return items.length === 1 ? items[0] : { k, items };
  };
  const andExpr = (): Cond => joined("and", primary);
  const orExpr = (): Cond => joined("or", andExpr);

  const query: SoqlQuery = { fields, object: objectName, orderBy: [] };
  if (kw("WHERE")) {
    i++;
    query.where = orExpr();
  }
  if (kw("ORDER")) {
    i++;
    expectKw("BY");
    for (;;) {
      const field = fieldName();
      resolve(field);
      let desc = false;
      if (kw("ASC")) i++;
      else if (kw("DESC")) {
        i++;
        desc = true;
      }
      let nullsLast = false;
      if (kw("NULLS")) {
        i++;
        if (kw("LAST")) nullsLast = true;
        else if (!kw("FIRST")) throw malformed("expecting FIRST or LAST");
        i++;
      }
      query.orderBy.push({ field, desc, nullsLast });
      if (peek()?.t === "op" && peek()!.v === ",") {
        i++;
        continue;
      }
      break;
    }
  }
  /** The whole number after a keyword (LIMIT, OFFSET). */
  const count = (): number => {
    i++;
    const t = peek();
    if (t?.t !== "num" || !Number.isInteger(t.v) || t.v < 0) throw malformed("expecting a number");
    i++;
    return t.v;
  };
  if (kw("LIMIT")) query.limit = count();
  if (kw("OFFSET")) query.offset = count();
  if (i < toks.length) throw malformed("unexpected input");
  return query;
}

function resolveField(
  schema: Record<string, ObjectSchema>,
  object: string,
  path: string,
): FieldType {
  const parts = path.split(".");
  let obj = object;
  for (let n = 0; n < parts.length - 1; n++) {
    const rel = Object.keys(schema[obj].relations).find((r) =>
      r.toLowerCase() === parts[n].toLowerCase()
    );
    if (!rel) throw noSuchColumn(path, object);
    obj = schema[obj].relations[rel];
  }
  const last = parts.at(-1)!;
  const field = Object.keys(schema[obj].fields).find((f) => f.toLowerCase() === last.toLowerCase());
  if (!field) throw noSuchColumn(path, object);
  return schema[obj].fields[field];
}

function noSuchColumn(path: string, object: string): SoqlError {
  return new SoqlError(
    "INVALID_FIELD",
    `No such column '${path}' on entity '${object}'. If you are attempting to use a custom field, be sure to append the '__c' after the custom field name. Please reference your WSDL or the describe call for the appropriate names.`,
  );
}

function checkType(field: string, type: FieldType, v: Lit): void {
  if (v.kind === "null") return;
  const ok = (type === "string" || type === "id")
    ? v.kind === "str"
    : type === "number"
    ? v.kind === "num"
    : type === "boolean"
    ? v.kind === "bool"
    : v.kind === "date" && (type === "datetime" ? v.v.includes("T") : !v.v.includes("T"));
  if (!ok) {
    throw new SoqlError(
      "MALFORMED_QUERY",
      `value of filter criterion for field '${field}' must be of type ${type}`,
    );
  }
}

/** Reads a field path of a record (relationships nested as objects). */
export function fieldValue(record: Record<string, unknown>, path: string): unknown {
  let v: unknown = record;
  for (const part of path.split(".")) {
    if (v === null || typeof v !== "object") return null;
    const o = v as Record<string, unknown>;
    const key = Object.keys(o).find((k) => k.toLowerCase() === part.toLowerCase());
    v = key === undefined ? null : o[key];
  }
  return v ?? null;
}

function norm(v: unknown): unknown {
  if (typeof v === "string") {
    if (/^\d{4}-\d{2}-\d{2}T/.test(v)) return Date.parse(v.replace(/([+-]\d{2})(\d{2})$/, "$1:$2"));
    if (/^\d{4}-\d{2}-\d{2}$/.test(v)) return Date.parse(`${v}T00:00:00Z`);
    return v.toLowerCase();
  }
  return v;
}

function litValue(l: Lit): unknown {
  switch (l.kind) {
    case "null":
      return null;
    case "date":
      return norm(l.v);
    case "str":
      return l.v.toLowerCase();
    default:
      return l.v;
  }
}

function likeRegExp(raw: string): RegExp {
  let re = "";
  for (let i = 0; i < raw.length; i++) {
    const c = raw[i];
    if (c === "\\") {
      const n = raw[++i];
      const lit = ({ n: "\n", r: "\r", t: "\t", b: "\b", f: "\f" } as Record<string, string>)[n] ??
        n;
      re += lit.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
    } else if (c === "%") re += "[\\s\\S]*";
    else if (c === "_") re += "[\\s\\S]";
    else re += c.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
  }
  return new RegExp(`^${re}$`, "i");
}

/** Whether a record satisfies a condition, with SOQL semantics. */
export function matches(record: Record<string, unknown>, c: Cond): boolean {
  switch (c.k) {
    case "and":
      return c.items.every((x) => matches(record, x));
    case "or":
      return c.items.some((x) => matches(record, x));
    case "not":
      return !matches(record, c.item);
    case "like": {
      const v = fieldValue(record, c.field);
      return typeof v === "string" && likeRegExp(c.raw).test(v);
    }
    case "in": {
      const v = norm(fieldValue(record, c.field));
      const hit = v !== null && c.values.some((l) => litValue(l) === v);
      return c.not ? !hit : hit;
    }
    case "cmp": {
      const v = norm(fieldValue(record, c.field));
      const l = litValue(c.value);
      if (c.op === "=") return v === l;
      if (c.op === "!=") return v !== l;
      if (v === null || l === null) return false;
      const a = v as number | string, b = l as number | string;
      return c.op === "<" ? a < b : c.op === "<=" ? a <= b : c.op === ">" ? a > b : a >= b;
    }
  }
}

/** Sorts records by ORDER BY items (text case-insensitively; NULLS FIRST unless told). */
export function sortRecords(
  records: Record<string, unknown>[],
  orderBy: SoqlQuery["orderBy"],
): Record<string, unknown>[] {
  if (!orderBy.length) return records;
  return [...records].sort((x, y) => {
    for (const o of orderBy) {
      const a = norm(fieldValue(x, o.field)), b = norm(fieldValue(y, o.field));
      if (a === b) continue;
      if (a === null) return o.nullsLast ? 1 : -1;
      if (b === null) return o.nullsLast ? -1 : 1;
      const cmp = (a as number) < (b as number) ? -1 : 1;
      return o.desc ? -cmp : cmp;
    }
    return 0;
  });
}
