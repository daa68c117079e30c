/**
 * Test infrastructure, not product: a small HTTP server speaking the Upstash REST protocol in
 * front of the machine's real Redis, so `@upstash/redis` and `@upstash/ratelimit` run unchanged
 * against it. It serves `POST /` (one command as a JSON array), `/pipeline` and `/multi-exec`
 * (arrays of commands), checks the bearer token, and base64-encodes string results when the
 * client sends `Upstash-Encoding: base64` (as Upstash does, "OK" stays plain).
 *
 * Redis 7.0 rejects the `#!lua flags=allow-key-locking` shebang of the ratelimit scripts, so
 * EVAL strips the flag and remembers which Redis hash stands for the client's hash; EVALSHA and
 * SCRIPT LOAD are mapped the same way.
 *
 * @module
 */

/** A Redis reply. */
export type RespValue = Uint8Array | SimpleString | RespError | number | null | RespValue[];

class SimpleString {
  constructor(readonly value: string) {}
}

class RespError {
  constructor(readonly message: string) {}
}

const CRLF = new Uint8Array([13, 10]);
const enc = new TextEncoder();
const dec = new TextDecoder();

/** A pipelined RESP connection: replies resolve in the order commands were written. */
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

  /** Writes commands as one contiguous buffer (so MULTI…EXEC stays together) and awaits replies. */
  send(commands: (string | Uint8Array)[][]): Promise<RespValue[]> {
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
    });
    return Promise.all(replies);
  }

  close() {
    this.#closed = true;
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
        this.#buf = concat([this.#buf, chunk.subarray(0, n)]);
        for (;;) {
          const parsed = parseReply(this.#buf, 0);
          if (!parsed) break;
          this.#buf = this.#buf.subarray(parsed.end);
          this.#waiting.shift()?.resolve(parsed.value);
        }
      }
    } catch (err) {
      if (!this.#closed) { for (const w of this.#waiting.splice(0)) w.reject(err); }
    }
    for (const w of this.#waiting.splice(0)) w.reject(new Error("redis connection closed"));
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

function toJson(value: RespValue, base64: boolean): unknown {
  if (value === null || typeof value === "number") return value;
  if (Array.isArray(value)) return value.map((v) => toJson(v, base64));
  if (value instanceof SimpleString) {
    return !base64 || value.value === "OK" ? value.value : btoa(value.value);
  }
  if (value instanceof RespError) return value.message;
  return base64
    ? btoa(Array.from(value, (b) => String.fromCharCode(b)).join(""))
    : dec.decode(value);
}

async function sha1(text: string): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-1", enc.encode(text));
  return Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, "0")).join("");
}

/** A running bridge. */
export interface UpstashBridge {
  /** REST URL for `new Redis({ url, token })`. */
  url: string;
  token: string;
  /** Sends one raw command to Redis (bypassing the REST layer), for tests that inspect it. */
  redis(...args: string[]): Promise<RespValue>;
  close(): Promise<void>;
}

/** Options of {@link startUpstashBridge}. */
export interface UpstashBridgeOptions {
  /** @default 6379 */
  redisPort?: number;
  /** @default "bridge-token" */
  token?: string;
}

/**
 * Starts a bridge on a free loopback port.
 *
 * @example
 * ```ts ignore
 * const bridge = await startUpstashBridge();
 * const redis = new Redis({ url: bridge.url, token: bridge.token });
 * await redis.set("k", "v");
 * await bridge.close();
 * ```
 */
