import assert from "node:assert/strict";
import { Registry } from "prom-client";
import { openTestCatalog } from "../catalog/testing.ts";
import { hmacHex } from "../crypto/hmac.ts";
import { Notifier } from "./notifier.ts";
import { NotifyTargets } from "./target.ts";
import { signingSecret } from "./tenant_settings.ts";

Deno.test("a notification is signed, retried with one delivery id after a 503, and delivered", async () => {
  const t = await openTestCatalog("pglite");
  const got: { headers: Headers; body: string }[] = [];
  const statuses = [503, 200];
  const server = Deno.serve({ port: 0, hostname: "127.0.0.1", onListen: () => {} }, async (req) => {
    got.push({ headers: req.headers, body: await req.text() });
    return new Response(null, { status: statuses.shift() ?? 200 });
  });
  try {
    const registry = new Registry();
    const notifier = new Notifier({
      catalog: t.catalog,
      targets: new NotifyTargets({ allowHosts: ["127.0.0.1"] }),
      retryDelaysMs: [10, 10],
      registry,
    });
    const result = await notifier.send({
      tenantId: "acme",
      url: `http://127.0.0.1:${server.addr.port}/hook?token=abc`,
      event: "job.finished",
      payload: { job_id: "j-1", status: "succeeded" },
      traceId: "t-1",
    });
    assert.deepEqual([result.delivered, result.attempts, result.status], [true, 2, 200]);
    assert.equal(got.length, 2);
    assert.equal(
      got[0].headers.get("x-omnisql-delivery"),
      got[1].headers.get("x-omnisql-delivery"),
    );
    const secret = await signingSecret(t.catalog, "acme");
    const ts = got[1].headers.get("x-omnisql-timestamp")!;
    assert.equal(
      got[1].headers.get("x-omnisql-signature"),
      `v1=${await hmacHex(secret, `${ts}.${got[1].body}`)}`,
    );
    assert.deepEqual(JSON.parse(got[1].body), { job_id: "j-1", status: "succeeded" });
    const metric = await registry.getSingleMetricAsString("omnisql_notifications_total");
    assert.match(metric, /outcome="delivered"} 1/);
    assert.ok(!metric.includes("token"), "the URL's query stays out of metrics");
    const audit = await t.catalog.tailAudit("acme", 1);
    assert.ok(audit[0].sql.includes("delivered") && !audit[0].sql.includes("abc"));
  } finally {
    await server.shutdown();
    await t.close();
  }
});

Deno.test("a 4xx answer gives up at once; a refused URL is never contacted", async () => {
  const t = await openTestCatalog("pglite");
  let hits = 0;
  const server = Deno.serve({ port: 0, hostname: "127.0.0.1", onListen: () => {} }, () => {
    hits++;
    return new Response(null, { status: 404 });
  });
  try {
    const notifier = (allow: string[]) =>
      new Notifier({
        catalog: t.catalog,
        targets: new NotifyTargets({ allowHosts: allow }),
        retryDelaysMs: [10, 10, 10],
      });
    const url = `http://127.0.0.1:${server.addr.port}/hook`;
    const gone = await notifier(["127.0.0.1"]).send({
      tenantId: "acme",
      url,
      event: "job.finished",
      payload: {},
      traceId: "t",
    });
    assert.deepEqual([gone.delivered, gone.attempts, hits], [false, 1, 1]);
    // Without the allow-list, loopback over http is refused before any connection.
    const refused = await notifier([]).send({
      tenantId: "acme",
      url,
      event: "job.finished",
      payload: {},
      traceId: "t",
    });
    assert.equal(refused.delivered, false);
    assert.match(refused.reason!, /refused: not_https/);
    assert.equal(hits, 1);
  } finally {
    await server.shutdown();
    await t.close();
  }
});

Deno.test("https delivery connects to the approved address and verifies the URL's host name", async () => {
  const t = await openTestCatalog("pglite");
  const dir = await Deno.makeTempDir();
  // A CA and a leaf certificate for hooks.test (a self-signed leaf is no trust anchor for rustls).
  const openssl = async (...args: string[]) => {
    const out = await new Deno.Command("openssl", {
      args,
      cwd: dir,
      stdout: "null",
      stderr: "null",
    })
      .output();
    assert.ok(out.success, `openssl ${args[0]}`);
  };
  const ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"];
  await Deno.writeTextFile(
    `${dir}/leaf.ext`,
    "subjectAltName=DNS:hooks.test\nbasicConstraints=CA:FALSE\n",
  );
  await openssl(
    "req",
    "-x509",
    ...ec,
    "-days",
    "1",
    "-subj",
    "/CN=omnisql-test-ca",
    "-addext",
    "basicConstraints=critical,CA:TRUE",
    "-keyout",
    "ca.key",
    "-out",
    "ca.pem",
  );
  await openssl("req", ...ec, "-subj", "/CN=hooks.test", "-keyout", "key.pem", "-out", "leaf.csr");
  await openssl(
    "x509",
    "-req",
    "-in",
    "leaf.csr",
    "-CA",
    "ca.pem",
    "-CAkey",
    "ca.key",
    "-CAcreateserial",
    "-days",
    "1",
    "-extfile",
    "leaf.ext",
    "-out",
    "cert.pem",
  );
  const ca = await Deno.readTextFile(`${dir}/ca.pem`);
  const cert = await Deno.readTextFile(`${dir}/cert.pem`);
  const key = await Deno.readTextFile(`${dir}/key.pem`);
  const got: string[] = [];
  const server = Deno.serve(
    { port: 0, hostname: "127.0.0.1", cert, key, onListen: () => {} },
    async (req) => {
      got.push(`${req.headers.get("host")} ${await req.text()}`);
      return new Response("ok");
    },
  );
  try {
    const port = server.addr.port;
    // "hooks.test" is known to no DNS: only the resolver's approved answer can be reached.
    const resolved: string[] = [];
    const targets = (answer: string) =>
      new NotifyTargets({
        allowHosts: [`hooks.test:${port}`],
        resolve: (host) => {
          resolved.push(host);
          return Promise.resolve([answer]);
        },
      });
    const send = (answer: string, url = `https://hooks.test:${port}/h`) =>
      new Notifier({
        catalog: t.catalog,
        targets: targets(answer),
        retryDelaysMs: [],
        caCerts: [ca],
      })
        .send({ tenantId: "acme", url, event: "job.finished", payload: { n: 1 }, traceId: "t" });
    const ok = await send("127.0.0.1");
    assert.equal(ok.delivered, true, ok.reason);
    assert.deepEqual(got, [`hooks.test:${port} {"n":1}`]);
    // Pinned to an address where nothing listens: not delivered, whatever the name means elsewhere.
    const elsewhere = await send("127.0.0.2");
    assert.equal(elsewhere.delivered, false);
    // The certificate must match the URL's host name, even at the approved address.
    const wrongName = await new Notifier({
      catalog: t.catalog,
      targets: new NotifyTargets({ allowHosts: [`127.0.0.1:${port}`] }),
      retryDelaysMs: [],
      caCerts: [ca],
    }).send({
      tenantId: "acme",
      url: `https://127.0.0.1:${port}/h`,
      event: "job.finished",
      payload: {},
      traceId: "t",
    });
    assert.equal(wrongName.delivered, false);
    assert.equal(got.length, 1);
    assert.ok(resolved.includes("hooks.test"));
  } finally {
    await server.shutdown();
    await Deno.remove(dir, { recursive: true });
    await t.close();
  }
});
