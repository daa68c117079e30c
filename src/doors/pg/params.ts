/**
 * Bind parameters of the extended protocol, for statements the pipeline runs: each `$n` outside
 * strings, quoted identifiers and comments becomes a literal of the parameter's type — a number
 * only if the value is one, `TRUE`/`FALSE`, or a quoted string with its quotes doubled — so a
 * value can never become SQL. A value that does not fit its type is refused (SQLSTATE 22P02).
 *
 * @module
 */
import { OID } from "./types.ts";

/** A value that does not fit its parameter's type. */
export class ParameterError extends Error {
  readonly sqlstate = "22P02";
}

const decoder = new TextDecoder("utf-8", { fatal: true });

/**
 * A bound parameter's value as text: text format as is; binary format decoded for the types
 * drivers send in binary (integers, floats, booleans, text).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { paramText } from "./params.ts";
 * assert.equal(paramText(new Uint8Array([0, 0, 0, 7]), 1, 23), "7");
 * assert.equal(paramText(new TextEncoder().encode("merged"), 0, 25), "merged");
 * ```
 */
export function paramText(value: Uint8Array | null, format: number, oid: number): string | null {
  if (value === null) return null;
  if (format === 0) return decoder.decode(value);
  const view = new DataView(value.buffer, value.byteOffset, value.byteLength);
  switch (oid) {
    case OID.int2:
      return String(view.getInt16(0));
    case OID.int4:
    case OID.oid:
      return String(view.getInt32(0));
    case OID.int8:
      return String(view.getBigInt64(0));
    case OID.float4:
      return String(view.getFloat32(0));
    case OID.float8:
      return String(view.getFloat64(0));
    case OID.bool:
      return value[0] ? "t" : "f";
    case OID.text:
    case OID.varchar:
    case OID.unknown:
    case 0:
      return decoder.decode(value);
    default:
      throw new ParameterError(`binary parameters of type ${oid} are not supported; send text`);
  }
}

const INTEGER = /^[+-]?\d+$/;
const NUMBER = /^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$/;

/**
 * One parameter as a SQL literal of its type.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { literal } from "./params.ts";
 * assert.equal(literal("it's", 25), "'it''s'");
 * assert.equal(literal("42", 20), "42");
 * assert.throws(() => literal("1; DROP", 20));
 * ```
 */
export function literal(value: string | null, oid: number): string {
  if (value === null) return "NULL";
  if (value.includes("\u0000")) throw new ParameterError("a parameter holds a NUL character");
  switch (oid) {
    case OID.int2:
    case OID.int4:
    case OID.int8:
    case OID.oid:
      if (!INTEGER.test(value)) throw new ParameterError(`invalid integer parameter: ${value}`);
      return value;
    case OID.float4:
    case OID.float8:
    case OID.numeric:
      if (!NUMBER.test(value)) throw new ParameterError(`invalid numeric parameter: ${value}`);
      return value;
    case OID.bool: {
      const v = value.toLowerCase();
      if (["t", "true", "1", "yes", "on", "y"].includes(v)) return "TRUE";
      if (["f", "false", "0", "no", "off", "n"].includes(v)) return "FALSE";
      throw new ParameterError(`invalid boolean parameter: ${value}`);
    }
    default:
      return `'${value.replaceAll("'", "''")}'`;
  }
}

/**
 * The offsets and numbers of the `$n` placeholders of `sql`, skipping strings, quoted
 * identifiers and comments.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { placeholders } from "./params.ts";
 * assert.deepEqual(placeholders("SELECT '$1', $2 -- $3").map((p) => p.n), [2]);
 * ```
 */
export function placeholders(sql: string): { start: number; end: number; n: number }[] {
  const out: { start: number; end: number; n: number }[] = [];
  let i = 0;
  while (i < sql.length) {
    const ch = sql[i];
    if (ch === "'" || ch === '"') {
      i++;
      while (i < sql.length) {
        if (sql[i] === ch) {
          if (sql[i + 1] === ch) i += 2;
          else break;
        } else i++;
      }
      i++;
    } else if (ch === "-" && sql[i + 1] === "-") {
      while (i < sql.length && sql[i] !== "\n") i++;
    } else if (ch === "/" && sql[i + 1] === "*") {
      const end = sql.indexOf("*/", i + 2);
      i = end < 0 ? sql.length : end + 2;
    } else if (ch === "$" && /\d/.test(sql[i + 1] ?? "") && !/[\w$]/.test(sql[i - 1] ?? "")) {
      let j = i + 1;
      while (j < sql.length && /\d/.test(sql[j])) j++;
      out.push({ start: i, end: j, n: Number(sql.slice(i + 1, j)) });
      i = j;
    } else i++;
  }
  return out;
}

/**
 * `sql` with every `$n` replaced by the literal of parameter n.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { bindParameters } from "./params.ts";
 * assert.equal(
 *   bindParameters("SELECT * FROM t WHERE s = $1 LIMIT $2", ["x' OR '1'='1", "3"], [25, 20]),
 *   "SELECT * FROM t WHERE s = 'x'' OR ''1''=''1' LIMIT 3",
 * );
 * ```
 */
export function bindParameters(sql: string, values: (string | null)[], oids: number[]): string {
  let out = "";
  let at = 0;
  for (const p of placeholders(sql)) {
    if (p.n < 1 || p.n > values.length) {
      throw new ParameterError(`there is no parameter $${p.n}`);
    }
    out += sql.slice(at, p.start) + literal(values[p.n - 1], oids[p.n - 1] ?? OID.text);
    at = p.end;
  }
  return out + sql.slice(at);
}
