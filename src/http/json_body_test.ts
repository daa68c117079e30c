import assert from "node:assert/strict";
import { Hono } from "hono";
import { readJsonBody } from "./json_body.ts";
import { OmniError } from "../errors.ts";

/** An app that answers the body it read, or the error's code and message. */
function echoApp(timeoutMs?: number): Hono {
  const app = new Hono();
  app.post("/", async (c) => {
    try {
      return c.json({ body: await readJsonBody(c, 100, timeoutMs) });
    } catch (err) {
      const e = err as OmniError;
      return c.json({ code: e.code, message: e.message }, 400);
    }
  });
  return app;
}

Deno.test("readJsonBody() reads JSON and refuses bodies too large, not UTF-8 or not JSON", async () => {
  const app = echoApp();
  const post = async (body: BodyInit) =>
    await (await app.request("/", { method: "POST", body })).json();
  assert.deepEqual(await post('{"sql": "SELECT 1"}'), { body: { sql: "SELECT 1" } });
  assert.match((await post("x".repeat(101))).message, /exceeds 100 bytes/);
  assert.match((await post(new Uint8Array([0xff, 0xfe]))).message, /not valid UTF-8/);
  assert.match((await post("{")).message, /not valid JSON/);
  assert.match((await post("  ")).message, /empty/);
});

Deno.test("readJsonBody() stops waiting for a body that does not arrive", async () => {
  // A client that sends part of its body and then nothing more: the handler answers anyway.
  let cancelled = false;
  const body = new ReadableStream<Uint8Array>({
    start(controller) {
      controller.enqueue(new TextEncoder().encode('{"sql":'));
    },
    cancel() {
      cancelled = true;
    },
  });
  const res = await echoApp(50).request(
    "/",
    { method: "POST", body, duplex: "half" } as RequestInit,
  );
  assert.equal(res.status, 400);
  const answer = await res.json();
  assert.equal(answer.code, "INVALID_REQUEST");
  assert.match(answer.message, /did not arrive within 0.05 s/);
  assert.ok(cancelled, "the body stream was not cancelled");
});

Deno.test("readJsonBody() stops waiting for a body shorter than its Content-Length", async () => {
  // Over a real socket: a declared length is read whole, so the deadline must cover that read.
  const app = echoApp(100);
  const server = Deno.serve({ port: 0, hostname: "127.0.0.1", onListen() {} }, app.fetch);
  try {
    const conn = await Deno.connect({ port: server.addr.port, hostname: "127.0.0.1" });
    await conn.write(new TextEncoder().encode(
      "POST / HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: 50\r\n\r\n" +
        '{"sql":',
    ));
    const buf = new Uint8Array(4096);
    const n = await conn.read(buf);
    const text = new TextDecoder().decode(buf.subarray(0, n ?? 0));
    conn.close();
    assert.match(text, /^HTTP\/1.1 400/);
    assert.match(text, /did not arrive within 0.1 s/);
  } finally {
    await server.shutdown();
  }
});
