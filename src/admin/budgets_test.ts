import assert from "node:assert/strict";
import { openTestCatalog } from "../catalog/testing.ts";
import { loadConfig } from "../config.ts";
import { edgeBudgetsOf, sourceBudgetOf } from "../ratelimit/mod.ts";
import { runCli } from "./cli.ts";

Deno.test("tenants set-budget shows and sets each level; the servers' budgets follow", async () => {
  const db = await openTestCatalog("pglite");
  const lines: string[] = [];
  const cli = (...args: string[]) => {
    lines.length = 0;
    return runCli(["tenants", "set-budget", ...args], {
      config: loadConfig({ OMNISQL_GLOBAL_PER_MINUTE: "120000" }),
      openCatalog: () => Promise.resolve({ catalog: db.catalog, close: () => Promise.resolve() }),
      print: (line) => lines.push(line),
    });
  };
  try {
    assert.equal(await cli("acme", "--level", "user", "--json"), 0);
    const shown = JSON.parse(lines.join("\n"));
    assert.equal(shown.user, "60 requests per 60 s");
    assert.equal(shown.global, "120000 requests per 60 s");

    assert.equal(await cli("acme", "--level", "user", "--per-minute", "30"), 0);
    assert.match(lines.join("\n"), /user +30 requests per 60 s/);
    assert.equal(await cli("acme", "--level", "tenant", "--per-minute", "500"), 0);
    assert.equal(await cli("acme", "--level", "source", "--per-minute", "100"), 0);
    assert.equal(
      await cli("acme", "--level", "source", "--connector", "github", "--per-minute", "7"),
      0,
    );
    const settings = (await db.catalog.getTenant("acme"))!.settings;
    const budgets = edgeBudgetsOf(settings);
    assert.equal(budgets.user.tokens, 30);
    assert.equal(budgets.tenant.tokens, 500);
    assert.equal(sourceBudgetOf(settings, "github")?.tokens, 7, "the connector's own wins");
    assert.equal(sourceBudgetOf(settings, "jira")?.tokens, 100);
    // Each change is on the tenant's audit log.
    const audit = await db.catalog.tailAudit("acme", 10);
    assert.ok(
      audit.some((r) => r.sql === "admin tenants set-budget acme --level user --per-minute 30"),
    );

    assert.equal(await cli("acme", "--level", "global", "--per-minute", "1"), 2);
    assert.equal(await cli("acme", "--level", "user", "--connector", "github"), 2);
    assert.equal(await cli("acme", "--level", "user", "--per-minute", "-3"), 2);
    assert.equal(await cli("nobody", "--level", "user"), 2);
    assert.equal(edgeBudgetsOf((await db.catalog.getTenant("acme"))!.settings).user.tokens, 30);
  } finally {
    await db.close();
  }
});
