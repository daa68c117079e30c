/**
 * The Postgres wire protocol (v3) messages the door reads and writes after start-up: frontend
 * messages decoded from their bytes, backend messages encoded into a batch that is written to
 * the socket once (separate small writes cost ~44 ms each through Nagle + delayed ACK).
 *
 * @module
 */

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** A frontend message after start-up. */
export type FrontendMessage =
  | { type: "query"; sql: string }
  | { type: "parse"; name: string; sql: string; paramTypes: number[] }
  | {
    type: "bind";
    portal: string;
    statement: string;
    paramFormats: number[];
    params: (Uint8Array | null)[];
    resultFormats: number[];
  }
  | { type: "describe"; target: "S" | "P"; name: string }
  | { type: "execute"; portal: string; maxRows: number }
  | { type: "close"; target: "S" | "P"; name: string }
  | { type: "sync" }
  | { type: "flush" }
  | { type: "terminate" }
  | { type: "unsupported"; code: string };

class Reader {
  #at = 0;
  readonly #view: DataView;
  constructor(readonly bytes: Uint8Array) {
    this.#view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }
  int16(): number {
    const v = this.#view.getInt16(this.#at);
    this.#at += 2;
    return v;
  }
  int32(): number {
    const v = this.#view.getInt32(this.#at);
    this.#at += 4;
    return v;
  }
  byte(): string {
    return String.fromCharCode(this.bytes[this.#at++]);
  }
  cstring(): string {
    const end = this.bytes.indexOf(0, this.#at);
    if (end < 0) throw new RangeError("unterminated string in message");
    const s = decoder.decode(this.bytes.subarray(this.#at, end));
    this.#at = end + 1;
    return s;
  }
  take(n: number): Uint8Array {
    if (this.#at + n > this.bytes.length) throw new RangeError("message shorter than it says");
    const out = this.bytes.slice(this.#at, this.#at + n);
    this.#at += n;
    return out;
  }
}

/**
 * Decodes one complete frontend message (type byte, length, body).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { BackendBatch, decodeFrontend } from "./protocol.ts";
 * const msg = new BackendBatch().message("Q", (w) => w.cstring("SELECT 1")).take();
 * assert.deepEqual(decodeFrontend(msg), { type: "query", sql: "SELECT 1" });
 * ```
 */
export function decodeFrontend(message: Uint8Array): FrontendMessage {
  const r = new Reader(message);
  const code = r.byte();
  r.int32();
  switch (code) {
    case "Q":
      return { type: "query", sql: r.cstring() };
    case "P": {
      const name = r.cstring();
      const sql = r.cstring();
      const n = r.int16();
      const paramTypes = Array.from({ length: n }, () => r.int32());
      return { type: "parse", name, sql, paramTypes };
    }
    case "B": {
      const portal = r.cstring();
      const statement = r.cstring();
      const paramFormats = Array.from({ length: r.int16() }, () => r.int16());
      const params = Array.from({ length: r.int16() }, () => {
        const len = r.int32();
        return len < 0 ? null : r.take(len);
      });
      const resultFormats = Array.from({ length: r.int16() }, () => r.int16());
      return { type: "bind", portal, statement, paramFormats, params, resultFormats };
    }
    case "D":
    case "C": {
      const target = r.byte() === "S" ? "S" : "P";
      const name = r.cstring();
      return code === "D" ? { type: "describe", target, name } : { type: "close", target, name };
    }
    case "E":
      return { type: "execute", portal: r.cstring(), maxRows: r.int32() };
    case "S":
      return { type: "sync" };
    case "H":
      return { type: "flush" };
    case "X":
      return { type: "terminate" };
    default:
      return { type: "unsupported", code };
  }
}

/** Writes the body of one message. */
export class MessageWriter {
  readonly parts: Uint8Array[] = [];
  length = 0;
  #push(bytes: Uint8Array): this {
    this.parts.push(bytes);
    this.length += bytes.length;
    return this;
  }
  int16(v: number): this {
    const b = new Uint8Array(2);
    new DataView(b.buffer).setInt16(0, v);
    return this.#push(b);
  }
  int32(v: number): this {
    const b = new Uint8Array(4);
    new DataView(b.buffer).setInt32(0, v);
    return this.#push(b);
  }
  bytes(b: Uint8Array): this {
    return this.#push(b);
  }
  string(s: string): this {
    return this.#push(encoder.encode(s));
  }
  cstring(s: string): this {
    return this.#push(encoder.encode(s)).#push(new Uint8Array(1));
  }
}

/** One column of a RowDescription. */
export interface FieldDescription {
  name: string;
  tableOid: number;
  columnIndex: number;
  typeOid: number;
  typeSize: number;
  typeModifier: number;
  format: number;
}

/** The fields of an ErrorResponse or NoticeResponse. */
export interface ErrorFields {
  severity: "ERROR" | "FATAL" | "NOTICE" | "WARNING";
  code: string;
  message: string;
  detail?: string;
  hint?: string;
}

/**
 * Backend messages collected into one write.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { BackendBatch } from "./protocol.ts";
 * const bytes = new BackendBatch().commandComplete("SELECT 1").readyForQuery("I").take();
 * assert.equal(String.fromCharCode(bytes[0]), "C");
 * ```
 */
export class BackendBatch {
  #parts: Uint8Array[] = [];

  /** Appends one message built by `body`. */
  message(code: string, body: (w: MessageWriter) => void = () => {}): this {
    const w = new MessageWriter();
    body(w);
    const head = new Uint8Array(5);
    head[0] = code.charCodeAt(0);
    new DataView(head.buffer).setInt32(1, w.length + 4);
    this.#parts.push(head, ...w.parts);
    return this;
  }

  /** Appends already-encoded messages. */
  raw(bytes: Uint8Array): this {
    this.#parts.push(bytes);
    return this;
  }

  get empty(): boolean {
    return this.#parts.length === 0;
  }

  rowDescription(fields: FieldDescription[]): this {
    return this.message("T", (w) => {
      w.int16(fields.length);
      for (const f of fields) {
        w.cstring(f.name).int32(f.tableOid).int16(f.columnIndex).int32(f.typeOid)
          .int16(f.typeSize).int32(f.typeModifier).int16(f.format);
      }
    });
  }

  dataRow(values: (Uint8Array | null)[]): this {
    return this.message("D", (w) => {
      w.int16(values.length);
      for (const v of values) {
        if (v === null) w.int32(-1);
        else w.int32(v.length).bytes(v);
      }
    });
  }

  commandComplete(tag: string): this {
    return this.message("C", (w) => w.cstring(tag));
  }

  readyForQuery(status: "I" | "T" | "E"): this {
    return this.message("Z", (w) => w.string(status));
  }

  error(fields: ErrorFields): this {
    return this.message(
      fields.severity === "NOTICE" || fields.severity === "WARNING" ? "N" : "E",
      (w) => {
        w.string("S").cstring(fields.severity).string("V").cstring(fields.severity);
        w.string("C").cstring(fields.code).string("M").cstring(fields.message);
        if (fields.detail) w.string("D").cstring(fields.detail);
        if (fields.hint) w.string("H").cstring(fields.hint);
        w.bytes(new Uint8Array(1));
      },
    );
  }

  parameterDescription(oids: number[]): this {
    return this.message("t", (w) => {
      w.int16(oids.length);
      for (const oid of oids) w.int32(oid);
    });
  }

  parameterStatus(name: string, value: string): this {
    return this.message("S", (w) => w.cstring(name).cstring(value));
  }

  backendKeyData(pid: number, secret: number): this {
    return this.message("K", (w) => w.int32(pid).int32(secret));
  }

  /** The bytes so far, and a fresh batch. */
  take(): Uint8Array {
    const out = concat(this.#parts);
    this.#parts = [];
    return out;
  }
}

/**
 * Splits a stream of complete backend messages (as PGlite answers) into `[code, message]`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { BackendBatch, splitMessages } from "./protocol.ts";
 * const bytes = new BackendBatch().commandComplete("SET").readyForQuery("I").take();
 * assert.deepEqual(splitMessages(bytes).map(([c]) => c), ["C", "Z"]);
 * ```
 */
export function splitMessages(bytes: Uint8Array): [string, Uint8Array][] {
  const out: [string, Uint8Array][] = [];
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let at = 0;
  while (at + 5 <= bytes.length) {
    const len = view.getInt32(at + 1);
    out.push([String.fromCharCode(bytes[at]), bytes.subarray(at, at + 1 + len)]);
    at += 1 + len;
  }
  return out;
}

/**
 * Reads a RowDescription message.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { BackendBatch, readRowDescription } from "./protocol.ts";
 * const f = { name: "n", tableOid: 0, columnIndex: 0, typeOid: 20, typeSize: 8, typeModifier: -1, format: 0 };
 * assert.deepEqual(readRowDescription(new BackendBatch().rowDescription([f]).take()), [f]);
 * ```
 */
export function readRowDescription(message: Uint8Array): FieldDescription[] {
  const r = new Reader(message);
  r.byte();
  r.int32();
  return Array.from({ length: r.int16() }, () => ({
    name: r.cstring(),
    tableOid: r.int32(),
    columnIndex: r.int16(),
    typeOid: r.int32(),
    typeSize: r.int16(),
    typeModifier: r.int32(),
    format: r.int16(),
  }));
}

/**
 * Reads a ParameterDescription message.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { BackendBatch, readParameterDescription } from "./protocol.ts";
 * assert.deepEqual(readParameterDescription(new BackendBatch().parameterDescription([25, 20]).take()), [25, 20]);
 * ```
 */
export function readParameterDescription(message: Uint8Array): number[] {
  const r = new Reader(message);
  r.byte();
  r.int32();
  return Array.from({ length: r.int16() }, () => r.int32());
}

/**
 * Reads an ErrorResponse message's code, message, detail and hint.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { BackendBatch, readError } from "./protocol.ts";
 * const e = readError(new BackendBatch().error({ severity: "ERROR", code: "42601", message: "m" }).take());
 * assert.equal(e.code, "42601");
 * ```
 */
export function readError(message: Uint8Array): ErrorFields {
  const r = new Reader(message);
  r.byte();
  r.int32();
  const fields: Record<string, string> = {};
  for (let kind = r.byte(); kind !== "\u0000"; kind = r.byte()) fields[kind] = r.cstring();
  return {
    severity: "ERROR",
    code: fields.C ?? "XX000",
    message: fields.M ?? "error",
    ...(fields.D ? { detail: fields.D } : {}),
    ...(fields.H ? { hint: fields.H } : {}),
  };
}

/** Frontend messages the door sends to its catalog view (PGlite). */
export const frontend = {
  parse(sql: string, paramTypes: number[]): Uint8Array {
    return new BackendBatch().message("P", (w) => {
      w.cstring("").cstring(sql).int16(paramTypes.length);
      for (const t of paramTypes) w.int32(t);
    }).take();
  },
  bind(params: (Uint8Array | null)[], paramFormats: number[], resultFormats: number[]): Uint8Array {
    return new BackendBatch().message("B", (w) => {
      w.cstring("").cstring("").int16(paramFormats.length);
      for (const f of paramFormats) w.int16(f);
      w.int16(params.length);
      for (const p of params) {
        if (p === null) w.int32(-1);
        else w.int32(p.length).bytes(p);
      }
      w.int16(resultFormats.length);
      for (const f of resultFormats) w.int16(f);
    }).take();
  },
  describe(target: "S" | "P"): Uint8Array {
    return new BackendBatch().message("D", (w) => w.string(target).cstring("")).take();
  },
  execute(): Uint8Array {
    return new BackendBatch().message("E", (w) => w.cstring("").int32(0)).take();
  },
  sync(): Uint8Array {
    return new BackendBatch().message("S").take();
  },
};

/**
 * Concatenates byte arrays.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { concat } from "./protocol.ts";
 * assert.deepEqual(concat([new Uint8Array([1]), new Uint8Array([2])]), new Uint8Array([1, 2]));
 * ```
 */
export function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}
