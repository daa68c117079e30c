/**
 * Webhooks, cost guardrails and job notifications end to end on the local stack: a change in
 * the GitHub sandbox reaches a query through a signed webhook despite a long `max_staleness_ms`;
 * app calls are counted and a spent cost budget refuses with 429 level `cost` until a burst;
 * alerts and job ends are posted, signed, to a receiver on this machine (loopback is
 * allow-listed locally); notify URLs that break the rules are refused at submission.
 */
import assert from "node:assert/strict";
import { DEMO_GITHUB } from "../src/catalog/demo.ts";
import { hmacHex } from "../src/crypto/hmac.ts";
import { grantBurst, setCostBudget } from "../src/cost/budgets.ts";
import { usageReport } from "../src/cost/report.ts";
import { setAlertUrl, signingSecret } from "../src/notify/tenant_settings.ts";
import { setWebhookSecret } from "../src/webhooks/secrets.ts";
import { postQuery, startTestStack, tokenFor } from "./_stack.ts";

const opts = { sanitizeResources: false, sanitizeOps: false };
const TOKEN = DEMO_GITHUB.acme.credentials.token;

/** A receiver of signed posts on a free loopback port. */
function receiver() {
  const got: { headers: Headers; body: string }[] = [];
  const server = Deno.serve({ port: 0, hostname: "127.0.0.1", onListen: () => {} }, async (req) => {
    got.push({ headers: req.headers, body: await req.text() });
    return new Response("ok");
  });
  return { url: `http://127.0.0.1:${server.addr.port}/hook`, got, close: () => server.shutdown() };
}

/** Workers re-read a connection's budget at most once a second. */
const budgetsReread = () => new Promise((r) => setTimeout(r, 1100));

async function until<T>(read: () => T | undefined, what: string): Promise<T> {
  for (let i = 0; i < 100; i++) {
    const v = read();
    if (v !== undefined) return v;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`timed out waiting for ${what}`);
}

