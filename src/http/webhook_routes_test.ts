import assert from "node:assert/strict";
import { Hono } from "hono";
import { Registry } from "prom-client";
import {
  Invalidations,
  MemoryClaimStore,
  MemoryKvStore,
  ResultCache,
  TenantCache,
} from "../cache/mod.ts";
import { openTestCatalog, type TestCatalog } from "../catalog/testing.ts";
import { PLACEHOLDER_SANDBOXES } from "../catalog/demo.ts";
import { OmniError } from "../errors.ts";
import {
  type AppEnv,
  BodyIntake,
  EDGE_REFUSAL_FLOOR_MS,
  forwardWebhook,
  receiveWebhook,
  REFUSAL_FLOOR_MS,
  renderErrors,
  traceId,
} from "./mod.ts";
import { hmacHex } from "../crypto/hmac.ts";
import { MemoryRateLimiter } from "../ratelimit/mod.ts";
import { WebhookReceiver, type WebhookReceiverOptions } from "../webhooks/receiver.ts";
import { setWebhookSecret } from "../webhooks/secrets.ts";

const SECRET = "test-webhook-secret-0123";
const encoder = new TextEncoder();

async function setup(options: Partial<WebhookReceiverOptions> = {}) {
  const t: TestCatalog = await openTestCatalog("pglite", {
    seed: {
      ...PLACEHOLDER_SANDBOXES,
      linear: {
        acme: { url: "http://acme-linear.sandbox.invalid" },
        globex: { url: "http://globex-linear.sandbox.invalid" },
      },
    },
  });
  const cache = new TenantCache({ store: new MemoryKvStore(), keyRing: t.keyRing, zone: "us" });
  const invalidations = new Invalidations(cache);
  for (const name of ["github", "jira", "linear"]) {
    await setWebhookSecret(t.catalog, "acme", name, SECRET);
  }
  const receiver = new WebhookReceiver({
    catalog: t.catalog,
    zone: "us",
    invalidations,
    claims: new MemoryClaimStore(),
    ...options,
  });
  return { t, cache, invalidations, receiver };
}

function arrival(connection: string, headers: Record<string, string>, body: string) {
  return {
    tenantId: "acme",
    connection,
    headers: new Headers(headers),
    body: encoder.encode(body),
    traceId: "t-1",
  };
}

async function github(id: string, body: string, secret = SECRET) {
  return arrival("github", {
    "x-github-event": "pull_request",
    "x-github-delivery": id,
    "x-hub-signature-256": `sha256=${await hmacHex(secret, body)}`,
  }, body);
}

async function refused(p: Promise<unknown>) {
  await assert.rejects(p, (err) => err instanceof OmniError && err.code === "UNAUTHENTICATED");
}

const PR = '{"action":"closed","number":1,"repository":{"name":"mobile-app"}}';

/** A door's webhook route alone, as an app serves it. */
function routeOf(handler: ReturnType<typeof receiveWebhook>): Hono<AppEnv> {
  const app = new Hono<AppEnv>();
  app.use(traceId());
  app.onError(renderErrors);
  app.post("/v1/webhooks/:tenant/:connection", handler);
  return app;
}

Deno.test("a GitHub webhook signed with the connection's secret invalidates github.pull_requests", async () => {
  const { t, receiver, invalidations } = await setup();
  try {
    const before = Date.now() - 1;
    const outcome = await receiver.receive(await github("d-1", PR));
    assert.equal(outcome.status, "applied");
    assert.deepEqual(outcome.invalidated, ["github.pull_requests"]);
    assert.ok(await invalidations.watermark("acme", "github.pull_requests") > before);
    assert.equal(await invalidations.watermark("acme", "jira.issues"), 0);
    const audit = await t.catalog.tailAudit("acme", 5);
    assert.ok(audit.some((r) => r.userEmail === "webhook:github" && r.sql.includes("d-1")));
  } finally {
    await t.close();
  }
});

