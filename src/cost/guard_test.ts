import assert from "node:assert/strict";
import { Registry } from "prom-client";
import { apiUsage, costAlerts } from "../catalog/schema.ts";
import { openTestCatalog } from "../catalog/testing.ts";
import { OmniError } from "../errors.ts";
import type { FetchedSource, SourceFetchContext, SourceFetcher } from "../source/fetch.ts";
import type { SourcePlan } from "../sql/plan.ts";
import { CostAlerts } from "./alerts.ts";
import { grantBurst, setCostBudget } from "./budgets.ts";
import { costGuard } from "./guard.ts";
import { periodOf } from "./periods.ts";
import { usageReport } from "./report.ts";
import { usageIn } from "./usage.ts";

const ctx = { tenantId: "acme", traceId: "t-1" } as SourceFetchContext;

async function setup() {
  const t = await openTestCatalog("pglite");
  const connection = (await t.catalog.listConnections("acme")).find((c) => c.name === "github")!;
  const source = { key: "github.pull_requests", connection } as unknown as SourcePlan;
  let answer: Partial<FetchedSource> = { calls: 1 };
  let appCalls = 0;
  const app: SourceFetcher = () => {
    appCalls++;
    return Promise.resolve(
      {
        rows: [],
        pages: 1,
        fromCache: false,
        fetchedAt: Date.now(),
        calls: 0,
        ...answer,
      } as FetchedSource,
    );
  };
  // Two guards on one catalog: two processes counting the same connection. Budgets are
  // remembered as a zone remembers them: an admin's change must reach the next fetch.
  const registries = [new Registry(), new Registry()];
  const costGuards = registries.map((registry) =>
    costGuard({
      db: t.catalog.db,
      alerts: new CostAlerts({ catalog: t.catalog, registry }),
      remember: (key, load) => t.catalog.remembered(key, load),
    })
  );
  const guards = costGuards.map((guard) => guard(app));
  const used = () => usageIn(t.catalog.db, "acme", connection.id, periodOf("month", Date.now()));
  return {
    t,
    connection,
    fetch: (i = 0, context: SourceFetchContext = ctx) => guards[i](source, context),
    settled: () => costGuards[0].settled(),
    answer: (a: Partial<FetchedSource>) => (answer = a),
    appCalls: () => appCalls,
    used,
    alertCount: async () =>
      (await Promise.all(
        registries.map((r) => r.getSingleMetricAsString("omnisql_cost_alerts_total")),
      ))
        .flatMap((text) =>
          text.split("\n").filter((l) => l.startsWith("omnisql_cost_alerts_total{"))
        )
        .reduce((n, l) => n + Number(l.split(" ").at(-1)), 0),
  };
}

/** A test on its own stack, closed whatever the test does. */
function guardTest(name: string, fn: (s: Awaited<ReturnType<typeof setup>>) => Promise<void>) {
  Deno.test(name, async () => {
    const s = await setup();
    try {
      await fn(s);
    } finally {
      await s.t.close();
    }
  });
}

guardTest(
  "charged calls are counted per connection and day; 304s and cached answers are not",
  async (s) => {
    s.answer({ calls: 3 });
    await s.fetch();
    s.answer({ calls: 0, revalidated: 2 });
    await s.fetch();
    s.answer({ calls: 0, fromCache: true });
    await s.fetch(1);
    assert.equal(await s.used(), 3);
    const report = await usageReport(s.t.catalog, "acme");
    const github = report.connections.find((c) => c.connection === "github")!;
    assert.deepEqual(github.days, [{ day: new Date().toISOString().slice(0, 10), calls: 3 }]);
    assert.equal(github.budget, null);
  },
);

