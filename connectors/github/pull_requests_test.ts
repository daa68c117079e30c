import assert from "node:assert/strict";
import { demoOrg, type DemoPull } from "../demo/world.ts";
import {
  findTable,
  matchesPredicate,
  type Predicate,
  type Row,
  runScan,
  type ScanOffer,
} from "../sdk/mod.ts";
import {
  ACME_REPOS,
  ACME_TEAMS,
  acmeConnection,
  GLOBEX_TOKEN,
  smallPages,
  withDemoSandbox,
} from "./_testing.ts";
import { github } from "./mod.ts";
import { pullRequestId } from "./sandbox/mod.ts";

const table = findTable(github, "pull_requests");
const acme = demoOrg("acme");
const ALL_COLUMNS = table.columns.map((c) => c.name);
const BASE_COLUMNS = table.columns.filter((c) => !c.detail && c.name !== "email").map((c) =>
  c.name
);
const P = (column: string, value: string): Predicate => ({ column, op: "=", value });
const offer = (o: Partial<ScanOffer>): ScanOffer => ({
  predicates: [],
  columns: BASE_COLUMNS,
  ...o,
});
const ids = (rows: Row[]) => rows.map((r) => r.pr_id as number).sort((a, b) => a - b);
const idOf = (p: DemoPull) => pullRequestId("acme", p.repo, p.number);

Deno.test("pull_requests: a full scan returns every PR of every configured repo", () =>
  withDemoSandbox(async (gh) => {
    const conn = acmeConnection(gh.url);
    for (const repo of ACME_REPOS) {
      const { rows, pages } = await runScan(
        github,
        table,
        conn,
        offer({ predicates: [P("repo", repo)] }),
      );
      const world = acme.pulls.filter((p) => p.repo === repo);
      assert.equal(rows.length, world.length, repo);
      assert.equal(pages, 1);
      assert.deepEqual(ids(rows), world.map(idOf).sort((a, b) => a - b));
    }
    const { rows } = await runScan(github, table, conn, offer({}));
    const byId = new Map(rows.map((r) => [r.pr_id, r]));
    for (const p of acme.pulls) {
      const row = byId.get(idOf(p))!;
      assert.deepEqual(row, {
        ...row,
        number: p.number,
        repo: p.repo,
        title: p.title,
        author: p.author,
        status: p.mergedAt ? "merged" : p.state,
        state: p.state,
        draft: p.draft,
        branch: p.head,
        base_branch: p.base,
        team_id: ACME_TEAMS[p.repo],
        labels: p.labels,
        created_at: p.createdAt,
        updated_at: p.updatedAt,
        closed_at: p.closedAt,
        merged_at: p.mergedAt,
        url: `https://github.com/acme/${p.repo}/pull/${p.number}`,
      });
    }
    assert.equal(rows.length, acme.pulls.length);
  }));

Deno.test("pull_requests: follows Link headers page by page", () =>
  withDemoSandbox(async (gh) => {
    const { rows, pages } = await runScan(github, table, acmeConnection(gh.url), offer({}), {
      fetch: smallPages(7),
    });
    assert.deepEqual(ids(rows), acme.pulls.map(idOf).sort((a, b) => a - b));
    const expectedPages = ACME_REPOS.reduce(
      (n, r) => n + Math.ceil(acme.pulls.filter((p) => p.repo === r).length / 7),
      0,
    );
    assert.equal(pages, expectedPages);
    assert.ok(
      gh.requests.some((r) => r.path.startsWith("/repositories/")),
      "followed GitHub's Link URLs",
    );
  }));

const HOSTILE = ["x' OR 1=1", 'a"b', "back\\slash", "&per_page=1", "line\nbreak", "ü🚀"];
const somePull = acme.pulls.find((p) => p.repo === "ios-app" && p.mergedAt)!;
const PREDICATE_SETS: Predicate[][] = [
  [P("status", "merged")],
  [P("status", "open")],
  [P("status", "closed")],
  [{ column: "status", op: "in", values: ["closed", "merged"] }],
  [{ column: "status", op: "in", values: ["open", "merged"] }],
  [{ column: "status", op: "!=", value: "merged" }],
  [P("state", "closed"), P("team_id", "mobile")],
  [P("status", "merged"), P("repo", "web-app")],
  [{ column: "repo", op: "in", values: ["ios-app", "web-dashboard", "nope"] }],
  [{ column: "team_id", op: "not in", values: ["web"] }],
  [{ column: "repo", op: "like", pattern: "web-%" }],
  [P("branch", somePull.head)],
  [P("branch", somePull.head), P("status", "open")],
  [P("base_branch", "main"), P("status", "merged")],
  [P("base_branch", "develop")],
  [P("status", "open"), P("state", "closed")],
  [P("author", somePull.author), P("status", "merged")],
  ...HOSTILE.flatMap((
    v,
  ) => [[P("branch", v)], [P("base_branch", v)], [P("repo", v)], [P("team_id", v)]]),
];

