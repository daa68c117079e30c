/**
 * Turns fetched rows into an Arrow IPC stream with the declared column types, so DuckDB ingests
 * them without guessing: the JSON route infers types from values (an all-positive first block
 * makes a BIGINT column unsigned, ISO timestamps stay text) and inserts columns in alphabetical
 * order, by position.
 *
 * @module
 */
import { type ArrowColumnType, type ColumnBuffers, writeArrowStream } from "./_arrow_stream.ts";
import type { ColumnDef, ColumnType, Row } from "../../connectors/sdk/table.ts";
import { rowTimestampMicros } from "../../connectors/sdk/timestamp.ts";

/** DuckDB's type for each column type. JSON is an extension (not built in): JSON text in VARCHAR. */
export const DUCK_TYPES: Record<ColumnType, string> = {
  text: "VARCHAR",
  integer: "BIGINT",
  double: "DOUBLE",
  boolean: "BOOLEAN",
  timestamp: "TIMESTAMP",
  json: "VARCHAR",
};

const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;

/** A value as a BIGINT, or null when it is not an integer in range. */
export function toInt64(value: unknown): bigint | null {
  let n: bigint | null = null;
  if (typeof value === "bigint") n = value;
  else if (typeof value === "number") {
    n = Number.isFinite(value) ? BigInt(Math.round(value)) : null;
  } else if (typeof value === "boolean") n = value ? 1n : 0n;
  else if (typeof value === "string") {
    const s = value.trim();
    if (/^[+-]?\d+$/.test(s)) n = BigInt(s);
    else if (s !== "" && Number.isFinite(Number(s))) n = BigInt(Math.round(Number(s)));
  }
  return n !== null && n >= INT64_MIN && n <= INT64_MAX ? n : null;
}

/** A value as a DOUBLE, or null. */
export function toFloat64(value: unknown): number | null {
  if (typeof value === "number") return value;
  if (typeof value === "bigint") return Number(value);
  if (typeof value === "boolean") return value ? 1 : 0;
  if (typeof value === "string" && value.trim() !== "") {
    const n = Number(value);
    return Number.isNaN(n) && value.trim() !== "NaN" ? null : n;
  }
  return null;
}

const TRUE_WORDS = new Set(["true", "t", "1", "yes", "y"]);
const FALSE_WORDS = new Set(["false", "f", "0", "no", "n"]);

/** A value as a BOOLEAN, or null. */
export function toBool(value: unknown): boolean | null {
  if (typeof value === "boolean") return value;
  if (typeof value === "number") return Number.isNaN(value) ? null : value !== 0;
  if (typeof value === "bigint") return value !== 0n;
  if (typeof value === "string") {
    const s = value.trim().toLowerCase();
    return TRUE_WORDS.has(s) ? true : FALSE_WORDS.has(s) ? false : null;
  }
  return null;
}

/** A value as VARCHAR text (objects as JSON), or null. */
export function toText(value: unknown): string | null {
  if (value === null || value === undefined) return null;
  if (typeof value === "string") return value;
  if (value instanceof Date) return Number.isNaN(value.getTime()) ? null : value.toISOString();
  if (typeof value === "object") return toJsonText(value);
  return String(value);
}

/** A value as JSON text (rows carry JSON columns as values), or null. */
export function toJsonText(value: unknown): string | null {
  if (value === null || value === undefined) return null;
  let text: string | undefined;
  try {
    // Without a replacer first: a replacer call per nested value costs more than the rare retry.
    text = JSON.stringify(value);
  } catch {
    text = JSON.stringify(value, (_k, v) => typeof v === "bigint" ? v.toString() : v);
  }
  return text === undefined ? null : text;
}

/**
 * A timestamp as microseconds since the epoch, in UTC: ISO-8601 strings (with `Z`, an offset or
 * none, which means UTC), `Date`s, or epoch milliseconds. Unparseable values become null.
 */
export function toEpochMicros(value: unknown): bigint | null {
  if (value instanceof Date) {
    const ms = value.getTime();
    return Number.isNaN(ms) ? null : BigInt(ms) * 1000n;
  }
  const micros = rowTimestampMicros(value);
  if (micros !== undefined) return micros;
  if (typeof value !== "string") return null;
  // Not ISO 8601: whatever Date.parse reads (RFC 2822 and the like).
  const ms = Date.parse(value.trim());
  return Number.isNaN(ms) ? null : BigInt(ms) * 1000n;
}

const ZERO = 48;
const digits = (s: string, from: number, to: number): number => {
  let n = 0;
  for (let i = from; i < to; i++) {
    const d = s.charCodeAt(i) - ZERO;
    if (d < 0 || d > 9) return NaN;
    n = n * 10 + d;
  }
  return n;
};

