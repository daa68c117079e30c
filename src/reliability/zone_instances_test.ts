import assert from "node:assert/strict";
import { ZoneInstances } from "./zone_instances.ts";

/** An instance that reads a request, then dies before answering (as under SIGKILL). */
function dyingInstance() {
  const listener = Deno.listen({ port: 0, hostname: "127.0.0.1" });
  let received = 0;
  (async () => {
    for await (const conn of listener) {
      const buf = new Uint8Array(4096);
      await conn.read(buf).catch(() => null);
      received++;
      conn.close();
    }
  })();
  return {
    url: `http://127.0.0.1:${(listener.addr as Deno.NetAddr).port}`,
    received: () => received,
    close: () => listener.close(),
  };
}

function liveInstance(name: string) {
  const paths: string[] = [];
  const server = Deno.serve({ port: 0, hostname: "127.0.0.1", onListen: () => {} }, (req) => {
    paths.push(`${req.method} ${new URL(req.url).pathname}`);
    return Response.json({ served_by: name });
  });
  return { url: `http://127.0.0.1:${server.addr.port}`, paths, close: () => server.shutdown() };
}

/** A port nothing listens on. */
function closedPortUrl(): string {
  const l = Deno.listen({ port: 0, hostname: "127.0.0.1" });
  const port = (l.addr as Deno.NetAddr).port;
  l.close();
  return `http://127.0.0.1:${port}`;
}

Deno.test("a query sent to an instance that dies before answering is answered by another", async () => {
  const dying = dyingInstance();
  const live = liveInstance("b");
  const zones = new ZoneInstances({ zones: { us: [dying.url, live.url] } });
  try {
    for (let i = 0; i < 4; i++) {
      const res = await zones.fetch(`${dying.url}/internal/v1/query`, {
        method: "POST",
        body: JSON.stringify({ sql: `SELECT ${i}` }),
      });
      assert.deepEqual(await res.json(), { served_by: "b" });
    }
    // The dead instance is tried again only as a last resort once marked down.
    assert.equal(dying.received(), 1);
    assert.deepEqual(zones.states().map((s) => s.healthy), [false, true]);
  } finally {
    dying.close();
    await live.close();
  }
});

Deno.test("a job submission is not resent after an instance died with it, only when never delivered", async () => {
  const dying = dyingInstance();
  const live = liveInstance("b");
  try {
    const zones = new ZoneInstances({ zones: { us: [dying.url, live.url] } });
    await assert.rejects(
      zones.fetch(`${dying.url}/internal/v1/jobs`, { method: "POST", body: "{}" }),
    );
    assert.deepEqual(live.paths, []);

    const refused = new ZoneInstances({ zones: { us: [closedPortUrl(), live.url] } });
    const res = await refused.fetch(`${live.url}/internal/v1/jobs`, { method: "POST", body: "{}" });
    assert.equal(res.status, 200);
    await res.body?.cancel();
    const again = await refused.fetch(`${live.url}/internal/v1/jobs`, {
      method: "POST",
      body: "{}",
    });
    await again.body?.cancel();
    assert.deepEqual(live.paths, ["POST /internal/v1/jobs", "POST /internal/v1/jobs"]);
  } finally {
    dying.close();
    await live.close();
  }
});

Deno.test("health checks take a dead instance out and put a recovered one back; load is spread", async () => {
  const a = liveInstance("a");
  const b = liveInstance("b");
  const zones = new ZoneInstances({ zones: { us: [a.url, b.url] } });
  try {
    const served = [];
    for (let i = 0; i < 4; i++) {
      const res = await zones.fetch(`${a.url}/internal/v1/query`, { method: "POST", body: "{}" });
      served.push((await res.json()).served_by);
    }
    assert.deepEqual(served.sort(), ["a", "a", "b", "b"]);
    await a.close();
    await zones.check();
    assert.deepEqual(zones.states().map((s) => s.healthy), [false, true]);
    const port = new URL(a.url).port;
    const back = Deno.serve(
      { port: Number(port), hostname: "127.0.0.1", onListen: () => {} },
      () => Response.json({ served_by: "a again" }),
    );
    await zones.check();
    assert.deepEqual(zones.states().map((s) => s.healthy), [true, true]);
    await back.shutdown();
  } finally {
    await b.close();
  }
});

Deno.test("a zone given as one address (a load balancer) is tried a second time", async () => {
  const dying = dyingInstance();
  try {
    const zones = new ZoneInstances({ zones: { us: [dying.url] } });
    await assert.rejects(
      zones.fetch(`${dying.url}/internal/v1/query`, { method: "POST", body: "{}" }),
    );
    assert.equal(dying.received(), 2);
  } finally {
    dying.close();
  }
});

Deno.test("a cancel reaches every instance of the zone, a down one included", async () => {
  const a = liveInstance("a");
  const b = liveInstance("b");
  const down = closedPortUrl();
  const zones = new ZoneInstances({ zones: { us: [a.url, b.url, down] } });
  try {
    const res = await zones.fetch(`${a.url}/internal/v1/cancel`, { method: "POST" });
    assert.equal(res.status, 200);
    await res.body?.cancel();
    assert.deepEqual([a.paths, b.paths], [["POST /internal/v1/cancel"], [
      "POST /internal/v1/cancel",
    ]]);
    // A query still goes to one instance.
    await (await zones.fetch(`${a.url}/internal/v1/query`, { method: "POST", body: "{}" })).body
      ?.cancel();
    assert.equal(a.paths.length + b.paths.length, 3);
  } finally {
    await a.close();
    await b.close();
  }
});