Deno.test("a GitHub webhook with a bad, foreign or missing signature is refused and changes nothing", async () => {
  const { t, receiver, invalidations } = await setup();
  try {
    await refused(receiver.receive(await github("d-1", PR, "another-secret-entirely")));
    const tampered = await github("d-2", PR);
    tampered.body = encoder.encode(PR.replace("closed", "opened"));
    await refused(receiver.receive(tampered));
    await refused(receiver.receive(arrival("github", {
      "x-github-event": "pull_request",
      "x-github-delivery": "d-3",
    }, PR)));
    // sha1 (the legacy X-Hub-Signature) is not accepted in place of sha256.
    await refused(receiver.receive(arrival("github", {
      "x-github-event": "pull_request",
      "x-github-delivery": "d-4",
      "x-hub-signature-256": `sha1=${(await hmacHex(SECRET, PR)).slice(0, 40)}`,
    }, PR)));
    assert.equal(await invalidations.watermark("acme", "github.pull_requests"), 0);
    // The signed delivery id was not spent by the refused attempts.
    assert.equal((await receiver.receive(await github("d-1", PR))).status, "applied");
  } finally {
    await t.close();
  }
});

Deno.test("a replayed GitHub delivery id is acknowledged and ignored", async () => {
  const { t, receiver, invalidations } = await setup();
  try {
    await receiver.receive(await github("d-9", PR));
    const mark = await invalidations.watermark("acme", "github.pull_requests");
    await new Promise((r) => setTimeout(r, 5));
    const again = await receiver.receive(await github("d-9", PR));
    assert.equal(again.status, "ignored");
    assert.equal(again.reason, "replayed");
    assert.deepEqual(again.invalidated, []);
    assert.equal(await invalidations.watermark("acme", "github.pull_requests"), mark);
  } finally {
    await t.close();
  }
});

Deno.test("the deliveries metric counts every refusal alike: it does not tell which connections have a secret", async () => {
  const registry = new Registry();
  const { t, receiver } = await setup({ registry });
  try {
    await refused(receiver.receive(await github("d-m1", PR, "not-the-secret"))); // a secret is set
    await refused(receiver.receive({ ...(await github("d-m2", PR)), connection: "salesforce" }));
    await refused(receiver.receive({ ...(await github("d-m3", PR)), tenantId: "nobody" }));
    const metric = await registry.getSingleMetricAsString("omnisql_webhooks_total");
    assert.match(metric, /omnisql_webhooks_total\{connector="unknown",outcome="rejected"\} 3/);
    assert.ok(!metric.includes('connector="github"'), metric);
  } finally {
    await t.close();
  }
});

Deno.test("unknown tenants, connections without a secret and other zones' tenants are refused alike", async () => {
  const { t, receiver } = await setup();
  try {
    const signed = await github("d-1", PR);
    await refused(receiver.receive({ ...signed, tenantId: "nobody" }));
    await refused(receiver.receive({ ...signed, connection: "salesforce" }));
    await setWebhookSecret(t.catalog, "globex", "github", SECRET);
    await refused(receiver.receive({ ...signed, tenantId: "globex" }));
  } finally {
    await t.close();
  }
});

async function linear(id: string, sentAt: number, secret = SECRET) {
  const body = JSON.stringify({
    action: "update",
    type: "Issue",
    data: { id: "x" },
    webhookTimestamp: sentAt,
  });
  return arrival("linear", {
    "linear-event": "Issue",
    "linear-delivery": id,
    "linear-signature": await hmacHex(secret, body),
  }, body);
}

Deno.test("Linear: Linear-Signature verifies, an old webhookTimestamp is ignored, a replay is ignored", async () => {
  const { t, receiver, invalidations } = await setup({ windowMs: 60_000 });
  try {
    await refused(receiver.receive(await linear("l-1", Date.now(), "wrong-secret-xxxxxxxx")));
    const old = await receiver.receive(await linear("l-2", Date.now() - 120_000));
    assert.equal(old.reason, "outside_window");
    assert.equal(await invalidations.watermark("acme", "linear.issues"), 0);
    const fresh = await receiver.receive(await linear("l-3", Date.now()));
    assert.deepEqual(fresh.invalidated, ["linear.issues"]);
    assert.equal((await receiver.receive(await linear("l-3", Date.now()))).reason, "replayed");
  } finally {
    await t.close();
  }
});

async function jira(id: string, timestamp: number, signature?: string) {
  const body = JSON.stringify({
    webhookEvent: "jira:issue_updated",
    timestamp,
    issue: { key: "MOB-1" },
  });
  return arrival("jira", {
    "x-atlassian-webhook-identifier": id,
    "x-hub-signature": signature ?? `sha256=${await hmacHex(SECRET, body)}`,
  }, body);
}

