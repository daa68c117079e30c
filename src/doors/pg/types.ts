/**
 * Column types over the wire: OmniSQL's catalog types as Postgres types (for the catalog view's
 * tables), the type OIDs of answers, and values encoded in text or binary format.
 *
 * @module
 */

/** Type OIDs the door encodes itself. */
export const OID = {
  bool: 16,
  bytea: 17,
  int8: 20,
  int2: 21,
  int4: 23,
  text: 25,
  oid: 26,
  json: 114,
  float4: 700,
  float8: 701,
  varchar: 1043,
  date: 1082,
  timestamp: 1114,
  timestamptz: 1184,
  numeric: 1700,
  jsonb: 3802,
  unknown: 705,
} as const;

/** A catalog column type (`connectors/sdk/table.ts`) → the Postgres type the view declares. */
const PG_TYPE: Record<string, string> = {
  text: "text",
  integer: "bigint",
  double: "double precision",
  boolean: "boolean",
  timestamp: "timestamp with time zone",
  json: "jsonb",
};

/**
 * The Postgres type of a catalog column type; unknown ones are `text`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { pgTypeOf } from "./types.ts";
 * assert.equal(pgTypeOf("integer"), "bigint");
 * ```
 */
export function pgTypeOf(type: string): string {
  return PG_TYPE[type] ?? "text";
}

const ISO_TIMESTAMP = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/;

const CATALOG_OID: Record<string, number> = {
  text: OID.text,
  integer: OID.int8,
  double: OID.float8,
  boolean: OID.bool,
  timestamp: OID.timestamptz,
  json: OID.jsonb,
};

/**
 * The type OID of a catalog column type (the view's Postgres type of it).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { OID, oidOf } from "./types.ts";
 * assert.equal(oidOf("timestamp"), OID.timestamptz);
 * ```
 */
export function oidOf(type: string): number {
  return CATALOG_OID[type] ?? OID.text;
}

/** Size of a type in a RowDescription (-1 for variable length). */
export function typeSize(oid: number): number {
  switch (oid) {
    case OID.bool:
      return 1;
    case OID.int2:
      return 2;
    case OID.int4:
    case OID.oid:
    case OID.float4:
    case OID.date:
      return 4;
    case OID.int8:
    case OID.float8:
    case OID.timestamp:
    case OID.timestamptz:
      return 8;
    default:
      return -1;
  }
}

/**
 * The OID of a column from the values an answer holds, when the statement could not be
 * described: integers `int8`, other numbers `float8`, booleans `bool`, objects `jsonb`, ISO
 * timestamps `timestamptz`, else `text`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { inferOid, OID } from "./types.ts";
 * assert.equal(inferOid([1, 2, null]), OID.int8);
 * assert.equal(inferOid([1.5, 2]), OID.float8);
 * assert.equal(inferOid(["a", 1]), OID.text);
 * ```
 */
export function inferOid(values: unknown[]): number {
  const present = values.filter((v) => v !== null && v !== undefined);
  if (present.length === 0) return OID.text;
  if (present.every((v) => typeof v === "boolean")) return OID.bool;
  if (present.every((v) => typeof v === "number" && Number.isInteger(v))) return OID.int8;
  if (present.every((v) => typeof v === "number")) return OID.float8;
  if (present.every((v) => typeof v === "object")) return OID.jsonb;
  if (present.every((v) => typeof v === "string" && ISO_TIMESTAMP.test(v))) {
    return OID.timestamptz;
  }
  return OID.text;
}

const encoder = new TextEncoder();

/**
 * A JSON value from an answer in Postgres text format for a column of type `oid`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { OID, textValue } from "./types.ts";
 * assert.equal(textValue(true, OID.bool), "t");
 * assert.equal(textValue("2024-01-02T03:04:05.000Z", OID.timestamptz), "2024-01-02 03:04:05.000+00");
 * assert.equal(textValue({ a: 1 }, OID.jsonb), '{"a":1}');
 * ```
 */
export function textValue(value: unknown, oid: number): string | null {
  if (value === null || value === undefined) return null;
  switch (oid) {
    case OID.bool:
      return value === true || value === "true" || value === "t" ? "t" : "f";
    case OID.timestamptz:
    case OID.timestamp:
      if (typeof value === "string" && /^\d{4}-\d\d-\d\dT/.test(value)) {
        const s = value.replace("T", " ");
        return oid === OID.timestamptz ? s.replace(/Z$/, "+00") : s.replace(/Z$/, "");
      }
      return String(value);
    case OID.json:
    case OID.jsonb:
      // A JSON column arrives as its JSON text already.
      return typeof value === "string" ? value : JSON.stringify(value);
    default:
      return typeof value === "object" ? JSON.stringify(value) : String(value);
  }
}

/**
 * A value in binary format when the type has one the door writes; `undefined` otherwise (the
 * column then goes out in text format).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { binaryValue, OID } from "./types.ts";
 * assert.deepEqual(binaryValue(1, OID.int4), new Uint8Array([0, 0, 0, 1]));
 * assert.equal(binaryValue("x", OID.jsonb), undefined);
 * ```
 */
export function binaryValue(value: unknown, oid: number): Uint8Array | undefined {
  const buf = (n: number, set: (v: DataView) => void) => {
    const b = new Uint8Array(n);
    set(new DataView(b.buffer));
    return b;
  };
  switch (oid) {
    case OID.bool:
      return new Uint8Array([value === true || value === "t" || value === "true" ? 1 : 0]);
    case OID.int2:
      return buf(2, (v) => v.setInt16(0, Number(value)));
    case OID.int4:
    case OID.oid:
      return buf(4, (v) => v.setInt32(0, Number(value)));
    case OID.int8:
      return buf(8, (v) => v.setBigInt64(0, BigInt(String(value))));
    case OID.float4:
      return buf(4, (v) => v.setFloat32(0, Number(value)));
    case OID.float8:
      return buf(8, (v) => v.setFloat64(0, Number(value)));
    case OID.text:
    case OID.varchar:
      return encoder.encode(String(value));
    default:
      return undefined;
  }
}

/** Whether the door can write a type in binary format. */
export function hasBinary(oid: number): boolean {
  return binaryValue(oid === OID.text || oid === OID.varchar ? "" : 0, oid) !== undefined;
}
