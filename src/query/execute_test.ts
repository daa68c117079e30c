import assert from "node:assert/strict";
import { CONNECTORS } from "../../connectors/mod.ts";
import { acmeConnection, withDemoSandbox } from "../../connectors/github/_testing.ts";
import { EnginePool } from "../duckdb/pool.ts";
import { OmniError } from "../errors.ts";
import { parseQuery } from "../sql/parse.ts";
import { compilePolicy } from "../policy/compile.ts";
import { parsePolicy, policySchema } from "../policy/document.ts";
import { type FetchedSource, fetchFromApp, type SourceFetchContext } from "../source/fetch.ts";
import type { SourcePlan } from "../sql/plan.ts";
import { type ExecuteContext, executeQuery, type ExplainResponse } from "./execute.ts";

const context: ExecuteContext = {
  tenantId: "acme",
  user: { sub: "dev@acme", tenant: "acme" },
  connections: [acmeConnection("http://127.0.0.1:1")],
  traceId: "t",
  zone: "us",
};

/** dev@acme of the mobile team under a row rule on its team (and the PRs' authors masked). */
function mobileGuard(options: { masked?: boolean } = {}) {
  const schema = policySchema(CONNECTORS);
  const rules = ["SELECT * FROM github.pull_requests WHERE team_id = user.team_id"];
  if (options.masked) rules.push("MASK github.pull_requests.author WITH redact");
  const doc = parsePolicy(`policies:\n${rules.map((r) => `  - rule: "${r}"\n`).join("")}`, schema);
  return compilePolicy(doc, { tenantId: "acme", version: 1, schema })
    .guardFor({ sub: "dev@acme", tenant: "acme", team_id: "mobile" }, {
      maskKey: new Uint8Array(32).fill(1),
    });
}

Deno.test("executeQuery() plans the query as its door analysed it, without parsing the text again", async () => {
  // Never started: EXPLAIN answers from the plan alone.
  const engine = new EnginePool({ size: 1 });
  const deps = { engine, connectors: CONNECTORS };
  const request = { sql: "this text is not SQL", metadata: {} };
  const parsed = parseQuery("EXPLAIN SELECT pr_id FROM github.pull_requests WHERE status = 'open'");
  try {
    const res = await executeQuery(request, { ...context, parsed }, deps) as ExplainResponse;
    assert.equal(res.explain, true);
    assert.equal(res.sql, "SELECT pr_id FROM github.pull_requests WHERE status = 'open'");
    assert.deepEqual(res.sources.map((s) => [s.table, s.pushdown.pushed]), [
      ["github.pull_requests", ["status = 'open'"]],
    ]);
    // Without the door's analysis the text itself is parsed, and refused.
    const refused = await executeQuery(request, context, deps).then(() => undefined, (e) => e);
    assert.ok(refused instanceof OmniError);
    assert.equal(refused.code, "PLAN_FAILED");
  } finally {
    await engine.close();
  }
});

Deno.test("an app's error message is withheld from a user under row rules on that table", async () => {
  const engine = new EnginePool({ size: 1 }); // never started: the fetch fails first
  // The app's message can name what the row rules hide (here, another team's repository).
  const fetch = () =>
    Promise.resolve(
      Response.json({ message: "Not Found: acme/payments-secret" }, { status: 404 }),
    );
  const deps = { engine, connectors: CONNECTORS, fetch };
  const request = { sql: "SELECT pr_id FROM github.pull_requests", metadata: {} };
  const guard = mobileGuard();
  const failure = (ctx: ExecuteContext) =>
    executeQuery(request, ctx, deps).then(() => assert.fail("answered"), (e: OmniError) => e);
  try {
    const open = await failure(context);
    assert.equal(open.code, "SOURCE_ERROR");
    assert.equal(open.details?.status, 404);
    assert.match(String(open.details?.upstream_message), /payments-secret/);

    const ruled = await failure({ ...context, guard });
    assert.equal(ruled.code, "SOURCE_ERROR");
    assert.equal(ruled.details?.status, 404);
    assert.equal(ruled.details?.upstream_message, undefined);
    assert.doesNotMatch(JSON.stringify(ruled.toBody("t")), /payments-secret/);
    assert.match(ruled.message, /withheld because row rules/);
  } finally {
    await engine.close();
  }
});

