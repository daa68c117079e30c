/**
 * A Redis client at the wire level (RESP2) for the bridge: pipelined connections whose replies
 * resolve in the order their commands were written, a small pool of them, the `REDIS_URL` they
 * open (`redis://[:password@]host[:port][/db]`), and a timeout per call.
 *
 * @module
 */

/** A Redis reply. */
export type RespValue = Uint8Array | SimpleString | RespError | number | null | RespValue[];

/** A status reply (`+OK`). */
export class SimpleString {
  constructor(readonly value: string) {}
}

/** An error reply (`-ERR …`). */
export class RespError {
  constructor(readonly message: string) {}
}

const CRLF = new Uint8Array([13, 10]);
const enc = new TextEncoder();
const dec = new TextDecoder();

/** Where Redis answers, from a `redis://` URL. */
export interface RedisAddress {
  hostname: string;
  port: number;
  password?: string;
  username?: string;
  /** Logical database (`SELECT`); tests use their own so they never collide. @default 0 */
  db: number;
}

/**
 * Parses a `redis://` URL.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { parseRedisUrl } from "./resp.ts";
 * assert.deepEqual(parseRedisUrl("redis://:pw@10.0.0.5:6380/3"), {
 *   hostname: "10.0.0.5", port: 6380, password: "pw", username: undefined, db: 3,
 * });
 * assert.equal(parseRedisUrl("redis://127.0.0.1").port, 6379);
 * ```
 */
