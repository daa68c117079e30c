/**
 * Arrow results → JSON-safe values. Arrow's own `get` is unsafe for us in places (BIGINT as
 * `bigint`, DECIMAL as a word array, `infinity` timestamps throw, MONTH_DAY_NANO intervals decode
 * to zeros), so timestamps and intervals are read from the raw buffers.
 *
 * @module
 */
import type { ArrowDataLike, ArrowTableLike, ArrowTypeLike, ArrowVectorLike } from "./_bindings.ts";

/**
 * A value `JSON.stringify` renders as is.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import type { JsonValue } from "./_convert.ts";
 * const v: JsonValue = { ids: [1, "9007199254740993"], at: "2024-01-02T00:00:00.000Z" };
 * assert.ok(JSON.stringify(v).includes("ids"));
 * ```
 */
export type JsonValue = null | boolean | number | string | JsonValue[] | {
  [key: string]: JsonValue;
};

// Arrow's `Type` enum (stable across Arrow JS versions).
const T = {
  Null: 1,
  Int: 2,
  Float: 3,
  Binary: 4,
  Utf8: 5,
  Bool: 6,
  Decimal: 7,
  Date: 8,
  Time: 9,
  Timestamp: 10,
  Interval: 11,
  List: 12,
  Struct: 13,
  Union: 14,
  FixedSizeBinary: 15,
  FixedSizeList: 16,
  Map: 17,
  Duration: 18,
  LargeBinary: 19,
  LargeUtf8: 20,
  Dictionary: -1,
} as const;

const MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER);

/** A bigint as a number when exact, else as its decimal string. */
export function bigintToJson(n: bigint): number | string {
  return n <= MAX_SAFE && n >= -MAX_SAFE ? Number(n) : n.toString();
}

function floatToJson(n: number): number | string {
  return Number.isFinite(n) ? n : String(n); // NaN, Infinity: JSON has no literal for them
}

// Arrow time units: SECOND, MILLISECOND, MICROSECOND, NANOSECOND.
const PER_SECOND = [1n, 1_000n, 1_000_000n, 1_000_000_000n];

/** Microseconds since the epoch → ISO-8601 with `Z` (milliseconds, plus microseconds if any). */
export function microsToIso(micros: bigint): string {
  // DuckDB's ±infinity timestamps are int64 extremes.
  if (micros >= 2n ** 63n - 1n) return "infinity";
  if (micros <= -(2n ** 63n) + 1n) return "-infinity";
  let ms = micros / 1000n;
  let sub = micros % 1000n;
  if (sub < 0n) {
    sub += 1000n;
    ms -= 1n;
  }
  const date = new Date(Number(ms));
  if (Number.isNaN(date.getTime())) return micros.toString();
  const iso = date.toISOString();
  return sub === 0n ? iso : `${iso.slice(0, -1)}${sub.toString().padStart(3, "0")}Z`;
}

function rawAt(vector: ArrowVectorLike, index: number, stride: number) {
  let i = index;
  for (const chunk of vector.data) {
    // Like Arrow's own getters: a sliced chunk's values are already sliced (offset is not added).
    if (i < chunk.length) return { values: chunk.values, at: i * stride };
    i -= chunk.length;
  }
  throw new RangeError(`index ${index} out of range`);
}

function timestampAt(vector: ArrowVectorLike, index: number, unit: number): string {
  const { values, at } = rawAt(vector, index, 1);
  const raw = values[at];
  const ticks = typeof raw === "bigint" ? raw : BigInt(raw);
  if (ticks === 2n ** 63n - 1n || ticks === -(2n ** 63n) + 1n) return microsToIso(ticks);
  return microsToIso((ticks * 1_000_000n) / PER_SECOND[unit]);
}