Deno.test("Jira: X-Hub-Signature sha256= verifies; bad ones, old events and replays change nothing", async () => {
  const { t, receiver, invalidations } = await setup({ windowMs: 60_000 });
  try {
    await refused(receiver.receive(await jira("j-1", Date.now(), `sha256=${"0".repeat(64)}`)));
    await refused(receiver.receive(await jira("j-1", Date.now(), "not-a-signature")));
    assert.equal(
      (await receiver.receive(await jira("j-2", Date.now() - 3_600_000))).reason,
      "outside_window",
    );
    assert.equal(await invalidations.watermark("acme", "jira.issues"), 0);
    assert.deepEqual((await receiver.receive(await jira("j-3", Date.now()))).invalidated, [
      "jira.issues",
    ]);
    assert.equal((await receiver.receive(await jira("j-3", Date.now()))).reason, "replayed");
  } finally {
    await t.close();
  }
});

Deno.test("a webhook stops the result cache serving answers built from its table, and only those", async () => {
  const { t, receiver, cache } = await setup();
  try {
    const results = new ResultCache(cache);
    const answer = (table: string) => ({
      rows: [{ n: 1 }],
      freshness_ms: 10,
      sources: [{ table, freshness_ms: 10 }],
    });
    await results.put("acme", "fp", "q-prs", answer("github.pull_requests"), 600_000);
    await results.put("acme", "fp", "q-jira", answer("jira.issues"), 600_000);
    assert.ok(await results.get("acme", "fp", "q-prs"));
    await receiver.receive(await github("d-1", PR));
    assert.equal(await results.get("acme", "fp", "q-prs"), undefined);
    assert.ok(await results.get("acme", "fp", "q-jira"));
    // An answer built after the webhook is served again.
    await new Promise((r) => setTimeout(r, 5));
    await results.put(
      "acme",
      "fp",
      "q-prs",
      answer("github.pull_requests"),
      600_000,
      Date.now() + 10,
    );
    assert.ok(await results.get("acme", "fp", "q-prs"));
  } finally {
    await t.close();
  }
});

Deno.test("the webhook route refuses a body over the cap with 413 and a bad signature with 401", async () => {
  const { t, receiver, invalidations } = await setup();
  try {
    const app = new Hono<AppEnv>();
    app.use(traceId());
    app.onError(renderErrors);
    const limiter = new MemoryRateLimiter();
    app.post(
      "/v1/webhooks/:tenant/:connection",
      // No floor: 650 refusals follow.
      receiveWebhook(receiver, { limiter, maxBytes: 1024, refusalFloorMs: 0 }),
    );
    const big = JSON.stringify({ pad: "x".repeat(2048) });
    const signed = await github("d-big", big);
    const res = await app.request("/v1/webhooks/acme/github", {
      method: "POST",
      headers: signed.headers,
      body: big,
    });
    assert.equal(res.status, 413);
    assert.equal((await res.json()).error.code, "PAYLOAD_TOO_LARGE");
    const bad = await app.request("/v1/webhooks/acme/github", {
      method: "POST",
      headers: {
        "x-github-event": "pull_request",
        "x-github-delivery": "d",
        "x-hub-signature-256": "sha256=00",
      },
      body: PR,
    });
    assert.equal(bad.status, 401);
    const body = await bad.text();
    assert.ok(!body.includes(SECRET));
    const ok = await app.request("/v1/webhooks/acme/github", {
      method: "POST",
      headers: (await github("d-ok", PR)).headers,
      body: PR,
    });
    assert.equal(ok.status, 200);
    assert.ok(await invalidations.watermark("acme", "github.pull_requests") > 0);
    // Unsigned deliveries past the budget's size spend nothing: the app's real ones still land.
    for (let i = 0; i < 650; i++) {
      const forged = await app.request("/v1/webhooks/acme/github", {
        method: "POST",
        headers: { "x-github-event": "pull_request", "x-hub-signature-256": "sha256=00" },
        body: PR,
      });
      assert.equal(forged.status, 401);
    }
    const real = await app.request("/v1/webhooks/acme/github", {
      method: "POST",
      headers: (await github("d-after-forgeries", PR)).headers,
      body: PR,
    });
    assert.equal(real.status, 200);
    // Verified deliveries past the per-connection budget are cut off (a flood guard).
    await limiter.limit("webhook:acme:github", { tokens: 600, windowMs: 60_000 }, 600);
    const flooded = await app.request("/v1/webhooks/acme/github", {
      method: "POST",
      headers: (await github("d-flood", PR)).headers,
      body: PR,
    });
    assert.equal(flooded.status, 429);
    const refusal = (await flooded.json()).error;
    assert.equal(refusal.details.level, "webhook");
    assert.ok(!refusal.message.includes("metadata.async"));
  } finally {
    await t.close();
  }
});