Deno.test("pull_requests: pushdown returns exactly the rows a full scan filtered locally does", () =>
  withDemoSandbox(async (gh) => {
    const conn = acmeConnection(gh.url);
    const full = (await runScan(github, table, conn, offer({}))).rows;
    for (const predicates of PREDICATE_SETS) {
      const name = JSON.stringify(predicates);
      const { rows, plan } = await runScan(github, table, conn, offer({ predicates }));
      // DuckDB applies the whole WHERE again: emulate it, then compare with the unpushed scan.
      const where = (r: Row) => predicates.every((p) => matchesPredicate(p, r[p.column]));
      assert.deepEqual(ids(rows.filter(where)), ids(full.filter(where)), name);
      // Pushed predicates are applied exactly by the connector: nothing to narrow without residual.
      if (plan.residual.length === 0) assert.equal(rows.filter(where).length, rows.length, name);
    }
  }));

Deno.test("pull_requests: ORDER BY created_at DESC LIMIT 5 is one search call", () =>
  withDemoSandbox(async (gh) => {
    const result = await runScan(github, table, acmeConnection(gh.url), {
      predicates: [],
      columns: ["pr_id", "created_at"],
      orderBy: [{ column: "created_at", direction: "desc" }],
      limit: 5,
    });
    const top = [...acme.pulls].sort((a, b) => b.createdAt.localeCompare(a.createdAt)).slice(0, 5);
    assert.deepEqual(
      result.rows.map((r) => [r.pr_id, r.created_at]),
      top.map((p) => [idOf(p), p.createdAt]),
    );
    assert.equal(result.pages, 1);
    const lists = gh.requests.filter((r) => /\/pulls$|\/search\/issues$/.test(r.path));
    assert.equal(lists.length, 1);
    assert.equal(lists[0].path, "/search/issues");
    assert.equal(gh.requests.filter((r) => /\/pulls\/\d+$/.test(r.path)).length, 5); // pr_id fills
  }));

Deno.test("pull_requests: ordered and unordered limits give the right rows for cheap", () =>
  withDemoSandbox(async (gh) => {
    const conn = acmeConnection(gh.url);
    const cases: { o: Partial<ScanOffer>; world: DemoPull[]; maxListCalls: number }[] = [
      {
        o: {
          orderBy: [{ column: "updated_at", direction: "asc" }],
          limit: 4,
          predicates: [P("status", "merged")],
        },
        world: acme.pulls.filter((p) => p.mergedAt).sort((a, b) =>
          a.updatedAt.localeCompare(b.updatedAt)
        ),
        maxListCalls: 1,
      },
      {
        o: { orderBy: [{ column: "created_at", direction: "asc" }], limit: 30 },
        world: [...acme.pulls].sort((a, b) => a.createdAt.localeCompare(b.createdAt)),
        maxListCalls: 4,
      },
      {
        o: {
          orderBy: [{ column: "created_at", direction: "desc" }],
          limit: 7,
          predicates: [P("team_id", "web"), P("status", "closed")],
        },
        world: acme.pulls.filter((p) =>
          p.repo.startsWith("web") && p.state === "closed" && !p.mergedAt
        )
          .sort((a, b) => b.createdAt.localeCompare(a.createdAt)),
        maxListCalls: 1,
      },
    ];
    for (const { o, world, maxListCalls } of cases) {
      gh.reset();
      const { rows, plan } = await runScan(github, table, conn, offer(o));
      const limit = o.limit!;
      assert.equal(plan.limit, limit);
      assert.deepEqual(
        rows.map((r) => r.pr_id),
        world.slice(0, limit).map(idOf),
        JSON.stringify(o),
      );
      const listCalls = gh.requests.filter((r) => /\/pulls$|\/search\/issues$/.test(r.path)).length;
      assert.ok(listCalls <= maxListCalls, `${listCalls} list calls for ${JSON.stringify(o)}`);
    }
    gh.reset();
    const unordered = await runScan(github, table, conn, offer({ limit: 3 }));
    assert.equal(unordered.rows.length, 3);
    assert.equal(gh.requests.length, 1);
    assert.equal(gh.requests[0].search, "?state=all&per_page=3");
  }));

