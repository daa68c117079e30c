import assert from "node:assert/strict";
import {
  findTable,
  matchesPredicate,
  type Predicate,
  runScan,
  type ScanOffer,
} from "../sdk/mod.ts";
import { ALL_COLUMNS, DEMO, demoConnection, expectedRows } from "./_testing.ts";
import { clearJiraCaches } from "./client.ts";
import { jira } from "./mod.ts";
import { type JiraSandbox, startJiraSandbox } from "./sandbox/mod.ts";

const table = findTable(jira, "issues");

async function withSandbox(
  fn: (sb: JiraSandbox) => Promise<void>,
  org: "acme" | "globex" = "acme",
): Promise<void> {
  clearJiraCaches();
  const sb = await startJiraSandbox({ org, email: DEMO[org].email, apiToken: DEMO[org].apiToken });
  try {
    await fn(sb);
  } finally {
    await sb.close();
  }
}

const searches = (sb: JiraSandbox) =>
  sb.requests.filter((r) => r.path === "/rest/api/3/search/jql");
const scan = (sb: JiraSandbox, offer: Partial<ScanOffer>, org: "acme" | "globex" = "acme") =>
  runScan(jira, table, demoConnection(sb.url, org), {
    predicates: [],
    columns: ALL_COLUMNS,
    ...offer,
  }, {
    baseDelayMs: 1,
  });
const keys = (rows: Record<string, unknown>[]) => rows.map((r) => r.issue_key as string).sort();

Deno.test("issues: a full scan returns exactly the demo world's rows", async () => {
  await withSandbox(async (sb) => {
    const { rows } = await scan(sb, {});
    const sortKey = (r: Record<string, unknown>) => r.issue_key as string;
    assert.deepEqual(
      rows.sort((a, b) => sortKey(a).localeCompare(sortKey(b))),
      expectedRows("acme").sort((a, b) => sortKey(a).localeCompare(sortKey(b))),
    );
  });
});

const world = expectedRows("acme");
const mid = [...world].sort((a, b) => String(a.created).localeCompare(String(b.created)))[150];
const someAccount = world.find((r) => r.assignee_account_id)!.assignee_account_id as string;
const someBranch = world.find((r) => r.branch_name)!.branch_name as string;

const PUSHDOWN: { name: string; predicates: Predicate[] }[] = [
  { name: "status =", predicates: [{ column: "status", op: "=", value: "Done" }] },
  { name: "status !=", predicates: [{ column: "status", op: "!=", value: "Done" }] },
  {
    name: "status IN",
    predicates: [{ column: "status", op: "in", values: ["To Do", "In Review"] }],
  },
  {
    name: "status NOT IN",
    predicates: [{ column: "status", op: "not in", values: ["Done", "To Do"] }],
  },
  { name: "status = other case", predicates: [{ column: "status", op: "=", value: "done" }] },
  { name: "status != other case", predicates: [{ column: "status", op: "!=", value: "done" }] },
  {
    name: "status IN with unknown",
    predicates: [{ column: "status", op: "in", values: ["Done", "Nope"] }],
  },
  { name: "status_category", predicates: [{ column: "status_category", op: "!=", value: "done" }] },
  { name: "team =", predicates: [{ column: "team", op: "=", value: "web" }] },
  {
    name: "team and project contradict",
    predicates: [{ column: "team", op: "=", value: "web" }, {
      column: "project",
      op: "=",
      value: "MOB",
    }],
  },
  {
    name: "created >=",
    predicates: [{ column: "created", op: ">=", value: mid.created as string }],
  },
  {
    name: "created range",
    predicates: [{ column: "created", op: ">", value: "2025-05-01T00:00:00.000Z" }, {
      column: "created",
      op: "<",
      value: mid.created as string,
    }],
  },
  { name: "updated =", predicates: [{ column: "updated", op: "=", value: mid.updated as string }] },
  { name: "story_points >=", predicates: [{ column: "story_points", op: ">=", value: 5 }] },
  {
    name: "story_points != and IN",
    predicates: [{ column: "story_points", op: "!=", value: 3 }, {
      column: "story_points",
      op: "in",
      values: [1, 3, 13],
    }],
  },
  { name: "story_points IS NULL", predicates: [{ column: "story_points", op: "is null" }] },
  { name: "assignee IS NULL", predicates: [{ column: "assignee_account_id", op: "is null" }] },
  {
    name: "assignee =",
    predicates: [{ column: "assignee_account_id", op: "=", value: someAccount }],
  },
  {
    name: "assignee IN with an unknown account",
    predicates: [{
      column: "assignee_account_id",
      op: "in",
      values: [someAccount, "557058:0000-nope"],
    }],
  },
  { name: "branch_name =", predicates: [{ column: "branch_name", op: "=", value: someBranch }] },
  {
    name: "branch_name = a common word",
    predicates: [{ column: "branch_name", op: "=", value: "feature" }],
  },
  { name: "branch_name IS NOT NULL", predicates: [{ column: "branch_name", op: "is not null" }] },
  {
    name: "issue_key IN with missing keys",
    predicates: [{
      column: "issue_key",
      op: "in",
      values: ["MOB-1", "WEB-150", "MOB-999", "mob-2"],
    }],
  },
  { name: "issue_key = missing", predicates: [{ column: "issue_key", op: "=", value: "WEB-151" }] },
  {
    name: "summary LIKE (residual)",
    predicates: [{ column: "summary", op: "like", pattern: "%login%" }],
  },
  {
    name: "hostile status '",
    predicates: [{ column: "status", op: "=", value: "x' OR project = SECRET" }],
  },
  {
    name: 'hostile status "',
    predicates: [{ column: "status", op: "=", value: 'x" OR project = SECRET' }],
  },
  { name: "hostile status != \\", predicates: [{ column: "status", op: "!=", value: "\\" }] },
  {
    name: 'hostile status IN "\\"',
    predicates: [{ column: "status", op: "in", values: ['"\\"', "a\nb", "ü🚀"] }],
  },
  {
    name: "hostile branch",
    predicates: [{ column: "branch_name", op: "=", value: 'x" OR project = SECRET' }],
  },
  {
    name: "hostile account",
    predicates: [{ column: "assignee_account_id", op: "=", value: 'x\\" OR 1=1' }],
  },
  {
    name: "hostile key",
    predicates: [{ column: "issue_key", op: "in", values: ['MOB-1") OR project = SECRET'] }],
  },
  { name: "unknown status", predicates: [{ column: "status", op: "=", value: "Blocked" }] },
];