/**
 * The common shape, `YYYY-MM-DDTHH:MM:SS[.fraction]Z` (what the APIs send), read without a
 * regular expression or BigInt: microseconds as a number (exact: well inside 2^53), or
 * `undefined` for any other shape, which {@link toEpochMicros} then reads.
 */
function isoZMicros(s: string): number | undefined {
  const n = s.length;
  if (n < 20 || s.charCodeAt(n - 1) !== 90 /* Z */) return undefined;
  if (s[4] !== "-" || s[7] !== "-" || s[10] !== "T" || s[13] !== ":" || s[16] !== ":") {
    return undefined;
  }
  const year = digits(s, 0, 4), month = digits(s, 5, 7), day = digits(s, 8, 10);
  const hour = digits(s, 11, 13), minute = digits(s, 14, 16), second = digits(s, 17, 19);
  let micros = 0;
  if (n > 20) {
    if (s[19] !== "." || n < 22 || n > 30) return undefined;
    const frac = digits(s, 20, Math.min(n - 1, 26));
    micros = frac * 10 ** (6 - Math.min(n - 21, 6));
  } else if (n !== 20) return undefined;
  // Two-digit years mean 19xx to Date.UTC: left to the general path, like any NaN.
  if (!(year >= 100) || !(micros >= 0)) return undefined;
  if (month < 1 || month > 12 || day < 1 || day > 31 || hour > 24 || minute > 59 || second > 60) {
    return undefined;
  }
  return Date.UTC(year, month - 1, day, hour, minute, second) * 1000 + micros;
}

/** An integer as {@link toInt64} reads it, as a number when that is exact. */
function int64Value(value: unknown): number | bigint | null {
  if (typeof value === "number") {
    const n = Math.round(value);
    if (Number.isSafeInteger(n)) return n;
  }
  return toInt64(value);
}

/** A timestamp as {@link toEpochMicros} reads it, as a number when that is exact. */
function epochMicros(value: unknown): number | bigint | null {
  if (typeof value === "string") {
    const fast = isoZMicros(value);
    if (fast !== undefined) return fast;
  } else if (typeof value === "number") {
    const micros = Math.round(value * 1000);
    if (Number.isSafeInteger(micros)) return micros;
  }
  return toEpochMicros(value);
}

const NONE = new Uint8Array(0);

/** Values and their validity bits, filled by `set` for each value not null. */
function column<T>(
  type: ArrowColumnType,
  values: readonly (T | null)[],
  data: Uint8Array,
  set: (value: T, index: number) => void,
): ColumnBuffers {
  const valid = new Uint8Array(Math.ceil(values.length / 8));
  let nullCount = 0;
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (v === null) nullCount++;
    else {
      set(v, i);
      valid[i >> 3] |= 1 << (i & 7);
    }
  }
  return { type, nullCount, buffers: [nullCount === 0 ? NONE : valid, data] };
}

const TWO_32 = 2 ** 32;

function int64Column(type: ArrowColumnType, values: (bigint | number | null)[]): ColumnBuffers {
  const data = new BigInt64Array(values.length);
  // Safe integers are written as two 32-bit halves (little-endian): no BigInt per value.
  const halves = new Int32Array(data.buffer);
  return column(type, values, new Uint8Array(data.buffer), (v, i) => {
    if (typeof v === "number") {
      const high = Math.floor(v / TWO_32);
      halves[2 * i] = (v - high * TWO_32) | 0;
      halves[2 * i + 1] = high;
    } else data[i] = v;
  });
}

function float64Column(values: (number | null)[]): ColumnBuffers {
  const data = new Float64Array(values.length);
  return column("float64", values, new Uint8Array(data.buffer), (v, i) => data[i] = v);
}

function boolColumn(values: (boolean | null)[]): ColumnBuffers {
  const data = new Uint8Array(Math.ceil(values.length / 8));
  return column("bool", values, data, (v, i) => {
    if (v) data[i >> 3] |= 1 << (i & 7);
  });
}

const encoder = new TextEncoder();

function utf8Column(values: (string | null)[]): ColumnBuffers {
  return asciiColumn(values) ?? textColumn(values);
}

/**
 * Text that is all ASCII (most of what APIs send) in one native encode of the joined values: its
 * offsets are the values' lengths. Undefined when any character is not ASCII.
 */