/** An interval (months, days, nanoseconds) as an ISO-8601 duration, e.g. `P1M2DT3H0.5S`. */
export function intervalToIso(months: number, days: number, nanos: bigint): string {
  const y = Math.trunc(months / 12), m = months % 12;
  let date = `${y ? `${y}Y` : ""}${m ? `${m}M` : ""}${days ? `${days}D` : ""}`;
  const neg = nanos < 0n;
  let rest = neg ? -nanos : nanos;
  const h = rest / 3_600_000_000_000n;
  rest %= 3_600_000_000_000n;
  const min = rest / 60_000_000_000n;
  rest %= 60_000_000_000n;
  const s = rest / 1_000_000_000n;
  const frac = (rest % 1_000_000_000n).toString().padStart(9, "0").replace(/0+$/, "");
  const sign = neg ? "-" : "";
  let time = `${h ? `${sign}${h}H` : ""}${min ? `${sign}${min}M` : ""}`;
  if (s || frac) time += `${sign}${s}${frac ? `.${frac}` : ""}S`;
  if (!date && !time) date = "0D";
  return `P${date}${time ? `T${time}` : ""}`;
}

function intervalAt(vector: ArrowVectorLike, index: number, unit: number): string {
  if (unit === 2) { // MONTH_DAY_NANO: int32 months, int32 days, int64 nanoseconds
    const { values, at } = rawAt(vector, index, 4);
    const v = values as ArrayLike<number>;
    const nanos = (BigInt(v[at + 3]) << 32n) | BigInt(v[at + 2] >>> 0);
    return intervalToIso(v[at], v[at + 1], nanos);
  }
  if (unit === 1) { // DAY_TIME: int32 days, int32 milliseconds
    const { values, at } = rawAt(vector, index, 2);
    const v = values as ArrayLike<number>;
    return intervalToIso(0, v[at], BigInt(v[at + 1]) * 1_000_000n);
  }
  const { values, at } = rawAt(vector, index, 1); // YEAR_MONTH
  return intervalToIso(Number(values[at]), 0, 0n);
}

function decimalToJson(value: unknown, scale: number): number | string {
  const digits = String(value); // the unscaled integer
  if (scale <= 0) return bigintToJson(BigInt(digits));
  const neg = digits.startsWith("-");
  const abs = (neg ? digits.slice(1) : digits).padStart(scale + 1, "0");
  return Number(`${neg ? "-" : ""}${abs.slice(0, -scale)}.${abs.slice(-scale)}`);
}

function timeToJson(value: unknown, unit: number): string {
  const ticks = typeof value === "bigint" ? value : BigInt(Math.round(Number(value)));
  const micros = (ticks * 1_000_000n) / PER_SECOND[unit];
  const total = micros / 1_000_000n;
  const frac = micros % 1_000_000n;
  const pad = (n: bigint) => n.toString().padStart(2, "0");
  const hms = `${pad(total / 3600n)}:${pad((total / 60n) % 60n)}:${pad(total % 60n)}`;
  return frac === 0n ? hms : `${hms}.${frac.toString().padStart(6, "0")}`;
}

function bytesToJson(value: unknown): string {
  const bytes = value instanceof Uint8Array ? value : new Uint8Array(0);
  let s = "";
  for (const b of bytes) s += String.fromCharCode(b);
  return btoa(s);
}

/** Any other value, made JSON-safe without type information. */
export function jsonSafe(value: unknown): JsonValue {
  if (value === null || value === undefined) return null;
  switch (typeof value) {
    case "bigint":
      return bigintToJson(value);
    case "number":
      return floatToJson(value);
    case "string":
    case "boolean":
      return value;
    case "object": {
      if (value instanceof Date) return value.toISOString();
      if (value instanceof Uint8Array) return bytesToJson(value);
      if (Symbol.iterator in value && !("toJSON" in value && typeof value.toJSON === "function")) {
        return Array.from(value as Iterable<unknown>, jsonSafe);
      }
      const plain = "toJSON" in value && typeof value.toJSON === "function"
        ? value.toJSON()
        : value;
      if (Array.isArray(plain)) return plain.map(jsonSafe);
      if (plain === null || typeof plain !== "object") return jsonSafe(plain);
      const out: Record<string, JsonValue> = {};
      for (const [k, v] of Object.entries(plain)) out[k] = jsonSafe(v);
      return out;
    }
    default:
      return String(value);
  }
}

function childType(type: ArrowTypeLike, index: number): ArrowTypeLike | undefined {
  return type.children?.[index]?.type;
}