export async function startUpstashBridge(
  options: UpstashBridgeOptions = {},
): Promise<UpstashBridge> {
  const token = options.token ?? "bridge-token";
  const conn = new RespConnection(
    await Deno.connect({ hostname: "127.0.0.1", port: options.redisPort ?? 6379 }),
  );
  const scriptHashes = new Map<string, string>(); // client's sha1 → Redis's sha1

  async function rewrite(cmd: string[]): Promise<string[]> {
    const name = cmd[0]?.toUpperCase();
    if ((name === "EVAL" || (name === "SCRIPT" && cmd[1]?.toUpperCase() === "LOAD"))) {
      const i = name === "EVAL" ? 1 : 2;
      const original = cmd[i];
      const stripped = original.replace(/^#!lua flags=[^\n]*/, "#!lua");
      if (stripped !== original) scriptHashes.set(await sha1(original), await sha1(stripped));
      return cmd.map((a, j) => j === i ? stripped : a);
    }
    if (name === "EVALSHA") {
      const mapped = scriptHashes.get(cmd[1]?.toLowerCase());
      return mapped ? [cmd[0], mapped, ...cmd.slice(2)] : cmd;
    }
    return cmd;
  }

  const entry = (v: RespValue, b64: boolean) =>
    v instanceof RespError ? { error: v.message } : { result: toJson(v, b64) };

  async function handle(req: Request): Promise<Response> {
    if (req.headers.get("authorization") !== `Bearer ${token}`) {
      return Response.json({ error: "Unauthorized" }, { status: 401 });
    }
    const b64 = req.headers.get("upstash-encoding")?.toLowerCase() === "base64";
    const path = new URL(req.url).pathname.replace(/\/+$/, "");
    let body: unknown;
    try {
      body = await req.json();
    } catch {
      return Response.json({ error: "ERR malformed JSON" }, { status: 400 });
    }
    const asCommand = (c: unknown): string[] | undefined =>
      Array.isArray(c) && c.length > 0
        ? c.map((a) => typeof a === "string" ? a : JSON.stringify(a))
        : undefined;

    if (path === "" || path === "/") {
      const cmd = asCommand(body);
      if (!cmd) return Response.json({ error: "ERR empty command" }, { status: 400 });
      const [reply] = await conn.send([await rewrite(cmd)]);
      const out = entry(reply, b64);
      return Response.json(out, { status: "error" in out ? 400 : 200 });
    }
    if (path === "/pipeline" || path === "/multi-exec") {
      const cmds = Array.isArray(body) ? body.map(asCommand) : [];
      if (cmds.length === 0 || cmds.some((c) => !c)) {
        return Response.json({ error: "ERR a pipeline is a non-empty array of commands" }, {
          status: 400,
        });
      }
      const rewritten = await Promise.all((cmds as string[][]).map(rewrite));
      if (path === "/pipeline") {
        const replies = await conn.send(rewritten);
        return Response.json(replies.map((r) => entry(r, b64)));
      }
      const replies = await conn.send([["MULTI"], ...rewritten, ["EXEC"]]);
      const exec = replies[replies.length - 1];
      if (!Array.isArray(exec)) {
        const queued = replies.find((r) => r instanceof RespError);
        const message = (queued ?? exec) instanceof RespError
          ? ((queued ?? exec) as RespError).message
          : "EXECABORT";
        return Response.json({ error: message }, { status: 400 });
      }
      return Response.json(exec.map((r) => entry(r, b64)));
    }
    return Response.json({ error: "not found" }, { status: 404 });
  }

  const server = Deno.serve({ port: 0, hostname: "127.0.0.1", onListen: () => {} }, handle);
  return {
    url: `http://127.0.0.1:${server.addr.port}`,
    token,
    async redis(...args) {
      const [reply] = await conn.send([args]);
      return reply;
    },
    async close() {
      await server.shutdown();
      conn.close();
      await conn.done;
    },
  };
}

/** Decodes a bulk-string reply (or an array of them) to text, for assertions. */
export function replyText(value: RespValue): string {
  if (value instanceof Uint8Array) return dec.decode(value);
  if (Array.isArray(value)) return value.map(replyText).join("\n");
  if (value instanceof SimpleString) return value.value;
  if (value instanceof RespError) return value.message;
  return String(value);
}