Deno.test("pull_requests: sizes and emails are fetched only when read, emails once per login", () =>
  withDemoSandbox(async (gh) => {
    const conn = acmeConnection(gh.url);
    const repo = P("repo", "web-dashboard");
    const world = acme.pulls.filter((p) => p.repo === "web-dashboard");
    // What the GraphQL batches asked for: pull request numbers and logins.
    const asked = (prefix: string) =>
      gh.requests.filter((r) => r.path === "/graphql").flatMap((r) =>
        Object.entries(JSON.parse(r.body!).variables).filter(([k]) => k.startsWith(prefix))
      ).length;
    const detailCalls = () => asked("n");
    const userCalls = () => asked("l");
    const batches = () => gh.requests.filter((r) => r.path === "/graphql").length;

    await runScan(github, table, conn, offer({ predicates: [repo], columns: ["pr_id", "title"] }));
    assert.equal(detailCalls() + userCalls(), 0);

    gh.reset();
    const sized = await runScan(
      github,
      table,
      conn,
      offer({ predicates: [repo], columns: ["pr_id", "additions"] }),
    );
    assert.equal(detailCalls(), world.length);
    assert.equal(userCalls(), 0);
    assert.equal(batches(), Math.ceil(world.length / 100));
    const byId = new Map(sized.rows.map((r) => [r.pr_id, r]));
    for (const p of world) {
      const r = byId.get(idOf(p))!;
      assert.deepEqual([r.additions, r.deletions, r.changed_files, r.commits], [
        p.additions,
        p.deletions,
        p.changedFiles,
        p.commits,
      ]);
    }

    gh.reset();
    const mailed = await runScan(
      github,
      table,
      conn,
      offer({ predicates: [repo], columns: ["email"] }),
    );
    assert.equal(detailCalls(), 0);
    assert.equal(userCalls(), new Set(world.map((p) => p.author)).size);
    const emails = new Map(acme.people.map((p) => [p.login, p.publicEmail]));
    for (const r of mailed.rows) assert.equal(r.email, emails.get(r.author as string));
    assert.ok(
      mailed.rows.some((r) => r.email === null) && mailed.rows.some((r) => r.email !== null),
    );

    gh.reset();
    const all = await runScan(
      github,
      table,
      conn,
      offer({ columns: ALL_COLUMNS, predicates: [P("status", "open")] }),
    );
    assert.equal(detailCalls(), all.rows.length);
    // Sizes and emails of a page (up to 100 rows) share one request: no call per row.
    const pages = gh.requests.filter((r) => r.path.endsWith("/pulls")).length;
    assert.ok(
      batches() <= pages && pages < all.rows.length,
      `${batches()} batches, ${pages} pages`,
    );
  }));

Deno.test("pull_requests: without configured repos, every repo of the org is listed", () =>
  withDemoSandbox(async (gh) => {
    const globex = demoOrg("globex");
    const conn = {
      ...acmeConnection(gh.url, {
        owner: "globex",
        repos: undefined,
        teams: { "platform-ui": "ui" },
      }, GLOBEX_TOKEN),
    };
    const { rows } = await runScan(github, table, conn, offer({}));
    assert.equal(rows.length, globex.pulls.length);
    const ui = await runScan(github, table, conn, offer({ predicates: [P("team_id", "ui")] }));
    assert.equal(ui.rows.length, globex.pulls.filter((p) => p.repo === "platform-ui").length);
    assert.ok(ui.rows.every((r) => r.team_id === "ui"));
    const top = await runScan(github, table, conn, {
      predicates: [],
      columns: ["title", "created_at"],
      orderBy: [{ column: "created_at", direction: "desc" }],
      limit: 3,
    });
    assert.deepEqual(
      top.rows.map((r) => r.title),
      [...globex.pulls].sort((a, b) => b.createdAt.localeCompare(a.createdAt)).slice(0, 3).map((
        p,
      ) => p.title),
    );
  }));

