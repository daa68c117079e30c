/**
 * The admin commands of webhooks and cost guardrails as scripts use them (`deno task admin …` in
 * a subprocess, against a fresh Postgres catalog): secrets from an argument or stdin, never
 * printed or audited in the clear; budgets, bursts, the usage report, alert URL and signing
 * secret.
 */
import assert from "node:assert/strict";
import { openTestCatalog } from "../catalog/testing.ts";
import { recordUsage } from "../cost/usage.ts";
import { webhookEndpoint } from "../webhooks/secrets.ts";

Deno.test("deno task admin: webhook secrets, cost budgets, bursts, usage, alert URL", async () => {
  const db = await openTestCatalog("postgres");
  const admin = async (args: string[], stdin?: string) => {
    const child = new Deno.Command(Deno.execPath(), {
      args: ["task", "-q", "admin", ...args],
      cwd: new URL("../../", import.meta.url),
      env: { DATABASE_URL: db.databaseUrl!, OMNISQL_MASTER_KEY: db.masterKey, NO_COLOR: "1" },
      stdin: stdin === undefined ? "null" : "piped",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    if (stdin !== undefined) {
      const w = child.stdin.getWriter();
      await w.write(new TextEncoder().encode(stdin));
      await w.close();
    }
    const out = await child.output();
    const decode = (b: Uint8Array) => new TextDecoder().decode(b);
    return { code: out.code, stdout: decode(out.stdout), stderr: decode(out.stderr) };
  };
  try {
    const secret = "cli-webhook-secret-from-stdin";
    const set = await admin(
      ["connections", "set-webhook-secret", "github", "--tenant", "acme", "--secret-stdin"],
      `${secret}\n`,
    );
    assert.equal(set.code, 0, set.stderr);
    assert.ok(!set.stdout.includes(secret));
    assert.equal((await webhookEndpoint(db.catalog, "acme", "github"))?.secret, secret);
    const short = await admin(
      ["connections", "set-webhook-secret", "github", "--tenant", "acme", "--secret", "short"],
    );
    assert.equal(short.code, 2);
    assert.ok(!short.stderr.includes("short\n"));
    const audit = await db.catalog.tailAudit("acme", 5);
    assert.ok(audit.some((r) => r.sql.includes("set-webhook-secret github")));
    assert.ok(audit.every((r) => !r.sql.includes(secret)));

    const budget = await admin(
      ["connections", "set-cost-budget", "github", "--tenant", "acme", "--calls", "10"],
    );
    assert.equal(budget.code, 0, budget.stderr);
    assert.equal(
      (await admin([
        "connections",
        "set-cost-budget",
        "github",
        "--tenant",
        "acme",
        "--calls",
        "x",
      ]))
        .code,
      1,
    );
    const burst = await admin(
      ["connections", "grant-burst", "github", "--tenant", "acme", "--calls", "5", "--json"],
    );
    assert.equal(JSON.parse(burst.stdout).burst_calls, 5);

    const connection = (await db.catalog.listConnections("acme")).find((c) => c.name === "github")!;
    await recordUsage(db.catalog.db, {
      tenantId: "acme",
      connectionId: connection.id,
      connection: "github",
      calls: 8,
    });
    const usage = await admin(["usage", "--tenant", "acme", "--json"]);
    assert.equal(usage.code, 0, usage.stderr);
    const report = JSON.parse(usage.stdout);
    const github = report.connections.find((c: { connection: string }) =>
      c.connection === "github"
    );
    assert.equal(github.calls, 8);
    assert.deepEqual(
      [github.budget.used, github.budget.calls, github.budget.percent, github.budget.burst_calls],
      [8, 10, 80, 5],
    );
    const human = await admin(["usage", "--tenant", "acme"]);
    assert.match(human.stdout, /github\t8 calls\tbudget 8\/10 per month \(80%\) \+ burst 5/);
    assert.equal((await admin(["usage", "--tenant", "acme", "--since", "yesterday"])).code, 2);

    const url = await admin([
      "tenants",
      "set-alert-url",
      "--tenant",
      "acme",
      "https://hooks.acme.example/a",
    ]);
    assert.equal(url.code, 0, url.stderr);
    const s1 = (await admin(["tenants", "signing-secret", "--tenant", "acme"])).stdout.trim();
    const s2 = (await admin(["tenants", "signing-secret", "--tenant", "acme"])).stdout.trim();
    const s3 = (await admin(["tenants", "signing-secret", "--tenant", "acme", "--rotate"])).stdout
      .trim();
    assert.match(s1, /^whsec_[0-9a-f]{64}$/);
    assert.equal(s1, s2);
    assert.notEqual(s1, s3);
  } finally {
    await db.close();
  }
});