Deno.test("the edge answers a direct-only tenant's webhook, or one for a zone without a worker, as it answers an unknown tenant's", async () => {
  const { t } = await setup();
  try {
    const forwarded: string[] = [];
    const app = new Hono<AppEnv>();
    app.use(traceId());
    app.onError(renderErrors);
    app.post(
      "/v1/webhooks/:tenant/:connection",
      forwardWebhook({
        catalog: t.catalog,
        zoneUrls: { us: "http://us.zone.invalid" }, // globex lives in eu: no worker here
        fetch: (input) => {
          forwarded.push(String(input));
          return Promise.resolve(Response.json({ ignored: true }));
        },
      }),
    );
    const deliver = async (tenant: string) => {
      const res = await app.request(`/v1/webhooks/${tenant}/github`, {
        method: "POST",
        headers: (await github(`d-${tenant}`, PR)).headers,
        body: PR,
      });
      const body = await res.json();
      return { status: res.status, code: body.error?.code, message: body.error?.message };
    };
    const unknown = await deliver("nobody");
    assert.equal(unknown.status, 401);
    assert.deepEqual(await deliver("globex"), unknown);
    await t.catalog.setTenantDirectOnly("acme", true);
    assert.deepEqual(await deliver("acme"), unknown);
    assert.deepEqual(forwarded, []);
    await t.catalog.setTenantDirectOnly("acme", false);
    assert.equal((await deliver("acme")).status, 200);
    assert.deepEqual(forwarded, ["http://us.zone.invalid/v1/webhooks/acme/github"]);
  } finally {
    await t.close();
  }
});

Deno.test("a refused webhook takes as long whatever exists: unknown tenant, unknown connection or bad signature, at the zone and at the edge", async () => {
  const { t, receiver } = await setup();
  try {
    const zone = routeOf(receiveWebhook(receiver, { limiter: new MemoryRateLimiter() }));
    const edge = routeOf(forwardWebhook({
      catalog: t.catalog,
      zoneUrls: { us: "http://us.zone.invalid" },
      fetch: (input, init) => Promise.resolve(zone.request(String(input), init)),
    }));
    let deliveries = 0;
    const timed = async (app: Hono<AppEnv>, path: string, secret: string) => {
      const started = performance.now();
      const res = await app.request(path, {
        method: "POST",
        headers: (await github(`d-timed-${++deliveries}`, PR, secret)).headers,
        body: PR,
      });
      await res.body?.cancel();
      return { status: res.status, ms: performance.now() - started };
    };
    const refusals = [
      ["/v1/webhooks/nobody/github", SECRET], // no such tenant
      ["/v1/webhooks/acme/salesforce", SECRET], // no secret for that connection
      ["/v1/webhooks/acme/github", "not-the-secret"], // bad signature
    ];
    for (const [path, secret] of refusals) {
      const atZone = await timed(zone, path, secret);
      assert.equal(atZone.status, 401, path);
      assert.ok(atZone.ms >= REFUSAL_FLOOR_MS - 1, `${path}: ${atZone.ms} ms at the zone`);
      const atEdge = await timed(edge, path, secret);
      assert.equal(atEdge.status, 401, path);
      assert.ok(atEdge.ms >= EDGE_REFUSAL_FLOOR_MS - 1, `${path}: ${atEdge.ms} ms at the edge`);
    }
    // The edge's floor covers the zone's and the hop: a tenant the edge forwards is not told
    // apart from one it refuses itself by a refusal that comes later.
    assert.ok(EDGE_REFUSAL_FLOOR_MS >= REFUSAL_FLOOR_MS + 50);
    assert.equal((await timed(edge, "/v1/webhooks/acme/github", SECRET)).status, 200);
  } finally {
    await t.close();
  }
});