/** The value at `index` of an Arrow vector, JSON-safe, converted by the vector's type. */
export function valueAt(vector: ArrowVectorLike, index: number): JsonValue {
  if (!vector.isValid(index)) return null;
  const type = vector.type;
  switch (type.typeId) {
    case T.Timestamp:
      return timestampAt(vector, index, type.unit ?? 2);
    case T.Interval:
      return intervalAt(vector, index, type.unit ?? 2);
    case T.Struct: {
      const out: Record<string, JsonValue> = {};
      type.children?.forEach((field, i) => {
        const child = vector.getChildAt(i);
        out[field.name] = child ? valueAt(child, index) : null;
      });
      return out;
    }
    case T.List:
    case T.FixedSizeList: {
      const list = vector.get(index) as ArrowVectorLike;
      const out: JsonValue[] = [];
      for (let i = 0; i < list.length; i++) out.push(valueAt(list, i));
      return out;
    }
    default:
      return convertValue(vector.get(index), type);
  }
}

function convertValue(value: unknown, type: ArrowTypeLike): JsonValue {
  if (value === null || value === undefined) return null;
  switch (type.typeId) {
    case T.Null:
      return null;
    case T.Int:
    case T.Duration:
      return typeof value === "bigint" ? bigintToJson(value) : jsonSafe(value);
    case T.Float:
      return floatToJson(Number(value));
    case T.Utf8:
    case T.LargeUtf8:
    case T.Bool:
      return value as string | boolean;
    case T.Decimal:
      return decimalToJson(value, type.scale ?? 0);
    case T.Date: {
      const ms = Number(value);
      const date = new Date(ms);
      return Number.isNaN(date.getTime())
        ? (ms > 0 ? "infinity" : "-infinity")
        : date.toISOString().slice(0, 10);
    }
    case T.Time:
      return timeToJson(value, type.unit ?? 2);
    case T.Binary:
    case T.LargeBinary:
    case T.FixedSizeBinary:
      return bytesToJson(value);
    case T.Dictionary:
      return type.dictionary ? convertValue(value, type.dictionary) : jsonSafe(value);
    case T.Map: {
      const valueType = childType(childType(type, 0) ?? type, 1);
      const out: Record<string, JsonValue> = {};
      for (const [k, v] of value as Iterable<[unknown, unknown]>) {
        out[String(jsonSafe(k))] = valueType ? convertValue(v, valueType) : jsonSafe(v);
      }
      return out;
    }
    case T.List:
    case T.FixedSizeList: {
      const list = value as ArrowVectorLike;
      const out: JsonValue[] = [];
      for (let i = 0; i < list.length; i++) out.push(valueAt(list, i));
      return out;
    }
    case T.Struct: {
      const out: Record<string, JsonValue> = {};
      const row = value as Record<string, unknown>;
      for (const field of type.children ?? []) {
        out[field.name] = convertValue(row[field.name], field.type);
      }
      return out;
    }
    case T.Timestamp: {
      // Only inside maps/unions, where Arrow already decoded milliseconds.
      const ms = Number(value);
      return microsToIso(BigInt(Math.round(ms * 1000)));
    }
    default:
      return jsonSafe(value);
  }
}

/**
 * Result column names, in order, made unique: DuckDB-WASM's Arrow result keeps duplicates
 * (`SELECT a.id, b.id` gives `id`, `id`), which would collapse into one object key. The second
 * becomes `id_1`, then `id_2`, skipping names already taken.
 */
export function uniqueNames(names: readonly string[]): string[] {
  const taken = new Set<string>();
  const out: string[] = [];
  const counters = new Map<string, number>();
  for (const name of names) {
    let unique = name;
    if (taken.has(unique)) {
      let n = counters.get(name) ?? 0;
      do unique = `${name}_${++n}`; while (taken.has(unique) || names.includes(unique));
      counters.set(name, n);
    }
    taken.add(unique);
    out.push(unique);
  }
  return out;
}

/** Rows as JSON-safe objects: what the engine's result becomes. */
export interface ConvertedRows {
  columns: string[];
  rows: Record<string, JsonValue>[];
  truncated: boolean;
}

/** Converts up to `maxRows` rows of an Arrow table to JSON-safe objects. */
export function tableToRows(table: ArrowTableLike, maxRows: number): ConvertedRows {
  const count = Math.min(table.numRows, maxRows);
  const values = table.schema.fields.map((_, i) => {
    const vector = table.getChildAt(i);
    return vector ? columnValues(vector, count) : new Array<JsonValue>(count).fill(null);
  });
  return assembleRows(table.schema.fields.map((f) => f.name), values, table.numRows > maxRows);
}