function asciiColumn(values: (string | null)[]): ColumnBuffers | undefined {
  const valueOffsets = new Int32Array(values.length + 1);
  const valid = new Uint8Array(Math.ceil(values.length / 8));
  let nullCount = 0;
  let size = 0;
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (v === null) nullCount++;
    else {
      size += v.length;
      valid[i >> 3] |= 1 << (i & 7);
    }
    valueOffsets[i + 1] = size;
  }
  const joined = values.join("");
  const bytes = new Uint8Array(size);
  // One UTF-8 byte per UTF-16 unit read and none left over: every character was ASCII.
  const { read, written } = encoder.encodeInto(joined, bytes);
  if (read !== size || written !== size) return undefined;
  return {
    type: "utf8",
    nullCount,
    buffers: [nullCount === 0 ? NONE : valid, new Uint8Array(valueOffsets.buffer), bytes],
  };
}

function textColumn(values: (string | null)[]): ColumnBuffers {
  const valueOffsets = new Int32Array(values.length + 1);
  let buffer = new Uint8Array(Math.max(64, values.length * 16));
  let size = 0;
  const encoded = column("utf8", values, NONE, (v, i) => {
    // A UTF-16 code unit never needs more than 3 bytes of UTF-8.
    const need = size + v.length * 3;
    if (need > buffer.length) {
      const grown = new Uint8Array(Math.max(need, buffer.length * 2));
      grown.set(buffer.subarray(0, size));
      buffer = grown;
    }
    size += encoder.encodeInto(v, buffer.subarray(size)).written;
    valueOffsets[i + 1] = size;
  });
  // A null's offset repeats the one before it (an empty slice).
  for (let i = 0; i < values.length; i++) {
    if (values[i] === null) valueOffsets[i + 1] = valueOffsets[i];
  }
  const [validity] = encoded.buffers;
  return {
    ...encoded,
    buffers: [validity, new Uint8Array(valueOffsets.buffer), buffer.subarray(0, size)],
  };
}

function columnBuffers(column: ColumnDef, rows: readonly Row[]): ColumnBuffers {
  const pick = <T>(convert: (v: unknown) => T | null): (T | null)[] =>
    rows.map((row) => {
      const v = row[column.name];
      return v === null || v === undefined ? null : convert(v);
    });
  switch (column.type) {
    case "integer":
      return int64Column("int64", pick(int64Value));
    case "double":
      return float64Column(pick(toFloat64));
    case "boolean":
      return boolColumn(pick(toBool));
    case "timestamp":
      return int64Column("timestamp_us", pick(epochMicros));
    case "json":
      return utf8Column(pick(toJsonText));
    default:
      return utf8Column(pick(toText));
  }
}

/** Column sets whose encoding is remembered per rows array. */
const ENCODINGS_PER_ROWS = 8;
/** Encodings of immutable rows arrays, by their columns (names and types). */
const encodings = new WeakMap<readonly Row[], Map<string, Uint8Array>>();

/**
 * {@link rowsToArrowIPC}, remembered for a frozen array of frozen rows (a source-cache entry
 * that every warm query reads, `TenantCache` values are deeply frozen) for as long as the array
 * lives: the bytes are a function of the columns and those rows, which cannot change. Any other
 * array (rows a policy filtered or masked are new arrays) is encoded each time. The answer is
 * shared: callers copy it, never change it.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { encodeRows } from "./_ingest.ts";
 * const rows = Object.freeze([Object.freeze({ id: 1 })]);
 * const columns = [{ name: "id", type: "integer" as const, description: "" }];
 * assert.equal(encodeRows(columns, rows), encodeRows(columns, rows));
 * assert.notEqual(encodeRows(columns, [{ id: 1 }]), encodeRows(columns, [{ id: 1 }]));
 * ```
 */
export function encodeRows(columns: readonly ColumnDef[], rows: readonly Row[]): Uint8Array {
  if (!Object.isFrozen(rows) || !rows.every(Object.isFrozen)) return rowsToArrowIPC(columns, rows);
  const key = JSON.stringify(columns.map((c) => [c.name, c.type]));
  let known = encodings.get(rows);
  const remembered = known?.get(key);
  if (remembered) return remembered;
  const bytes = rowsToArrowIPC(columns, rows);
  if (!known) encodings.set(rows, known = new Map());
  if (known.size >= ENCODINGS_PER_ROWS) known.delete(known.keys().next().value!);
  known.set(key, bytes);
  return bytes;
}

/**
 * Encodes rows as an Arrow IPC stream whose columns are, in order, the declared columns with
 * their declared types; a key missing from a row is NULL, keys not declared are ignored.
 */
export function rowsToArrowIPC(columns: readonly ColumnDef[], rows: readonly Row[]): Uint8Array {
  // Positional field names (see `writeArrowStream`): DuckDB inserts by position, and names like
  // "1" would reorder an object-keyed table.
  return writeArrowStream(rows.length, columns.map((c) => columnBuffers(c, rows)));
}
