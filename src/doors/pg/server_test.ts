import assert from "node:assert/strict";
import type { Gateway } from "../gateway.ts";
import { BackendBatch, readError, splitMessages } from "./protocol.ts";
import { startPgDoor } from "./server.ts";

/** Signs in `dev@acme` with the token `good`; sees no tables. */
const gateway: Gateway = (call) => {
  if (call.token !== "good") return Promise.resolve({ status: 401, body: null });
  if (call.path === "/v1/whoami") {
    return Promise.resolve({ status: 200, body: { user: "dev@acme", tenant: "acme" } });
  }
  return Promise.resolve({ status: 200, body: { tables: [] } });
};

function startup(user = "dev@acme"): Uint8Array {
  const body = new TextEncoder().encode(`user\0${user}\0database\0omnisql\0\0`);
  const out = new Uint8Array(8 + body.length);
  const view = new DataView(out.buffer);
  view.setInt32(0, out.length);
  view.setInt32(4, 196608);
  out.set(body, 8);
  return out;
}

const password = (token: string) => new BackendBatch().message("p", (w) => w.cstring(token)).take();

/** A message header declaring `length` (the body is not sent). */
function header(code: string | undefined, length: number): Uint8Array {
  const out = new Uint8Array(code ? 5 : 4);
  if (code) out[0] = code.charCodeAt(0);
  new DataView(out.buffer).setUint32(code ? 1 : 0, length);
  return out;
}

/**
 * Reads until the server closes (`code` is "still open" if it has not within 10 s); the FATAL it
 * sent, if any, and the codes of its messages.
 */
async function untilClosed(conn: Deno.Conn): Promise<{ code?: string; messages: string[] }> {
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

/** Signs in and reads up to the first ReadyForQuery. */
async function signIn(port: number): Promise<Deno.Conn> {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  await conn.write(startup());
  await conn.read(new Uint8Array(1024)); // AuthenticationCleartextPassword
  await conn.write(password("good"));
  let seen = "";
  const buf = new Uint8Array(4096);
  while (!seen.includes("Z")) {
    const n = await conn.read(buf);
    assert.ok(n !== null, "the door closed during login");
    seen += splitMessages(buf.subarray(0, n)).map(([c]) => c).join("");
  }
  return conn;
}

Deno.test("the Postgres door bounds what a client can make it hold", async (t) => {
  const door = await startPgDoor({ gateway, port: 0, maxConnections: 3, loginTimeoutMs: 500 });
  const connect = () => Deno.connect({ hostname: "127.0.0.1", port: door.port });
  try {
    await t.step("a start-up packet longer than Postgres allows is 08P01, unread", async () => {
      const conn = await connect();
      await conn.write(header(undefined, 0x7fffffff));
      // The client may go on sending; the door has already answered and closed.
      await conn.write(new Uint8Array(64 * 1024)).catch(() => {});
      assert.equal((await untilClosed(conn)).code, "08P01");
    });

    await t.step("a password message longer than a token is 08P01", async () => {
      const conn = await connect();
      await conn.write(startup());
      await conn.write(header("p", 10_000_000));
      assert.equal((await untilClosed(conn)).code, "08P01");
    });

    await t.step("after login, a statement longer than the door takes is 54000", async () => {
      const conn = await signIn(door.port);
      await conn.write(header("Q", 0x7ffffff0));
      assert.equal((await untilClosed(conn)).code, "54000");
    });

    await t.step("a statement near the limit still runs", async () => {
      const conn = await signIn(door.port);
      const blank = " ".repeat(900_000);
      await conn.write(new BackendBatch().message("Q", (w) => w.cstring(blank)).take());
      await conn.write(new BackendBatch().message("X").take());
      const { code, messages } = await untilClosed(conn);
      assert.equal(code, undefined);
      assert.deepEqual(messages, ["I", "Z"]); // EmptyQueryResponse, ReadyForQuery
    });

    await t.step("a client that does not sign in in time is closed", async () => {
      const silent = await connect();
      const started = await connect();
      await started.write(startup());
      const [silentEnd, startedEnd] = await Promise.all([
        untilClosed(silent),
        untilClosed(started),
      ]);
      assert.deepEqual(silentEnd.messages, []);
      assert.equal(startedEnd.code, "08006");
    });

    await t.step("one connection more than the limit is 53300; a signed-in one stays", async () => {
      const held = await Promise.all([signIn(door.port), signIn(door.port), signIn(door.port)]);
      assert.equal((await untilClosed(await connect())).code, "53300");
      // Past the login deadline, signed-in sessions are still open.
      await new Promise((resolve) => setTimeout(resolve, 600));
      await held[0].write(new BackendBatch().message("Q", (w) => w.cstring("")).take());
      const n = await held[0].read(new Uint8Array(1024));
      assert.ok(n !== null && n > 0);
      for (const conn of held) conn.close();
    });
  } finally {
    await door.close();
  }
});