/**
 * Converts up to `maxRows` rows of columns read by `readArrowStream` (`_arrow_stream.ts`) as
 * {@link tableToRows} converts Arrow JS's; undefined when a chunk is not of a layout read here
 * directly (the caller then reads the result with Arrow JS).
 */
export function streamToRows(
  stream: {
    numRows: number;
    columns: readonly (Pick<ArrowVectorLike, "type" | "data"> & { name: string })[];
  },
  maxRows: number,
): ConvertedRows | undefined {
  const count = Math.min(stream.numRows, maxRows);
  const values: JsonValue[][] = [];
  for (const column of stream.columns) {
    const out = new Array<JsonValue>(count);
    if (directValues(column.type, column.data, count, out) < count) return undefined;
    values.push(out);
  }
  return assembleRows(stream.columns.map((c) => c.name), values, stream.numRows > maxRows);
}

function assembleRows(
  names: readonly string[],
  values: JsonValue[][],
  truncated: boolean,
): ConvertedRows {
  const columns = uniqueNames(names);
  const count = values[0]?.length ?? 0;
  const rows: Record<string, JsonValue>[] = new Array(count);
  for (let r = 0; r < count; r++) {
    const row: Record<string, JsonValue> = {};
    for (let c = 0; c < columns.length; c++) {
      const value = values[c][r];
      if (columns[c] === "__proto__") {
        Object.defineProperty(row, "__proto__", { value, enumerable: true, writable: true });
      } else row[columns[c]] = value;
    }
    rows[r] = row;
  }
  return { columns, rows, truncated };
}

/**
 * The first `count` values of a column, a chunk at a time: text, numbers, booleans and
 * microsecond timestamps (most of what sources return) are read straight from the chunk's
 * buffers, where Arrow's `get` costs a chunk lookup and a decoder call per value (5 ms for 525
 * rows of 22 columns); anything else, or a chunk of another layout, value by value through
 * {@link valueAt}.
 */
function columnValues(vector: ArrowVectorLike, count: number): JsonValue[] {
  const out = new Array<JsonValue>(count);
  const base = directValues(vector.type, vector.data, count, out);
  for (let i = base; i < count; i++) out[i] = valueAt(vector, i);
  return out;
}

/** Fills `out` from the chunks read directly, in order; returns how many values it filled. */
function directValues(
  type: ArrowTypeLike,
  chunks: readonly ArrowDataLike[],
  count: number,
  out: JsonValue[],
): number {
  let base = 0;
  for (const chunk of chunks) {
    const n = Math.min(chunk.length, count - base);
    if (n <= 0) break;
    if (chunk.offset !== 0 || !directChunk(type, chunk, n, out, base)) return base;
    base += n;
  }
  return base;
}

function directChunk(
  type: ArrowTypeLike,
  chunk: ArrowDataLike,
  n: number,
  out: JsonValue[],
  base: number,
): boolean {
  switch (type.typeId) {
    case T.Utf8:
      return utf8Values(chunk, n, out, base);
    case T.Timestamp:
      return type.unit === MICROSECOND && microsValues(chunk, n, out, base);
    case T.Int:
      return intValues(chunk, n, out, base);
    case T.Float:
      return floatValues(chunk, n, out, base);
    case T.Bool:
      return boolValues(chunk, n, out, base);
    default:
      return false;
  }
}

/** Integers: 64-bit ones as {@link bigintToJson} renders them, narrower ones as numbers. */
function intValues(chunk: ArrowDataLike, n: number, out: JsonValue[], base: number): boolean {
  const values = chunk.values;
  if (values instanceof BigInt64Array || values instanceof BigUint64Array) {
    for (let i = 0; i < n; i++) {
      out[base + i] = isNull(chunk, i) ? null : bigintToJson(values[i]);
    }
    return true;
  }
  if (
    !(values instanceof Int32Array || values instanceof Int16Array || values instanceof Int8Array ||
      values instanceof Uint32Array || values instanceof Uint16Array ||
      values instanceof Uint8Array)
  ) return false;
  for (let i = 0; i < n; i++) out[base + i] = isNull(chunk, i) ? null : values[i];
  return true;
}