Deno.test("issues: rows with pushdown equal a full scan filtered locally", async () => {
  await withSandbox(async (sb) => {
    const full = (await scan(sb, {})).rows;
    for (const c of PUSHDOWN) {
      const { rows, plan } = await scan(sb, { predicates: c.predicates });
      const want = full.filter((r) => c.predicates.every((p) => matchesPredicate(p, r[p.column])));
      const got = rows.filter((r) => plan.residual.every((p) => matchesPredicate(p, r[p.column])));
      // Pushed predicates may be a superset: DuckDB re-applies the whole WHERE.
      const narrowed = got.filter((r) =>
        c.predicates.every((p) => matchesPredicate(p, r[p.column]))
      );
      assert.deepEqual(keys(narrowed), keys(want), c.name);
      for (const k of keys(want)) assert.ok(keys(got).includes(k), `${c.name}: dropped ${k}`);
    }
  });
});

Deno.test("issues: an unknown status makes no search call and yields no rows", async () => {
  await withSandbox(async (sb) => {
    const hostile = { column: "status", op: "=", value: "x' OR project = SECRET" } as const;
    const a = await scan(sb, { predicates: [hostile], columns: ["issue_key"] });
    assert.equal(a.rows.length, 0);
    assert.equal(a.plan.residual.length, 0);
    assert.equal(searches(sb).length, 0);
    const b = await scan(sb, { predicates: [{ column: "status", op: "=", value: "Done" }] });
    assert.ok(b.rows.length > 0);
    assert.equal(
      sb.requests.filter((r) => r.path === "/rest/api/3/status").length,
      1,
      "statuses cached",
    );
    // Warm cache: EXPLAIN now shows that no request is needed.
    assert.deepEqual(
      table.plan({ predicates: [hostile], columns: ["issue_key"] }, demoConnection(sb.url)).native,
      [
        "(no request: no issue can match)",
      ],
    );
  });
});

Deno.test("issues: a status renamed after caching is dropped after Jira's 400", async () => {
  await withSandbox(async (sb) => {
    await scan(sb, { predicates: [{ column: "status", op: "=", value: "Done" }] }); // warms the cache
    sb.inject({
      status: 400,
      times: 2, // each project's search (partitions run in parallel)
      path: /search\/jql/,
      body: JSON.stringify({
        errorMessages: ["The value 'Done' does not exist for the field 'status'."],
        errors: {},
      }),
    });
    const { rows } = await scan(sb, { predicates: [{ column: "status", op: "=", value: "Done" }] });
    assert.equal(rows.length, 0);
  });
});