Deno.test("work a query's fetches leave behind waits until its answer is delivered", async () => {
  const engine = new EnginePool({ size: 1, spares: 0, warmUpMs: 0 });
  let behind: Promise<unknown> | undefined;
  const deps = {
    engine,
    connectors: CONNECTORS,
    fetchSource: (source: SourcePlan, ctx: SourceFetchContext): Promise<FetchedSource> => {
      behind = ctx.answered;
      return Promise.resolve({
        plan: source.plan,
        rows: [{ pr_id: 1 }, { pr_id: 2 }],
        pages: 1,
        calls: 1,
        fromCache: false,
        fetchedAt: Date.now(),
      });
    },
  };
  const request = { sql: "SELECT count(*) AS n FROM github.pull_requests", metadata: {} };
  const delivered = Promise.withResolvers<void>();
  try {
    const res = await executeQuery(request, { ...context, delivered: delivered.promise }, deps);
    assert.deepEqual("rows" in res ? res.rows : [], [{ n: 2 }]);
    let settled = false;
    void behind!.then(() => settled = true);
    await new Promise((resolve) => setTimeout(resolve, 50));
    assert.equal(settled, false, "answered before the response left");
    delivered.resolve();
    await behind;
    // Without a door that tells, the answer is out when the query returns.
    await executeQuery(request, context, deps);
    await behind;
  } finally {
    await engine.close();
  }
});

Deno.test("pages handed on as they come count only when they are the fetch's rows, row rules applied", async () => {
  const engine = new EnginePool({ size: 1, spares: 0, warmUpMs: 0 });
  const guard = mobileGuard({ masked: true });
  const pr = (pr_id: number, team_id: string) => ({ pr_id, team_id, author: `a${pr_id}` });
  const pages = [[pr(1, "mobile"), pr(2, "web")], [pr(3, "mobile")]];
  // A fetch whose rows are its pages, and one (retried, say) whose rows are not what it handed on.
  const fetchers = {
    pages: pages.flat(),
    retried: [pr(7, "mobile"), pr(8, "web"), pr(9, "web")],
  };
  const request = {
    sql: "SELECT pr_id, author FROM github.pull_requests ORDER BY pr_id",
    metadata: {},
  };
  try {
    const answers: Record<string, unknown> = {};
    for (const [name, rows] of Object.entries(fetchers)) {
      const fetchSource = (source: SourcePlan, ctx: SourceFetchContext): Promise<FetchedSource> => {
        for (const page of pages) ctx.onRows?.(page);
        return Promise.resolve({
          plan: source.plan,
          rows,
          pages: 2,
          calls: 2,
          fromCache: false,
          fetchedAt: Date.now(),
        });
      };
      const deps = { engine, connectors: CONNECTORS, fetchSource };
      for (const ctx of [{ ...context, guard }, context]) {
        const res = await executeQuery(request, ctx, deps);
        const label = `${name}${ctx.guard ? " under row rules" : ""}`;
        answers[label] = "rows" in res ? res.rows.map((r) => `${r.pr_id} ${r.author}`) : undefined;
      }
    }
    assert.deepEqual(answers, {
      "pages under row rules": ["1 [HIDDEN]", "3 [HIDDEN]"],
      "pages": ["1 a1", "2 a2", "3 a3"],
      "retried under row rules": ["7 [HIDDEN]"],
      "retried": ["7 a7", "8 a8", "9 a9"],
    });
  } finally {
    await engine.close();
  }
});

Deno.test("a source of many pages, secured page by page, answers as when secured whole", async () => {
  await withDemoSandbox(async (gh) => {
    const engine = new EnginePool({ size: 1, spares: 0, warmUpMs: 0 });
    const guard = mobileGuard({ masked: true });
    const ctx = { ...context, connections: [acmeConnection(gh.url)], guard };
    const sql = "SELECT pr_id, author, team_id, branch FROM github.pull_requests ORDER BY pr_id";
    let pages = 0;
    // The app's pages, handed on as they come (several at once: GitHub's pages 2..N in parallel).
    const piecewise = (source: SourcePlan, fctx: SourceFetchContext) =>
      fetchFromApp(source, {
        ...fctx,
        onRows: (rows) => {
          pages++;
          fctx.onRows?.(rows);
        },
      });
    // The same fetch, its rows only once it is done.
    const whole = (source: SourcePlan, fctx: SourceFetchContext) =>
      fetchFromApp(source, { ...fctx, onRows: undefined });
    try {
      const answer = async (fetchSource: typeof fetchFromApp) => {
        const res = await executeQuery({ sql, metadata: {} }, ctx, {
          engine,
          connectors: CONNECTORS,
          fetchSource,
        });
        assert.ok("rows" in res);
        return res.rows;
      };
      const expected = await answer(whole);
      const got = await answer(piecewise);
      assert.ok(pages > 4, `the source came in ${pages} pages`);
      assert.ok(expected.length > 100, `${expected.length} rows the rules leave`);
      assert.ok(expected.every((r) => r.team_id === "mobile" && r.author === "[HIDDEN]"));
      assert.deepEqual(got, expected);
    } finally {
      await engine.close();
    }
  }, { scale: 4 });
});

