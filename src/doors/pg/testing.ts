/**
 * Test support: a raw Postgres client, one protocol message at a time, for tests of the door
 * that a driver cannot express (bounds, malformed or unusual message sequences).
 *
 * @example
 * ```ts ignore
 * const conn = await signIn(door.port, "dev@acme", token);
 * await conn.write(query("SELECT 1"));
 * assert.deepEqual(await untilReady(conn), ["T", "D", "C", "Z"]);
 * ```
 *
 * @module
 */
import assert from "node:assert/strict";
import { BackendBatch, readError, splitMessages } from "./protocol.ts";

/** A start-up message signing in as `user` to database `omnisql`. */
export function startup(user = "dev@acme"): Uint8Array {
  const body = new TextEncoder().encode(`user\0${user}\0database\0omnisql\0\0`);
  const out = new Uint8Array(8 + body.length);
  const view = new DataView(out.buffer);
  view.setInt32(0, out.length);
  view.setInt32(4, 196608);
  out.set(body, 8);
  return out;
}

/** A PasswordMessage carrying `token`. */
export const password = (token: string) =>
  new BackendBatch().message("p", (w) => w.cstring(token)).take();

/** A message header declaring `length` (the body is not sent). */
export function header(code: string | undefined, length: number): Uint8Array {
  const out = new Uint8Array(code ? 5 : 4);
  if (code) out[0] = code.charCodeAt(0);
  new DataView(out.buffer).setUint32(code ? 1 : 0, length);
  return out;
}

/**
 * Reads until the server closes (`code` is "still open" if it has not within 10 s); the FATAL it
 * sent, if any, and the codes of its messages.
 */
export async function untilClosed(conn: Deno.Conn): Promise<{ code?: string; messages: string[] }> {
  let stillOpen = false;
  const giveUp = setTimeout(() => (stillOpen = true, conn.close()), 10_000);
  const chunks: Uint8Array[] = [];
  const buf = new Uint8Array(64 * 1024);
  for (;;) {
    const n = await conn.read(buf).catch(() => null);
    if (n === null) break;
    chunks.push(buf.slice(0, n));
  }
  if (stillOpen) return { code: "still open", messages: [] };
  clearTimeout(giveUp);
  conn.close();
  const bytes = new Uint8Array(chunks.reduce((n, c) => n + c.length, 0));
  let at = 0;
  for (const c of chunks) bytes.set(c, (at += c.length) - c.length);
  const messages = splitMessages(bytes);
  const error = messages.find(([code]) => code === "E");
  return { code: error && readError(error[1]).code, messages: messages.map(([code]) => code) };
}

/** Reads messages up to and including a ReadyForQuery; their codes (and errors' SQLSTATEs). */
export async function untilReady(conn: Deno.Conn): Promise<string[]> {
  const seen: string[] = [];
  let pending = new Uint8Array(0);
  const buf = new Uint8Array(64 * 1024);
  while (seen.at(-1) !== "Z") {
    const n = await conn.read(buf);
    assert.ok(n !== null, `the door closed after ${seen.join(" ")}`);
    const joined = new Uint8Array(pending.length + n);
    joined.set(pending);
    joined.set(buf.subarray(0, n), pending.length);
    let at = 0;
    while (at + 5 <= joined.length) {
      const length = 1 + new DataView(joined.buffer, at + 1, 4).getUint32(0);
      if (at + length > joined.length) break;
      const [[code, body]] = splitMessages(joined.subarray(at, at + length));
      seen.push(code === "E" ? `E ${readError(body).code}` : code);
      at += length;
    }
    pending = joined.slice(at);
  }
  return seen;
}

/** Signs in as `user` (its token is its name) and reads up to the first ReadyForQuery. */
export async function signIn(port: number, user = "dev@acme", token = user): Promise<Deno.Conn> {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  return await signInOn(conn, user, token);
}

export async function signInOn<C extends Deno.Conn>(
  conn: C,
  user: string,
  token = user,
): Promise<C> {
  await conn.write(startup(user));
  await conn.read(new Uint8Array(1024)); // AuthenticationCleartextPassword
  await conn.write(password(token));
  await untilReady(conn);
  return conn;
}

/** A simple-protocol Query message. */
export const query = (sql: string) => new BackendBatch().message("Q", (w) => w.cstring(sql)).take();