Deno.test("webhooks, cost guardrails and job notifications on the local stack", opts, async (t) => {
  const stack = await startTestStack();
  const sink = receiver();
  try {
    const admin = await tokenFor(stack, "acme", "admin@acme");
    const gh = stack.sandboxes.urls.github.url;
    const query = (sql: string, metadata: Record<string, unknown>) =>
      postQuery(stack.edgeUrl, admin, { sql, metadata });

    await t.step(
      "a pull request merged in the sandbox reaches a query through its webhook",
      async () => {
        const secret = "e2e-webhook-secret-0123456789";
        await setWebhookSecret(stack.catalog, "acme", "github", secret);
        const hook = await fetch(`${gh}/repos/acme/mobile-app/hooks`, {
          method: "POST",
          headers: { authorization: `Bearer ${TOKEN}` },
          body: JSON.stringify({
            config: { url: `${stack.edgeUrl}/v1/webhooks/acme/github`, secret },
            events: ["pull_request"],
          }),
        });
        assert.equal(hook.status, 201);
        await hook.body?.cancel();
        const open =
          await (await fetch(`${gh}/repos/acme/mobile-app/pulls?state=open&per_page=100`, {
            headers: { authorization: `Bearer ${TOKEN}` },
          })).json() as { number: number }[];
        assert.ok(open.length > 0, "the sandbox has an open pull request in mobile-app");

        const sql =
          "SELECT count(*) AS n FROM github.pull_requests WHERE repo = 'mobile-app' AND status = 'merged'";
        const first = await query(sql, { max_staleness_ms: 600_000 });
        assert.equal(first.status, 200, JSON.stringify(first.body));
        const cached = await query(sql, { max_staleness_ms: 600_000 });
        assert.equal(cached.body.from_cache, true);
        const before = (first.body.rows as { n: number }[])[0].n;

        const changed = await fetch(
          `${gh}/_sandbox/repos/acme/mobile-app/pulls/${open[0].number}`,
          {
            method: "POST",
            headers: { authorization: `Bearer ${TOKEN}` },
            body: JSON.stringify({ merged: true }),
          },
        );
        const delivered = await changed.json();
        assert.equal(delivered.deliveries[0].status, 200, JSON.stringify(delivered));

        const after = await query(sql, { max_staleness_ms: 600_000 });
        assert.equal(after.status, 200);
        assert.equal(after.body.from_cache, false, "the webhook invalidated the cached answer");
        assert.equal((after.body.rows as { n: number }[])[0].n, before + 1);
      },
    );

    await t.step("Jira and Linear sandboxes' signed webhooks reach queries too", async () => {
      const urls = stack.sandboxes.urls;
      const cases = [
        {
          connection: "jira",
          base: urls.jira.acme.url,
          sql:
            "SELECT issue_key AS id, summary AS text FROM jira.issues ORDER BY issue_key LIMIT 1",
          change: (id: string) => [`/_sandbox/issues/${id}`, { summary: "changed through Jira" }],
          expect: "changed through Jira",
        },
        {
          connection: "linear",
          base: urls.linear!.acme.url,
          sql:
            "SELECT identifier AS id, title AS text FROM linear.issues ORDER BY identifier LIMIT 1",
          change: (id: string) => [`/_sandbox/issues/${id}`, { title: "changed through Linear" }],
          expect: "changed through Linear",
        },
      ] as const;
      for (const c of cases) {
        const secret = `e2e-${c.connection}-secret-0123456789`;
        await setWebhookSecret(stack.catalog, "acme", c.connection, secret);
        const sub = await fetch(`${c.base}/_sandbox/webhooks`, {
          method: "POST",
          body: JSON.stringify({
            url: `${stack.edgeUrl}/v1/webhooks/acme/${c.connection}`,
            secret,
          }),
        });
        assert.equal(sub.status, 201);
        await sub.body?.cancel();
        const first = await query(c.sql, { max_staleness_ms: 600_000 });
        assert.equal(first.status, 200, JSON.stringify(first.body));
        const row = (first.body.rows as { id: string; text: string }[])[0];
        assert.equal((await query(c.sql, { max_staleness_ms: 600_000 })).body.from_cache, true);
        const [path, change] = c.change(row.id);
        const res = await fetch(`${c.base}${path}`, {
          method: "POST",
          body: JSON.stringify(change),
        });
        const sent = await res.json();
        assert.equal(sent.deliveries[0].status, 200, JSON.stringify(sent));
        const after = await query(c.sql, { max_staleness_ms: 600_000 });
        assert.equal(after.body.from_cache, false, c.connection);
        assert.equal((after.body.rows as { text: string }[])[0].text, c.expect);
      }
    });

    await t.step("app calls are counted per connection and day", async () => {
      const report = await usageReport(stack.catalog, "acme");
      const github = report.connections.find((c) => c.connection === "github");
      assert.ok(github && github.calls > 0, JSON.stringify(report));
      assert.equal(github.days.at(-1)?.day, new Date().toISOString().slice(0, 10));
    });

    await t.step(
      "tenant admins see the usage report over HTTP (the console's view); others do not",
      async () => {
        const get = async (token: string) => {
          const res = await fetch(`${stack.edgeUrl}/v1/usage`, {
            headers: { authorization: `Bearer ${token}` },
          });
          return { status: res.status, body: await res.json() };
        };
        const mine = await get(admin);
        assert.equal(mine.status, 200);
        assert.ok(
          mine.body.connections.some((c: { connection: string; calls: number }) =>
            c.connection === "github" && c.calls > 0
          ),
        );
        const dev = await get(await tokenFor(stack, "acme", "dev@acme"));
        assert.equal(dev.status, 403);
        assert.equal(dev.body.error.code, "ENTITLEMENT_DENIED");
      },
    );

    await t.step(
      "a spent cost budget answers 429 level cost, alerts once, and a burst lifts it",
      async () => {
        await setAlertUrl(stack.catalog, "acme", sink.url);
        const used = (await usageReport(stack.catalog, "acme")).connections
          .find((c) => c.connection === "github")!.calls;
        // The next fetch's calls take the connection past 100%: every level fires, once.
        await setCostBudget(stack.catalog, "acme", "github", { calls: used + 1, period: "month" });
        await budgetsReread();
        const sql = "SELECT count(*) AS n FROM github.pull_requests WHERE repo = 'web-app'";
        const spend = await query(sql, { max_staleness_ms: 0 });
        assert.equal(spend.status, 200, JSON.stringify(spend.body));
        const refused = await query(sql, { max_staleness_ms: 0 });
        assert.equal(
          refused.status,
          429,
          JSON.stringify([spend.body.sources, refused.body.sources]),
        );
        const error = refused.body.error as { code: string; details: Record<string, unknown> };
        assert.equal(error.code, "RATE_LIMIT_EXHAUSTED");
        assert.equal(error.details.level, "cost");
        assert.ok(Number(refused.headers.get("retry-after")) > 0);

        const alerts = await until(
          () =>
            sink.got.filter((g) => g.headers.get("x-omnisql-event") === "cost.alert").length >= 3
              ? sink.got.filter((g) => g.headers.get("x-omnisql-event") === "cost.alert")
              : undefined,
          "three cost alerts",
        );
        assert.deepEqual(alerts.map((a) => JSON.parse(a.body).level).sort(), [100, 80, 90]);
        const secret = await signingSecret(stack.catalog, "acme");
        for (const a of alerts) {
          const ts = a.headers.get("x-omnisql-timestamp")!;
          assert.equal(
            a.headers.get("x-omnisql-signature"),
            `v1=${await hmacHex(secret, `${ts}.${a.body}`)}`,
          );
        }

        await grantBurst(stack.catalog, "acme", "github", 1000);
        await budgetsReread();
        const again = await query(sql, { max_staleness_ms: 0 });
        assert.equal(again.status, 200, JSON.stringify(again.body));
        assert.equal(
          sink.got.filter((g) => g.headers.get("x-omnisql-event") === "cost.alert").length,
          3,
        );
        await setCostBudget(stack.catalog, "acme", "github", null);
      },
    );

    await t.step("a job's end is posted, signed, to its notify_url", async () => {
      const submitted = await query("SELECT count(*) AS n FROM jira.issues", {
        async: true,
        max_staleness_ms: 0,
        notify_url: sink.url,
      });
      assert.equal(submitted.status, 202, JSON.stringify(submitted.body));
      const jobId = submitted.body.job_id as string;
      const note = await until(
        () => sink.got.find((g) => g.headers.get("x-omnisql-event") === "job.finished"),
        "the job notification",
      );
      const payload = JSON.parse(note.body);
      assert.equal(payload.job_id, jobId);
      assert.equal(payload.status, "succeeded");
      assert.equal(payload.rows, undefined, "no result data in the notification");
      const secret = await signingSecret(stack.catalog, "acme");
      const ts = note.headers.get("x-omnisql-timestamp")!;
      assert.equal(
        note.headers.get("x-omnisql-signature"),
        `v1=${await hmacHex(secret, `${ts}.${note.body}`)}`,
      );
      // A failing job is notified too, with its error code.
      const failing = await query("SELECT nope FROM jira.issues", {
        async: true,
        notify_url: sink.url,
      });
      assert.equal(failing.status, 202, JSON.stringify(failing.body));
      const failed = await until(
        () => sink.got.map((g) => JSON.parse(g.body)).find((p) => p.job_id === failing.body.job_id),
        "the failed job's notification",
      );
      assert.equal(failed.status, "failed");
      assert.equal(failed.error.code, "PLAN_FAILED");
    });

    await t.step(
      "notify URLs that break the rules are refused when the job is submitted",
      async () => {
        const cases: [string, string][] = [
          ["http://hooks.example.com/x", "not_https"],
          ["https://10.1.2.3/x", "private_address"],
          ["https://[fd00::1]/x", "private_address"],
          ["https://100.64.1.1/x", "private_address"],
          ["https://user:pw@hooks.example.com/x", "credentials_in_url"],
          ["not a url", "bad_url"],
        ];
        for (const [url, reason] of cases) {
          const res = await query("SELECT 1 AS one", { async: true, notify_url: url });
          assert.equal(res.status, 400, url);
          const error = res.body.error as { code: string; details: Record<string, unknown> };
          assert.equal(error.code, "INVALID_REQUEST");
          assert.equal(error.details.reason, reason, url);
        }
        const sync = await query("SELECT 1 AS one", { notify_url: sink.url });
        assert.equal(sync.status, 400);
      },
    );
  } finally {
    await sink.close();
    await stack.close();
  }
});