guardTest(
  "a fetch's calls are written once its query is answered; a read of that connection's count waits for them, another connection's does not",
  async (s) => {
    s.answer({ calls: 2 });
    const answered = Promise.withResolvers<void>();
    await s.fetch(0, { ...ctx, answered: answered.promise });
    await new Promise((resolve) => setTimeout(resolve, 100));
    assert.deepEqual(await s.t.catalog.db.select().from(apiUsage), []);
    const month = periodOf("month", Date.now());
    const globex = (await s.t.catalog.listConnections("globex"))[0];
    assert.equal(await usageIn(s.t.catalog.db, "globex", globex.id, month), 0);
    const jira = (await s.t.catalog.listConnections("acme")).find((c) => c.name === "jira")!;
    assert.equal(await usageIn(s.t.catalog.db, "acme", jira.id, month), 0);
    // Those reads did not wait for the write (it would have landed with them).
    assert.deepEqual(await s.t.catalog.db.select().from(apiUsage), []);
    let counted: number | undefined;
    const read = s.used().then((n) => counted = n);
    await new Promise((resolve) => setTimeout(resolve, 50));
    assert.equal(counted, undefined);
    answered.resolve();
    await read;
    assert.equal(counted, 2);
    // A closing server waits for the counts written behind its answers.
    const last = Promise.withResolvers<void>();
    await s.fetch(0, { ...ctx, answered: last.promise });
    const settled = s.settled();
    last.resolve();
    await settled;
    const [row] = await s.t.catalog.db.select().from(apiUsage);
    assert.equal(Number(row.calls), 4);
  },
);

guardTest(
  "cost alerts fire at 80, 90 and 100% once each per period, across processes",
  async (s) => {
    await setCostBudget(s.t.catalog, "acme", "github", { calls: 10, period: "month" });
    const levels = async () =>
      (await s.t.catalog.db.select().from(costAlerts)).map((r) => r.level).sort((a, b) => a - b);
    s.answer({ calls: 7 });
    await s.fetch(0);
    assert.deepEqual(await levels(), []);
    s.answer({ calls: 1 }); // 8 of 10
    await s.fetch(1);
    assert.deepEqual(await levels(), [80]);
    await s.fetch(0); // 9 of 10: the other process fires 90, not 80 again
    assert.deepEqual(await levels(), [80, 90]);
    await s.fetch(1); // 10 of 10
    assert.deepEqual(await levels(), [80, 90, 100]);
    assert.equal(await s.alertCount(), 3);
  },
);

guardTest(
  "a spent cost budget refuses with 429 level cost before calling the app; a burst lifts it",
  async (s) => {
    await setCostBudget(s.t.catalog, "acme", "github", { calls: 5, period: "day" });
    s.answer({ calls: 5 });
    await s.fetch();
    const calls = s.appCalls();
    await assert.rejects(s.fetch(1), (err) => {
      assert.ok(err instanceof OmniError);
      assert.equal(err.code, "RATE_LIMIT_EXHAUSTED");
      assert.equal(err.status, 429);
      assert.equal(err.details?.level, "cost");
      assert.equal(err.details?.limit, 5);
      assert.ok(err.retryAfterMs! > 0 && err.retryAfterMs! <= 86_400_000);
      return true;
    });
    assert.equal(s.appCalls(), calls, "the app was not called");
    const granted = await grantBurst(s.t.catalog, "acme", "github", 2);
    assert.equal(granted.burstCalls, 2);
    s.answer({ calls: 1 });
    await s.fetch();
    await s.fetch();
    await assert.rejects(s.fetch(), /cost budget/);
    const report = await usageReport(s.t.catalog, "acme");
    const budget = report.connections.find((c) => c.connection === "github")!.budget!;
    assert.equal(budget.used, 7);
    assert.equal(budget.burst_calls, 2);
    assert.equal(budget.percent, 140);
    // Removing the budget keeps counting and refuses nothing.
    await setCostBudget(s.t.catalog, "acme", "github", null);
    await s.fetch();
    assert.equal(await s.used(), 8);
  },
);

guardTest("budgets and bursts refuse nonsense", async (s) => {
  await assert.rejects(
    setCostBudget(s.t.catalog, "acme", "github", { calls: 0, period: "month" }),
  );
  await assert.rejects(setCostBudget(s.t.catalog, "acme", "nope", { calls: 5, period: "month" }));
  await assert.rejects(grantBurst(s.t.catalog, "acme", "github", 5), /no cost budget/);
});