Deno.test("issues: pages each project (in parallel) 100 at a time until the token is absent", async () => {
  await withSandbox(async (sb) => {
    const { rows, pages } = await scan(sb, { columns: ["issue_key"] });
    assert.equal(rows.length, 300);
    assert.equal(new Set(keys(rows)).size, 300);
    assert.equal(pages, 4); // 150 issues in each of two projects: 100 + 50, twice
    const bodies = searches(sb).map((r) => r.body as Record<string, unknown>);
    assert.equal(bodies.length, 4);
    for (const project of ["MOB", "WEB"]) {
      const own = bodies.filter((b) => String(b.jql).startsWith(`project in ("${project}")`));
      assert.equal(own.length, 2, project);
      assert.equal(own[0].nextPageToken, undefined);
      assert.equal(typeof own[1].nextPageToken, "string");
    }
    assert.ok(bodies.every((b) => b.maxResults === 100));
  });
  await withSandbox(async (sb) => {
    const { rows, pages } = await scan(sb, { columns: ["issue_key", "team"] }, "globex");
    assert.equal(rows.length, 150);
    assert.equal(pages, 2);
    assert.ok(rows.every((r) => r.team === "platform"));
  }, "globex");
});

Deno.test("issues: fields sent are only what the query needs", async () => {
  await withSandbox(async (sb) => {
    const cases: [ScanOffer, string[]][] = [
      [{ predicates: [], columns: ["issue_key"] }, ["key"]],
      [{ predicates: [], columns: ["issue_key", "team"] }, ["key", "project"]],
      [{ predicates: [{ column: "story_points", op: ">", value: 3 }], columns: ["issue_key"] }, [
        "key",
        "customfield_10016",
      ]],
      [{ predicates: [], columns: ["assignee_email", "assignee", "branch_name", "created"] }, [
        "key",
        "assignee",
        "customfield_10050",
        "created",
      ]],
    ];
    for (const [offer, fields] of cases) {
      sb.reset();
      const { rows, plan } = await runScan(jira, table, demoConnection(sb.url), offer);
      assert.deepEqual((searches(sb)[0].body as { fields: string[] }).fields, fields);
      assert.deepEqual(Object.keys(rows[0]).sort(), [...plan.columns].sort());
    }
  });
});

Deno.test("issues: ORDER BY created DESC with LIMIT is pushed and stops early", async () => {
  await withSandbox(async (sb) => {
    const { rows, plan } = await scan(sb, {
      predicates: [{ column: "status", op: "!=", value: "Done" }],
      columns: ["issue_key", "created"],
      orderBy: [{ column: "created", direction: "desc" }],
      limit: 7,
    });
    assert.equal(plan.limit, 7);
    assert.match(plan.native[0], /ORDER BY created DESC fields=key,created,status maxResults=7$/);
    const want = world.filter((r) => r.status !== "Done")
      .sort((a, b) => String(b.created).localeCompare(String(a.created))).slice(0, 7);
    assert.deepEqual(rows.map((r) => r.issue_key), want.map((r) => r.issue_key));
    assert.equal(searches(sb).length, 1);
  });
});

Deno.test("issues: custom field ids are discovered once per connection when not configured", async () => {
  await withSandbox(async (sb) => {
    const conn = demoConnection(sb.url, "acme", { fields: null });
    const offer = {
      predicates: [{ column: "story_points", op: ">=", value: 8 } as Predicate],
      columns: ["issue_key", "branch_name", "story_points"],
    };
    const before = table.plan(offer, conn);
    assert.match(before.native[0], /"Story point estimate" >= 8/);
    const a = await runScan(jira, table, conn, offer);
    const b = await runScan(jira, table, conn, offer);
    assert.equal(sb.requests.filter((r) => r.path === "/rest/api/3/field").length, 1);
    assert.deepEqual(keys(a.rows), keys(world.filter((r) => (r.story_points as number) >= 8)));
    assert.deepEqual(a.rows, b.rows);
    assert.ok(a.rows.some((r) => r.branch_name));
    assert.match(
      table.plan(offer, conn).native[0],
      /cf\[10016\] >= 8 fields=key,customfield_10050,customfield_10016/,
    );
  });
});

Deno.test("issues: plan.native is the exact request", () => {
  clearJiraCaches();
  const plan = table.plan(
    {
      predicates: [{ column: "status", op: "!=", value: "Done" }],
      columns: ["issue_key", "branch_name"],
    },
    demoConnection("https://acme.atlassian.net"),
  );
  assert.deepEqual(plan.native, [
    'POST /rest/api/3/search/jql jql=project in ("MOB", "WEB") AND status != "Done" fields=key,customfield_10050,status',
  ]);
});
