/**
 * The Redis-over-HTTP bridge: the Upstash REST protocol in front of a self-hosted Redis, so
 * `@upstash/redis` and `@upstash/ratelimit` run unchanged in the cluster and on self-hosted
 * deployments (in production on Upstash itself, no bridge runs).
 *
 * - `POST /` runs one command given as a JSON array; `/pipeline` runs an array of them in order
 *   (one answer each); `/multi-exec` runs them as one transaction (MULTI…EXEC).
 * - Every call needs `Authorization: Bearer <token>`; `Upstash-Encoding: base64` encodes string
 *   results as Upstash does ("OK" stays plain).
 * - `GET /healthz` answers 200 when Redis answers `PING`, else 503 (a readiness probe).
 * - Commands that would hold or change a shared connection (blocking pops, SUBSCRIBE, SELECT,
 *   MULTI, …), administration (CONFIG, FLUSHALL/FLUSHDB, ACL, MODULE, REPLICAOF, …) and KEYS are
 *   refused; a call Redis does not answer in time is a 504. (A script run by EVAL can still call
 *   what Redis lets its user: give the bridge a Redis ACL user for what the bridge must not do.)
 * - Redis 7.0 rejects the `#!lua flags=allow-key-locking` shebang of the ratelimit scripts, so
 *   EVAL strips the flag and remembers which Redis hash stands for the client's hash; EVALSHA
 *   and SCRIPT LOAD are mapped the same way.
 *
 * @module
 */
import { parseRedisUrl, RedisPool, type RespValue, SimpleString } from "./resp.ts";
import { RedisTimeout, RespError } from "./resp.ts";

/** Options of {@link startRedisHttp}. */
export interface RedisHttpOptions {
  /** The Redis behind the bridge. @default "redis://127.0.0.1:6379" */
  redisUrl?: string;
  /** The bearer token clients must send (`REDIS_HTTP_TOKEN`). */
  token: string;
  /** Where to listen. @default 0 (a free port) */
  port?: number;
  /** @default "127.0.0.1" */
  hostname?: string;
  /** Longest wait for Redis per call, ms. @default 5000 */
  timeoutMs?: number;
  /** Connections to Redis. @default 4 */
  connections?: number;
  /** Largest request body, bytes. @default 16 MiB */
  maxBodyBytes?: number;
}

/** A running bridge. */
export interface RedisHttp {
  /** REST URL for `new Redis({ url, token })`. */
  url: string;
  token: string;
  /** Sends one raw command to Redis (bypassing the REST layer), for inspection. */
  redis(...args: string[]): Promise<RespValue>;
  close(): Promise<void>;
}

/** Commands that block or change connection state: they would stall or corrupt a shared one. */
const REFUSED = new Set([
  "BLPOP",
  "BRPOP",
  "BRPOPLPUSH",
  "BLMOVE",
  "BLMPOP",
  "BZPOPMIN",
  "BZPOPMAX",
  "BZMPOP",
  "SUBSCRIBE",
  "PSUBSCRIBE",
  "SSUBSCRIBE",
  "UNSUBSCRIBE",
  "PUNSUBSCRIBE",
  "MONITOR",
  "SYNC",
  "PSYNC",
  "SELECT",
  "MULTI",
  "EXEC",
  "DISCARD",
  "WATCH",
  "UNWATCH",
  "QUIT",
  "RESET",
  "AUTH",
  "HELLO",
  "CLIENT",
  "WAIT",
  "SHUTDOWN",
  "FLUSHALL",
  "DEBUG",
  // Administration: the token is an application's, not an operator's.
  "CONFIG",
  "FLUSHDB",
  "SAVE",
  "BGSAVE",
  "BGREWRITEAOF",
  "REPLICAOF",
  "SLAVEOF",
  "MODULE",
  "ACL",
  "MIGRATE",
  "SWAPDB",
  "FAILOVER",
  "CLUSTER",
  "FUNCTION",
  // O(all keys) in one call: SCAN walks the same keys a page at a time.
  "KEYS",
]); // deno-fmt-ignore