Deno.test("pull_requests: works under an Enterprise Server base path", () =>
  withDemoSandbox(async (gh) => {
    const conn = acmeConnection(`${gh.url}/api/v3`);
    const { rows } = await runScan(
      github,
      table,
      conn,
      offer({ predicates: [P("repo", "mobile-app")] }),
      {
        fetch: smallPages(10),
      },
    );
    assert.equal(rows.length, acme.pulls.filter((p) => p.repo === "mobile-app").length);
    assert.ok(gh.requests.every((r) => r.path.startsWith("/api/v3/")));
  }));

Deno.test("pull_requests: a spent search budget falls back to per-repo lists", () =>
  withDemoSandbox(async (gh) => {
    const { rows } = await runScan(github, table, acmeConnection(gh.url), {
      predicates: [],
      columns: ["pr_id", "created_at"],
      orderBy: [{ column: "created_at", direction: "desc" }],
      limit: 5,
    });
    const top = [...acme.pulls].sort((a, b) => b.createdAt.localeCompare(a.createdAt)).slice(0, 5);
    assert.deepEqual(rows.map((r) => r.pr_id), top.map(idOf));
    assert.equal(gh.requests[0].path, "/search/issues"); // tried, refused with 403
    assert.equal(gh.requests.filter((r) => r.path.endsWith("/pulls")).length, ACME_REPOS.length);
  }, { searchPerMinute: 0 }));

Deno.test("pull_requests: branch = x finds pull requests from forks, by search and by lists", () =>
  withDemoSandbox(async (gh) => {
    const forked = acme.pulls.filter((p) => p.headOwner !== undefined);
    assert.ok(forked.length > 3, "the demo world has pull requests from forks");
    const conn = acmeConnection(gh.url);
    for (const p of forked.slice(0, 3)) {
      const branch = acme.pulls.filter((q) => q.head === p.head);
      const searched = await runScan(
        github,
        table,
        conn,
        offer({ predicates: [P("branch", p.head)] }),
      );
      assert.ok(searched.plan.native[0].startsWith("GET /search/issues"), searched.plan.native[0]);
      assert.deepEqual(ids(searched.rows), branch.map(idOf).sort((a, b) => a - b), p.head);
      assert.ok(searched.calls <= 1 + branch.length, `calls: ${searched.calls}`);
      const listed = await runScan(
        github,
        table,
        conn,
        offer({ predicates: [{ column: "branch", op: "in", values: [p.head, "feature/none"] }] }),
      );
      assert.deepEqual(ids(listed.rows), ids(searched.rows));
      assert.ok(listed.rows.every((r) => r.branch === p.head));
    }
  }));

Deno.test("pull_requests: a branch search with too many results to fill falls back to lists", () =>
  withDemoSandbox(async (gh) => {
    // `head:feature/` is a prefix of every ticket branch: far more results than fills allowed.
    const { rows, plan } = await runScan(
      github,
      table,
      acmeConnection(gh.url),
      offer({ predicates: [P("branch", "feature/")] }),
    );
    assert.ok(plan.native[0].startsWith("GET /search/issues"));
    assert.equal(rows.length, 0, "no branch is named exactly feature/");
    const searches = gh.requests.filter((r) => r.path === "/search/issues").length;
    const fills = gh.requests.filter((r) => /\/pulls\/\d+$/.test(r.path)).length;
    assert.equal(searches, 1);
    assert.equal(fills, 0);
  }));

Deno.test("pull_requests: branch IN (keys) with sizes: one list scan, sizes only for matching PRs", () =>
  withDemoSandbox(async (gh) => {
    const keys = [
      ...new Set(acme.pulls.filter((p) => p.head.startsWith("feature/MOB-1")).map((p) => p.head)),
    ];
    assert.ok(keys.length > 5);
    const matching = acme.pulls.filter((p) => keys.includes(p.head));
    const { rows, calls, plan } = await runScan(
      github,
      table,
      acmeConnection(gh.url),
      offer({
        predicates: [{ column: "branch", op: "in", values: keys }],
        columns: ["pr_id", "additions"],
      }),
    );
    assert.deepEqual(ids(rows), matching.map(idOf).sort((a, b) => a - b));
    assert.ok(rows.every((r) => typeof r.additions === "number"));
    const lists = plan.native.filter((l) => l.includes("/pulls?")).length;
    const batches = gh.requests.filter((r) => r.path === "/graphql");
    const asked = batches.flatMap((r) =>
      Object.entries(JSON.parse(r.body!).variables).filter(([k]) => k.startsWith("n"))
    );
    assert.equal(asked.length, matching.length, "sizes asked only for matching pull requests");
    assert.ok(calls <= batches.length + lists * 3, `calls: ${calls}`);
  }));