/** Floats (not half floats, which Arrow JS converts); NaN and infinities as text. */
function floatValues(chunk: ArrowDataLike, n: number, out: JsonValue[], base: number): boolean {
  const values = chunk.values;
  if (!(values instanceof Float64Array || values instanceof Float32Array)) return false;
  for (let i = 0; i < n; i++) out[base + i] = isNull(chunk, i) ? null : floatToJson(values[i]);
  return true;
}

/** Booleans, one bit each. */
function boolValues(chunk: ArrowDataLike, n: number, out: JsonValue[], base: number): boolean {
  const bits = chunk.values;
  if (!(bits instanceof Uint8Array) || bits.length * 8 < n) return false;
  for (let i = 0; i < n; i++) {
    out[base + i] = isNull(chunk, i) ? null : (bits[i >> 3] & (1 << (i & 7))) !== 0;
  }
  return true;
}

const MICROSECOND = 2;
const utf8 = new TextDecoder();

function isNull(chunk: ArrowDataLike, i: number): boolean {
  const bits = chunk.nullBitmap;
  return chunk.nullCount > 0 && bits !== undefined && bits.length > 0 &&
    (bits[i >> 3] & (1 << (i & 7))) === 0;
}

/** A text chunk's values; ASCII text is decoded once and cut, other text value by value. */
function utf8Values(chunk: ArrowDataLike, n: number, out: JsonValue[], base: number): boolean {
  const offsets = chunk.valueOffsets;
  const bytes = chunk.values;
  if (!offsets || !(bytes instanceof Uint8Array) || offsets.length < n + 1) return false;
  const start = offsets[0], end = offsets[n];
  let ascii = true;
  for (let k = start; k < end; k++) {
    if (bytes[k] > 127) {
      ascii = false;
      break;
    }
  }
  const text = ascii ? utf8.decode(bytes.subarray(start, end)) : "";
  for (let i = 0; i < n; i++) {
    if (isNull(chunk, i)) out[base + i] = null;
    else if (ascii) out[base + i] = text.slice(offsets[i] - start, offsets[i + 1] - start);
    else out[base + i] = utf8.decode(bytes.subarray(offsets[i], offsets[i + 1]));
  }
  return true;
}

/**
 * A microsecond timestamp chunk's values as {@link microsToIso} renders them; values beyond
 * 2^53 (DuckDB's ±infinity among them) go through it.
 */
function microsValues(chunk: ArrowDataLike, n: number, out: JsonValue[], base: number): boolean {
  const ticks = chunk.values;
  if (!(ticks instanceof BigInt64Array)) return false;
  for (let i = 0; i < n; i++) {
    if (isNull(chunk, i)) {
      out[base + i] = null;
      continue;
    }
    const raw = ticks[i];
    const micros = Number(raw);
    if (!Number.isSafeInteger(micros)) {
      out[base + i] = microsToIso(raw);
      continue;
    }
    const ms = Math.floor(micros / 1000);
    const sub = micros - ms * 1000;
    const day = Math.floor(ms / DAY_MS);
    let t = ms - day * DAY_MS;
    const hours = Math.floor(t / 3_600_000);
    t -= hours * 3_600_000;
    const minutes = Math.floor(t / 60_000);
    t -= minutes * 60_000;
    const seconds = Math.floor(t / 1000);
    out[base + i] = `${datePrefix(day)}${pad(hours, 2)}:${pad(minutes, 2)}:${pad(seconds, 2)}.` +
      `${pad(t - seconds * 1000, 3)}${sub === 0 ? "" : pad(sub, 3)}Z`;
  }
  return true;
}

const DAY_MS = 86_400_000;
/** `Date#toISOString`'s date part with its `T`, by day since the epoch (rows share few days). */
const datePrefixes = new Map<number, string>();

function datePrefix(day: number): string {
  let prefix = datePrefixes.get(day);
  if (prefix === undefined) {
    const iso = new Date(day * DAY_MS).toISOString();
    prefix = iso.slice(0, iso.indexOf("T") + 1);
    if (datePrefixes.size >= 4096) datePrefixes.clear();
    datePrefixes.set(day, prefix);
  }
  return prefix;
}

function pad(n: number, width: number): string {
  return String(n).padStart(width, "0");
}