const enc = new TextEncoder();
const dec = new TextDecoder();

function why(cmd: string[]): string | undefined {
  const name = cmd[0].toUpperCase();
  if (REFUSED.has(name)) return `ERR ${name} is not supported by the REST bridge`;
  if (
    (name === "XREAD" || name === "XREADGROUP") && cmd.some((a) => a.toUpperCase() === "BLOCK")
  ) return `ERR ${name} BLOCK is not supported by the REST bridge`;
  return undefined;
}

async function sha1(text: string): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-1", enc.encode(text));
  return Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, "0")).join("");
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

const entry = (v: RespValue, b64: boolean) =>
  v instanceof RespError ? { error: v.message } : { result: toJson(v, b64) };

const asCommand = (c: unknown): string[] | undefined =>
  Array.isArray(c) && c.length > 0 && c.every((a) => a !== null && typeof a !== "object")
    ? c.map((a) => typeof a === "string" ? a : String(a))
    : undefined;

/**
 * The bridge's request handler over a Redis pool.
 *
 * @example
 * ```ts ignore
 * const handler = redisHttpHandler(new RedisPool(parseRedisUrl(url)), { token: "t" });
 * Deno.serve({ port: 8079 }, handler);
 * ```
 */
export function redisHttpHandler(
  pool: RedisPool,
  options: { token: string; maxBodyBytes?: number },
): (req: Request) => Promise<Response> {
  if (!options.token) throw new Error("the REST bridge needs a token (REDIS_HTTP_TOKEN)");
  const expected = `Bearer ${options.token}`;
  const maxBody = options.maxBodyBytes ?? 16 * 1024 * 1024;
  const scriptHashes = new Map<string, string>(); // client's sha1 → Redis's sha1

  async function rewrite(cmd: string[]): Promise<string[]> {
    const name = cmd[0].toUpperCase();
    if (name === "EVAL" || (name === "SCRIPT" && cmd[1]?.toUpperCase() === "LOAD")) {
      const i = name === "EVAL" ? 1 : 2;
      const original = cmd[i] ?? "";
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

  const fail = (error: string, status: number) => Response.json({ error }, { status });

  async function run(path: string, body: unknown, b64: boolean): Promise<Response> {
    if (path === "" || path === "/") {
      const cmd = asCommand(body);
      if (!cmd) return fail("ERR a command is a non-empty array of strings", 400);
      const refused = why(cmd);
      if (refused) return fail(refused, 400);
      const [reply] = await pool.send([await rewrite(cmd)]);
      const out = entry(reply, b64);
      return Response.json(out, { status: "error" in out ? 400 : 200 });
    }
    if (path !== "/pipeline" && path !== "/multi-exec") return fail("not found", 404);
    const cmds = Array.isArray(body) ? body.map(asCommand) : [];
    if (cmds.length === 0 || cmds.some((c) => !c)) {
      return fail("ERR a pipeline is a non-empty array of commands", 400);
    }
    const refused = (cmds as string[][]).map(why).find(Boolean);
    if (refused) return fail(refused, 400);
    const rewritten = await Promise.all((cmds as string[][]).map(rewrite));
    if (path === "/pipeline") {
      const replies = await pool.send(rewritten);
      return Response.json(replies.map((r) => entry(r, b64)));
    }
    const replies = await pool.send([["MULTI"], ...rewritten, ["EXEC"]]);
    const exec = replies[replies.length - 1];
    if (!Array.isArray(exec)) {
      const queued = replies.find((r) => r instanceof RespError) ?? exec;
      return fail(queued instanceof RespError ? queued.message : "EXECABORT", 400);
    }
    return Response.json(exec.map((r) => entry(r, b64)));
  }

  return async function redisHttp(req: Request): Promise<Response> {
    const path = new URL(req.url).pathname.replace(/\/+$/, "");
    try {
      if (req.method === "GET" && path === "/healthz") {
        const [pong] = await pool.send([["PING"]]);
        return pong instanceof SimpleString && pong.value === "PONG"
          ? Response.json({ ok: true, role: "redis-http" })
          : fail("redis did not answer PONG", 503);
      }
      if (req.headers.get("authorization") !== expected) return fail("Unauthorized", 401);
      if (req.method !== "POST") return fail("use POST", 405);
      if (Number(req.headers.get("content-length") ?? 0) > maxBody) {
        return fail("ERR request too large", 413);
      }
      const text = await req.text();
      if (text.length > maxBody) return fail("ERR request too large", 413);
      let body: unknown;
      try {
        body = JSON.parse(text);
      } catch {
        return fail("ERR malformed JSON", 400);
      }
      const b64 = req.headers.get("upstash-encoding")?.toLowerCase() === "base64";
      return await run(path, body, b64);
    } catch (err) {
      if (err instanceof RedisTimeout) return fail(`ERR ${err.message}`, 504);
      return fail(`ERR redis unavailable: ${err instanceof Error ? err.message : err}`, 503);
    }
  };
}

/**
 * The bridge's options from its environment: `REDIS_URL`, `REDIS_HTTP_TOKEN` (required), `PORT`
 * (default 8079), `REDIS_HTTP_HOSTNAME` (default 127.0.0.1; 0.0.0.0 in a container),
 * `REDIS_HTTP_TIMEOUT_MS`, `REDIS_HTTP_CONNECTIONS`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { redisHttpOptionsFromEnv } from "./redis_http.ts";
 * const o = redisHttpOptionsFromEnv({ REDIS_HTTP_TOKEN: "t", PORT: "9000" });
 * assert.equal(o.port, 9000);
 * assert.throws(() => redisHttpOptionsFromEnv({}), /REDIS_HTTP_TOKEN/);
 * ```
 */
export function redisHttpOptionsFromEnv(env: Record<string, string | undefined>): RedisHttpOptions {
  const token = env.REDIS_HTTP_TOKEN;
  if (!token) throw new Error("redis-http: set REDIS_HTTP_TOKEN (the bearer token clients send)");
  const number = (name: string) => {
    const raw = env[name];
    if (raw === undefined || raw === "") return undefined;
    const n = Number(raw);
    if (!Number.isInteger(n) || n < 0) throw new Error(`redis-http: ${name} must be a number`);
    return n;
  };
  return {
    token,
    redisUrl: env.REDIS_URL || undefined,
    port: number("PORT") ?? 8079,
    hostname: env.REDIS_HTTP_HOSTNAME || "127.0.0.1",
    timeoutMs: number("REDIS_HTTP_TIMEOUT_MS"),
    connections: number("REDIS_HTTP_CONNECTIONS"),
  };
}

/**
 * Starts a bridge.
 *
 * @example
 * ```ts ignore
 * const bridge = await startRedisHttp({ token: "t", redisUrl: "redis://127.0.0.1:6379/5" });
 * const redis = new Redis({ url: bridge.url, token: bridge.token });
 * await redis.set("k", "v");
 * await bridge.close();
 * ```
 */
export function startRedisHttp(options: RedisHttpOptions): Promise<RedisHttp> {
  const pool = new RedisPool(parseRedisUrl(options.redisUrl ?? "redis://127.0.0.1:6379"), {
    size: options.connections,
    timeoutMs: options.timeoutMs,
  });
  const handler = redisHttpHandler(pool, options);
  const server = Deno.serve(
    { port: options.port ?? 0, hostname: options.hostname ?? "127.0.0.1", onListen: () => {} },
    handler,
  );
  const host = options.hostname && options.hostname !== "0.0.0.0" ? options.hostname : "127.0.0.1";
  return Promise.resolve({
    url: `http://${host}:${server.addr.port}`,
    token: options.token,
    async redis(...args) {
      const [reply] = await pool.send([args]);
      return reply;
    },
    async close() {
      await server.shutdown();
      pool.close();
    },
  });
}