export function parseRedisUrl(url: string): RedisAddress {
  const u = new URL(url);
  if (u.protocol !== "redis:") throw new Error(`REDIS_URL must start with redis:// (got ${url})`);
  const db = u.pathname.replace(/^\//, "");
  if (db !== "" && !/^\d+$/.test(db)) throw new Error(`bad database number in REDIS_URL: ${db}`);
  return {
    hostname: u.hostname || "127.0.0.1",
    port: u.port ? Number(u.port) : 6379,
    password: u.password ? decodeURIComponent(u.password) : undefined,
    username: u.username ? decodeURIComponent(u.username) : undefined,
    db: db === "" ? 0 : Number(db),
  };
}

/** A pipelined RESP connection. */
class RespConnection {
  readonly #conn: Deno.TcpConn;
  readonly #waiting: { resolve(v: RespValue): void; reject(e: unknown): void }[] = [];
  #buf: Uint8Array = new Uint8Array(0);
  #writes: Promise<void> = Promise.resolve();
  #closed = false;
  readonly done: Promise<void>;

  constructor(conn: Deno.TcpConn) {
    this.#conn = conn;
    this.done = this.#readLoop();
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** Writes commands as one contiguous buffer (so MULTI…EXEC stays together). */
  send(commands: (string | Uint8Array)[][]): Promise<RespValue[]> {
    if (this.#closed) return Promise.reject(new Error("redis connection closed"));
    const parts: Uint8Array[] = [];
    for (const cmd of commands) {
      parts.push(enc.encode(`*${cmd.length}\r\n`));
      for (const arg of cmd) {
        const bytes = typeof arg === "string" ? enc.encode(arg) : arg;
        parts.push(enc.encode(`$${bytes.length}\r\n`), bytes, CRLF);
      }
    }
    const replies = commands.map(() =>
      new Promise<RespValue>((resolve, reject) => this.#waiting.push({ resolve, reject }))
    );
    const buffer = concat(parts);
    this.#writes = this.#writes.then(async () => {
      let off = 0;
      while (off < buffer.length) off += await this.#conn.write(buffer.subarray(off));
    }).catch((err) => this.#fail(err));
    return Promise.all(replies);
  }

  close() {
    this.#closed = true;
    try {
      this.#conn.close();
    } catch { /* already closed */ }
  }

  #fail(err: unknown) {
    this.#closed = true;
    for (const w of this.#waiting.splice(0)) w.reject(err);
    try {
      this.#conn.close();
    } catch { /* already closed */ }
  }

  async #readLoop() {
    const chunk = new Uint8Array(64 * 1024);
    try {
      for (;;) {
        const n = await this.#conn.read(chunk);
        if (n === null) break;
        this.#buf = this.#buf.length
          ? concat([this.#buf, chunk.subarray(0, n)])
          : chunk.slice(0, n);
        for (;;) {
          const parsed = parseReply(this.#buf, 0);
          if (!parsed) break;
          this.#buf = this.#buf.subarray(parsed.end);
          this.#waiting.shift()?.resolve(parsed.value);
        }
      }
    } catch (err) {
      if (!this.#closed) this.#fail(err);
    }
    this.#fail(new Error("redis connection closed"));
  }
}

function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let off = 0;
  for (const p of parts) {
    out.set(p, off);
    off += p.length;
  }
  return out;
}

function parseReply(buf: Uint8Array, at: number): { value: RespValue; end: number } | undefined {
  const lineEnd = buf.indexOf(13, at);
  if (lineEnd < 0 || lineEnd + 1 >= buf.length) return undefined;
  const line = dec.decode(buf.subarray(at + 1, lineEnd));
  const next = lineEnd + 2;
  switch (buf[at]) {
    case 43: // +
      return { value: new SimpleString(line), end: next };
    case 45: // -
      return { value: new RespError(line), end: next };
    case 58: // :
      return { value: Number(line), end: next };
    case 36: { // $
      const len = Number(line);
      if (len < 0) return { value: null, end: next };
      if (buf.length < next + len + 2) return undefined;
      return { value: buf.slice(next, next + len), end: next + len + 2 };
    }
    case 42: { // *
      const count = Number(line);
      if (count < 0) return { value: null, end: next };
      const items: RespValue[] = [];
      let pos = next;
      for (let i = 0; i < count; i++) {
        const item = parseReply(buf, pos);
        if (!item) return undefined;
        items.push(item.value);
        pos = item.end;
      }
      return { value: items, end: pos };
    }
    default:
      throw new Error(`unexpected RESP byte ${buf[at]}`);
  }
}

/** Options of {@link RedisPool}. */
export interface RedisPoolOptions {
  /** Connections kept open; calls are spread over them. @default 4 */
  size?: number;
  /** Longest wait for one call's replies, ms. @default 5000 */
  timeoutMs?: number;
}

/**
 * A few pipelined connections to one Redis database, opened lazily and reopened after a failure.
 * A call that outlives its timeout fails; its replies, when they come, are dropped in order, so
 * the connection stays in step.
 *
 * @example
 * ```ts ignore
 * const pool = new RedisPool(parseRedisUrl("redis://127.0.0.1:6379/0"));
 * const [pong] = await pool.send([["PING"]]);
 * pool.close();
 * ```
 */
export class RedisPool {
  readonly #address: RedisAddress;
  readonly #slots: (Promise<RespConnection> | undefined)[];
  readonly #timeoutMs: number;
  #next = 0;
  #closed = false;

  constructor(address: RedisAddress, options: RedisPoolOptions = {}) {
    this.#address = address;
    this.#slots = new Array(Math.max(1, options.size ?? 4)).fill(undefined);
    this.#timeoutMs = options.timeoutMs ?? 5000;
  }

  /** Sends commands on one connection, in order, and answers their replies. */
  async send(commands: (string | Uint8Array)[][]): Promise<RespValue[]> {
    if (this.#closed) throw new Error("redis pool closed");
    const slot = this.#next++ % this.#slots.length;
    const conn = await this.#connection(slot);
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new RedisTimeout(`redis did not answer within ${this.#timeoutMs} ms`)),
        this.#timeoutMs,
      );
    });
    try {
      return await Promise.race([conn.send(commands), timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  /** Closes every connection. */
  close(): void {
    this.#closed = true;
    for (const slot of this.#slots) slot?.then((c) => c.close(), () => {});
  }

  async #connection(slot: number): Promise<RespConnection> {
    const existing = await this.#slots[slot]?.catch(() => undefined);
    if (existing && !existing.closed) return existing;
    const opening = this.#open();
    this.#slots[slot] = opening;
    opening.catch(() => {
      if (this.#slots[slot] === opening) this.#slots[slot] = undefined;
    });
    return await opening;
  }

  async #open(): Promise<RespConnection> {
    const a = this.#address;
    const conn = new RespConnection(await Deno.connect({ hostname: a.hostname, port: a.port }));
    const setup: string[][] = [];
    if (a.password) {
      setup.push(a.username ? ["AUTH", a.username, a.password] : ["AUTH", a.password]);
    }
    if (a.db) setup.push(["SELECT", String(a.db)]);
    if (setup.length) {
      const replies = await conn.send(setup);
      const failed = replies.find((r) => r instanceof RespError) as RespError | undefined;
      if (failed) {
        conn.close();
        throw new Error(`redis refused the connection set-up: ${failed.message}`);
      }
    }
    return conn;
  }
}

/** A call Redis did not answer in time. */
export class RedisTimeout extends Error {}

/**
 * Decodes a reply to text (bulk strings as UTF-8, arrays line by line), for logs and tests.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { replyText, SimpleString } from "./resp.ts";
 * assert.equal(replyText([new TextEncoder().encode("a"), new SimpleString("OK"), 3]), "a\nOK\n3");
 * ```
 */
export function replyText(value: RespValue): string {
  if (value instanceof Uint8Array) return dec.decode(value);
  if (Array.isArray(value)) return value.map(replyText).join("\n");
  if (value instanceof SimpleString) return value.value;
  if (value instanceof RespError) return value.message;
  return String(value);
}