/** A zone's webhook route and an edge forwarding to it (the zone of acme), each with its intake. */
function intakeDoors(
  t: TestCatalog,
  receiver: WebhookReceiver,
  zoneIntake: BodyIntake,
  edgeIntake: BodyIntake,
  edgeFloorMs?: number,
) {
  const zone = routeOf(
    receiveWebhook(receiver, { limiter: new MemoryRateLimiter(), intake: zoneIntake }),
  );
  const edge = routeOf(forwardWebhook({
    catalog: t.catalog,
    zoneUrls: { us: "http://us.zone.invalid", eu: "http://eu.zone.invalid" },
    fetch: (input, init) => Promise.resolve(zone.request(String(input), init)),
    intake: edgeIntake,
    ...(edgeFloorMs !== undefined ? { refusalFloorMs: edgeFloorMs } : {}),
  }));
  return { zone, edge };
}

Deno.test("a zone's full intake reaches the edge's caller as a refusal: it does not tell which tenants live in that zone", async () => {
  const { t, receiver } = await setup();
  try {
    const zoneIntake = new BodyIntake(1_000);
    const { edge } = intakeDoors(t, receiver, zoneIntake, new BodyIntake(), 0);
    const held = zoneIntake.open(0);
    held.take(1_000); // filled through the zone's own endpoint
    const deliver = async (tenant: string) => {
      const res = await edge.request(`/v1/webhooks/${tenant}/github`, {
        method: "POST",
        headers: { "x-hub-signature-256": "sha256=00", "content-length": "600" },
        body: "x".repeat(600),
      });
      const body = await res.json();
      return { status: res.status, code: body.error?.code, message: body.error?.message };
    };
    const unknown = await deliver("nobody");
    assert.equal(unknown.status, 401);
    assert.deepEqual(await deliver("acme"), unknown);
    held.release();
  } finally {
    await t.close();
  }
});

Deno.test("while forged bodies fill a door's intake, more are refused unread with 429 at both doors, and a delivery lands once they are answered", async () => {
  const { t, receiver } = await setup();
  try {
    const zoneIntake = new BodyIntake(1_000);
    const edgeIntake = new BodyIntake(1_000);
    const { zone, edge } = intakeDoors(t, receiver, zoneIntake, edgeIntake);
    const forged = "x".repeat(600);
    const post = (app: Hono<AppEnv>, headers: Record<string, string>, body: string) =>
      app.request("/v1/webhooks/acme/github", {
        method: "POST",
        headers: { ...headers, "content-length": String(body.length) },
        body,
      });
    for (
      const [door, app, intake] of [["zone", zone, zoneIntake], ["edge", edge, edgeIntake]] as const
    ) {
      // A forged delivery is held through its refusal floor, 600 of the intake's 1,000 bytes.
      const first = post(app, { "x-hub-signature-256": "sha256=00" }, forged);
      await new Promise((resolve) => setTimeout(resolve, 50));
      assert.equal(intake.heldBytes, 600, door);
      const second = await post(app, { "x-hub-signature-256": "sha256=00" }, forged);
      assert.equal(second.status, 429, door);
      assert.ok(Number(second.headers.get("retry-after")) >= 1, door);
      const refusal = (await second.json()).error;
      assert.equal(refusal.code, "RATE_LIMIT_EXHAUSTED", door);
      assert.equal(refusal.details.level, "intake", door);
      assert.equal((await first).status, 401, door);
      assert.equal(intake.heldBytes, 0, door);
      const real = await github(`d-intake-${door}`, PR);
      const landed = await post(app, Object.fromEntries(real.headers), PR);
      assert.equal(landed.status, 200, door);
      // A sender trickling its body holds only the bytes it sent, whatever it declares.
      let trickle!: ReadableStreamDefaultController<Uint8Array>;
      const slow = app.request("/v1/webhooks/acme/github", {
        method: "POST",
        headers: { "x-hub-signature-256": "sha256=00" },
        body: new ReadableStream<Uint8Array>({
          start(controller) {
            trickle = controller;
            controller.enqueue(encoder.encode("x".repeat(100)));
          },
        }),
      });
      await new Promise((resolve) => setTimeout(resolve, 50));
      assert.equal(intake.heldBytes, 100, door);
      const beside = await github(`d-beside-slow-${door}`, PR);
      assert.equal((await post(app, Object.fromEntries(beside.headers), PR)).status, 200, door);
      trickle.close();
      assert.equal((await slow).status, 401, door);
      assert.equal(intake.heldBytes, 0, door);
    }
  } finally {
    await t.close();
  }
});