Deno.test("a source's requests, their counts and its connection's budget say nothing of rows a row rule hid or values a mask hides", async () => {
  const engine = new EnginePool({ size: 1, spares: 0, warmUpMs: 0 });
  const pr = (pr_id: number, team_id: string) => ({ pr_id, team_id, author: `ivan-${pr_id}` });
  const request = { sql: "SELECT pr_id, author FROM github.pull_requests", metadata: {} };
  const sent = (rows: { author: string }[]) => [
    "GET /repos/acme/mobile-app/pulls?state=all&per_page=100&page=7",
    ...rows.map((r) => `GET /users/${r.author}`),
  ];
  try {
    // What EXPLAIN shows this user: the requests planned from the query and their rules alone.
    const planned = async (guard: ExecuteContext["guard"]) => {
      const explained = await executeQuery(
        { ...request, sql: `EXPLAIN ${request.sql}` },
        { ...context, guard },
        { engine, connectors: CONNECTORS },
      ) as ExplainResponse;
      return explained.sources[0].pushdown.native;
    };
    const shown = async (rows: ReturnType<typeof pr>[], guard?: ExecuteContext["guard"]) => {
      const fetchSource = (source: SourcePlan): Promise<FetchedSource> =>
        Promise.resolve({
          plan: { ...source.plan, native: sent(rows) },
          rows,
          pages: 7,
          calls: 7 + rows.length,
          fromCache: false,
          fetchedAt: Date.now(),
          rateLimit: { limit: 5000, remaining: 4200 },
        });
      const res = await executeQuery(request, { ...context, ...(guard ? { guard } : {}) }, {
        engine,
        connectors: CONNECTORS,
        fetchSource,
      });
      assert.ok("rows" in res);
      const { pages, calls, revalidated, pushdown } = res.sources[0];
      // The connection's budget left moves with every call, those a concealing source makes too.
      const budget = res.rate_limit_status.remaining;
      return { counts: [pages, calls, revalidated, budget], native: pushdown.native };
    };
    const mobile = [pr(1, "mobile"), pr(2, "mobile")];
    const mixed = [...mobile, pr(3, "web")];
    const withheld = async (guard: ExecuteContext["guard"]) => ({
      counts: [undefined, undefined, undefined, -1],
      native: await planned(guard),
    });
    // A row rule that filtered fetched rows: how many pages and calls it took says how many exist.
    assert.deepEqual(await shown(mixed, mobileGuard()), await withheld(mobileGuard()));
    // A masked author in a request: templated, yet one request per author counts them.
    const masked = mobileGuard({ masked: true });
    assert.deepEqual(await shown(mobile, masked), await withheld(masked));
    // Nothing hidden from this user: the requests as sent, and their counts.
    assert.deepEqual(await shown(mobile, mobileGuard()), {
      counts: [7, 9, 0, -1], // a row rule on the table: no call count, though nothing was hidden
      native: sent(mobile),
    });
    assert.deepEqual(await shown(mixed), { counts: [7, 10, 0, 4200], native: sent(mixed) });
  } finally {
    await engine.close();
  }
});

Deno.test("a hidden value past a request line's cut, or a cached source under rules, withholds the counts", async () => {
  const engine = new EnginePool({ size: 1, spares: 0, warmUpMs: 0 });
  const masked = mobileGuard({ masked: true });
  const rows = [{ pr_id: 1, team_id: "mobile", author: "ivan-mobile" }];
  const request = { sql: "SELECT pr_id, author FROM github.pull_requests", metadata: {} };
  // The app's fetch: every request answered, none looked at.
  const fetch = (() => Promise.resolve(Response.json({}))) as typeof globalThis.fetch;
  const counts = async (
    fetched: (source: SourcePlan, ctx: SourceFetchContext) => Promise<FetchedSource>,
    guard?: ExecuteContext["guard"],
  ) => {
    const res = await executeQuery(request, { ...context, ...(guard ? { guard } : {}) }, {
      engine,
      connectors: CONNECTORS,
      fetch,
      fetchSource: fetched,
    });
    assert.ok("rows" in res);
    const { pages, calls, revalidated } = res.sources[0];
    return [pages, calls, revalidated];
  };
  const answer = (source: SourcePlan, fromCache: boolean): FetchedSource => ({
    plan: source.plan,
    rows,
    pages: 1,
    calls: fromCache ? 0 : 1,
    fromCache,
    fetchedAt: Date.now(),
  });
  try {
    // A GraphQL batch whose variables run past the 500 characters a line shows, the author last.
    const batch = async (source: SourcePlan, ctx: SourceFetchContext) => {
      const variables = { o0: "acme".repeat(200), l0: "ivan-mobile" };
      await ctx.fetch!("https://api.github.com/graphql", {
        method: "POST",
        body: JSON.stringify({ query: "query { x }", variables }),
      });
      return answer(source, false);
    };
    assert.deepEqual(await counts(batch, masked), [undefined, undefined, undefined]);
    assert.deepEqual(await counts(batch), [1, 1, 0], "nothing hidden from this user");
    // Served from the source cache: what its fetch sent then is unknown here.
    const cached = (source: SourcePlan) => Promise.resolve(answer(source, true));
    assert.deepEqual(await counts(cached, masked), [undefined, undefined, undefined]);
    assert.deepEqual(await counts(cached), [1, 0, 0]);
  } finally {
    await engine.close();
  }
});
