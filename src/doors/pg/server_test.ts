import assert from "node:assert/strict";
import type { Gateway } from "../gateway.ts";
import { BackendBatch } from "./protocol.ts";
import {
  header,
  password,
  query,
  signIn,
  signInOn,
  startup,
  untilClosed,
  untilReady,
} from "./testing.ts";
import { startPgDoor } from "./server.ts";

/** Signs in the token `user@tenant` as that user of that tenant; everyone sees no tables. */
const gateway: Gateway = (call) => {
  const [user, tenant] = [call.token, call.token?.split("@")[1]];
  if (!tenant) return Promise.resolve({ status: 401, body: null });
  if (call.path === "/v1/whoami") return Promise.resolve({ status: 200, body: { user, tenant } });
  return Promise.resolve({ status: 200, body: { tables: [] } });
};

Deno.test("the Postgres door bounds what a client can make it hold", async (t) => {
  const door = await startPgDoor({
    gateway,
    port: 0,
    maxConnections: 3,
    maxConnectionsPerTenant: 3,
    maxConnectionsPerUser: 3,
    loginTimeoutMs: 500,
  });
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

    await t.step("before login, anything but the password is 08P01", async () => {
      const conn = await connect();
      await conn.write(startup());
      await conn.write(query("SELECT 1"));
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
      await conn.write(query(blank));
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
      await held[0].write(query(""));
      assert.deepEqual(await untilReady(held[0]), ["I", "Z"]);
      for (const conn of held) conn.close();
      // The door sees them close before the next step counts its slots.
      await new Promise((resolve) => setTimeout(resolve, 200));
    });

    await t.step("connections that never sign in make room for one that does", async () => {
      const silent = await Promise.all([connect(), connect(), connect()]);
      const user = await signIn(door.port);
      // The oldest silent one was closed for it.
      assert.deepEqual(await untilClosed(silent[0]), { code: undefined, messages: [] });
      user.close();
      for (const conn of silent.slice(1)) conn.close();
    });

    await t.step("a query message holds at most 1,000 statements (54000)", async () => {
      const conn = await signIn(door.port);
      const statements = (n: number) => query("SET application_name = 'x';".repeat(n));
      await conn.write(statements(1_001));
      assert.deepEqual(await untilReady(conn), ["E 54000", "Z"]);
      // Nothing of it ran; the session goes on.
      await conn.write(statements(1_000));
      assert.equal((await untilReady(conn)).filter((c) => c === "C").length, 1_000);
      conn.close();
    });

    await t.step("settings: bounded; the identity fixed; the staleness a user's", async () => {
      const conn = await signIn(door.port);
      const set = async (sql: string) => {
        await conn.write(query(sql));
        return (await untilReady(conn)).filter((c) => c !== "S").join(" ");
      };
      assert.equal(await set("SET omnisql.max_staleness_ms = 0"), "C Z");
      assert.equal(await set("SET omnisql.max_staleness_ms = 'abc'"), "E 22023 Z");
      assert.equal(await set("SET omnisql.max_staleness_ms = -1"), "E 22023 Z");
      assert.equal(await set("SET omnisql.max_staleness_ms = 1e20"), "E 22023 Z");
      assert.equal(await set("SET omnisql.tenant = 'globex'"), "E 42501 Z");
      // A timeout longer than any query may run, or not a duration, is refused when set.
      assert.equal(await set("SET statement_timeout = '2min'"), "C Z");
      assert.equal(await set("SET statement_timeout = '3min'"), "E 22023 Z");
      assert.equal(await set("SET statement_timeout = 'soon'"), "E 22023 Z");
      assert.equal(await set(`SET app.big = '${"x".repeat(9_000)}'`), "E 54000 Z");
      let answer = "";
      for (let i = 0; i < 300 && answer !== "E 54000 Z"; i++) {
        answer = await set(`SET app.k${i} = 1`);
      }
      assert.equal(answer, "E 54000 Z");
      conn.close();
    });

    await t.step("a session holds at most 1,000 prepared statements (54000)", async () => {
      const conn = await signIn(door.port);
      const parse = (name: string) =>
        new BackendBatch().message("P", (w) => w.cstring(name).cstring("").int16(0)).take();
      const sync = new BackendBatch().message("S").take();
      for (let i = 0; i < 1_001; i++) await conn.write(parse(`s${i}`));
      await conn.write(sync);
      const replies = await untilReady(conn);
      assert.equal(replies.filter((c) => c === "1").length, 1_000);
      assert.deepEqual(replies.slice(-2), ["E 54000", "Z"]);
      // Closing one makes room for another.
      const close = new BackendBatch().message("C", (w) => w.string("S").cstring("s0")).take();
      await conn.write(close);
      await conn.write(parse("again"));
      await conn.write(sync);
      assert.deepEqual(await untilReady(conn), ["3", "1", "Z"]);
      conn.close();
    });
  } finally {
    await door.close();
  }
});

Deno.test("the Postgres door keeps a share of its connections for each tenant and user", async () => {
  const door = await startPgDoor({
    gateway,
    port: 0,
    maxConnections: 8,
    maxConnectionsPerTenant: 3,
    maxConnectionsPerUser: 2,
  });
  const open: Deno.Conn[] = [];
  try {
    /** The SQLSTATE that closes the connection once `user`'s password is sent. */
    const refusal = async (user: string) => {
      const conn = await Deno.connect({ hostname: "127.0.0.1", port: door.port });
      await conn.write(startup(user));
      await conn.read(new Uint8Array(1024));
      await conn.write(password(user));
      return (await untilClosed(conn)).code;
    };
    open.push(await signIn(door.port, "dev@acme"), await signIn(door.port, "dev@acme"));
    assert.equal(await refusal("dev@acme"), "53300");
    open.push(await signIn(door.port, "qa@acme"));
    assert.equal(await refusal("ops@acme"), "53300");
    // Another tenant still gets in.
    open.push(await signIn(door.port, "dev@globex"));
  } finally {
    for (const conn of open) conn.close();
    await door.close();
  }
});

Deno.test("the Postgres door signs in over TLS", async () => {
  const read = (name: string) => Deno.readTextFile(new URL(`./testdata/${name}`, import.meta.url));
  const door = await startPgDoor({
    gateway,
    port: 0,
    tls: { key: await read("localhost.key"), cert: await read("localhost.crt") },
  });
  try {
    const tcp = await Deno.connect({ hostname: "127.0.0.1", port: door.port });
    const sslRequest = new Uint8Array(8);
    new DataView(sslRequest.buffer).setInt32(0, 8);
    new DataView(sslRequest.buffer).setInt32(4, 80877103);
    await tcp.write(sslRequest);
    const answer = new Uint8Array(1);
    await tcp.read(answer);
    assert.equal(String.fromCharCode(answer[0]), "S");
    const tls = await signInOn(
      await Deno.startTls(tcp, { hostname: "localhost", caCerts: [await read("ca.crt")] }),
      "dev@acme",
    );
    await tls.write(query(""));
    assert.deepEqual(await untilReady(tls), ["I", "Z"]);
    tls.close();
    // Without TLS, the door refuses (28000) rather than read a password in the clear.
    const plain = await Deno.connect({ hostname: "127.0.0.1", port: door.port });
    await plain.write(startup());
    assert.equal((await untilClosed(plain)).code, "28000");
  } finally {
    await door.close();
  }
});
