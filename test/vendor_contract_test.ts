/**
 * Contract tests on the vendors' own examples: GitHub's published REST examples and GraphQL
 * schema, Linear's published GraphQL schema (`test/contract/fixtures/*` and their READMEs say
 * where each came from), replayed by a small server with pages, 304s without `Link`, rate-limit
 * headers and error bodies. The connectors must give the right rows from what the real APIs
 * answer, and every GraphQL request they send must validate against the vendor's schema.
 */
import assert from "node:assert/strict";
import { github } from "../connectors/github/mod.ts";
import { linear } from "../connectors/linear/mod.ts";
import { type Connection, findTable, runScan } from "../connectors/sdk/mod.ts";
import {
  executeOn,
  fixture,
  type Replayed,
  startReplay,
  vendorSchema,
} from "./contract/_replay.ts";
import { failure, memoryValidators } from "../connectors/sdk/_testing.ts";

type Json = Record<string, unknown>;
type TeamFilter = { team?: { key?: { eq?: string } }; and?: TeamFilter[] };

const FAST = { baseDelayMs: 1, maxRetries: 0 };

Deno.test("contract: GitHub's published examples give the right rows, pages and errors", async () => {
  const [pulls, detail, user, errors] = await Promise.all([
    fixture<Json[]>("github", "pulls_list.json"),
    fixture<Json>("github", "pull_detail.json"),
    fixture<Json>("github", "user.json"),
    fixture<{ not_found: Replayed; rate_limited: Replayed; ok_headers: Record<string, string> }>(
      "github",
      "errors.json",
    ),
  ]);
  const schema = await vendorSchema("github");
  const graphqlErrors: string[] = [];
  const root = {
    repository: ({ owner, name }: { owner: string; name: string }) =>
      owner === "octocat" && name === "Hello-World"
        ? {
          pullRequest: ({ number }: { number: number }) =>
            number === detail.number
              ? {
                additions: detail.additions,
                deletions: detail.deletions,
                changedFiles: detail.changed_files,
                commits: { totalCount: detail.commits },
              }
              : null,
        }
        : null,
    user: ({ login }: { login: string }) => (login === user.login ? { email: user.email } : null),
  };
  let limited = false;
  const replay = startReplay(async (req, url) => {
    if (limited) return errors.rate_limited;
    if (req.method === "POST" && req.path === "/graphql") {
      const answer = await executeOn(schema, root, req.body);
      graphqlErrors.push(...(answer.errors ?? []).map((e) => e.message));
      return { headers: { ...errors.ok_headers, "x-ratelimit-resource": "graphql" }, body: answer };
    }
    if (req.path !== "/repos/octocat/Hello-World/pulls") return errors.not_found;
    // Two pages of the documented example, addressed by `Link` as GitHub pages lists.
    const page = Number(url.searchParams.get("page") ?? "1");
    const next = new URL(url);
    next.searchParams.set("page", "2");
    return {
      headers: {
        ...errors.ok_headers,
        ...(page === 1 ? { link: `<${next}>; rel="next", <${next}>; rel="last"` } : {}),
      },
      body: pulls,
    };
  });
  const connection: Connection = {
    id: "contract-gh",
    tenantId: "t",
    connector: "github",
    name: "github",
    baseUrl: replay.url,
    credentials: { token: "ghp_contract" },
    config: { owner: "octocat", repos: ["Hello-World"], teams: { "Hello-World": "core" } },
  };
  const table = findTable(github, "pull_requests");
  const columns = table.columns.map((c) => c.name);
  try {
    const conditional = memoryValidators().store;
    const first = await runScan(github, table, connection, { predicates: [], columns }, {
      ...FAST,
      conditional,
    });
    assert.deepEqual(graphqlErrors, [], "the connector's GraphQL must validate on GitHub's schema");
    const expected = {
      pr_id: 1,
      number: 1347,
      repo: "Hello-World",
      title: "Amazing new feature",
      author: "octocat",
      email: "octocat@github.com",
      status: "merged", // merged_at is set in the example
      state: "open",
      draft: false,
      branch: "new-topic",
      base_branch: "master",
      team_id: "core",
      labels: ["bug"],
      created_at: "2011-01-26T19:01:12Z",
      updated_at: "2011-01-26T19:01:12Z",
      closed_at: "2011-01-26T19:01:12Z",
      merged_at: "2011-01-26T19:01:12Z",
      url: "https://github.com/octocat/Hello-World/pull/1347",
      additions: 100,
      deletions: 3,
      changed_files: 5,
      commits: 3,
    };
    assert.equal(first.rows.length, 2);
    for (const row of first.rows) assert.deepEqual({ ...row }, expected);
    assert.deepEqual(first.rateLimit, { limit: 60, remaining: 56, resetAt: 1372700873_000 });

    // Validators per URL: both pages come back 304 with no `Link`; the list is still whole.
    const again = await runScan(github, table, connection, { predicates: [], columns }, {
      ...FAST,
      conditional,
    });
    assert.equal(again.rows.length, 2, "a 304 without Link truncated the list");
    assert.equal(again.revalidated, 2);
    assert.ok(replay.seen.filter((r) => r.headers.has("if-none-match")).length >= 2);

    // GitHub's documented error bodies: a 404 is a SOURCE_ERROR carrying the upstream status
    // and message; a spent budget is RATE_LIMIT_EXHAUSTED.
    const missing = await failure(
      runScan(github, table, { ...connection, config: { owner: "octocat", repos: ["nope"] } }, {
        predicates: [],
        columns: ["pr_id"],
      }, FAST),
    );
    assert.equal(missing.code, "SOURCE_ERROR");
    assert.equal(missing.details?.status, 404);
    assert.match(missing.message, /Not Found/);
    limited = true;
    const spent = await failure(
      runScan(github, table, connection, { predicates: [], columns: ["pr_id"] }, FAST),
    );
    assert.equal(spent.code, "RATE_LIMIT_EXHAUSTED");
  } finally {
    await replay.close();
  }
});

Deno.test("contract: Linear's requests validate on Linear's published schema and page by cursor", async () => {
  const schema = await vendorSchema("linear");
  const nodes = [1, 2, 3].map((n) => ({
    id: `9cfb482a-81e3-4154-b5b9-2c805e70a02${n}`,
    identifier: `MOB-${n}`,
    number: n,
    title: `Issue ${n}`,
    description: n === 2 ? null : `Description ${n}`,
    branchName: `chloe/mob-${n}-issue-${n}`,
    estimate: n === 3 ? null : n,
    priority: n,
    priorityLabel: ["No priority", "Urgent", "High", "Medium"][n],
    state: { name: "In Progress", type: "started" },
    team: { key: n === 3 ? "WEB" : "MOB", name: n === 3 ? "Web" : "Mobile" },
    assignee: n === 2 ? null : { name: "Chloe Mobile", email: "chloe.mobile@acme.example" },
    url: `https://linear.app/acme/issue/MOB-${n}/issue-${n}`,
    createdAt: `2026-11-0${n}T10:00:00.000Z`,
    updatedAt: `2026-11-0${n}T12:00:00.000Z`,
    startedAt: null,
    completedAt: null,
    canceledAt: null,
  }));
  const filters: unknown[] = [];
  const root = {
    // Two issues a page whatever `first` asks (a server may send fewer), so cursors are used.
    issues: (args: { first?: number; after?: string; filter?: TeamFilter }) => {
      filters.push(args.filter ?? null);
      const team = [args.filter, ...args.filter?.and ?? []].find((f) => f?.team)?.team?.key?.eq;
      const matching = nodes.filter((n) => team === undefined || n.team.key === team);
      const from = args.after ? Number(args.after) : 0;
      const page = matching.slice(from, from + Math.min(2, args.first ?? 50));
      const end = from + page.length;
      return {
        nodes: page,
        pageInfo: { hasNextPage: end < matching.length, endCursor: String(end) },
      };
    },
  };
  const errors: string[] = [];
  const replay = startReplay(async (req) => {
    if (req.method !== "POST" || req.path !== "/graphql") return { status: 404 };
    const answer = await executeOn(schema, root, req.body);
    errors.push(...(answer.errors ?? []).map((e) => e.message));
    return {
      status: answer.errors && !answer.data ? 400 : 200,
      headers: {
        "x-ratelimit-requests-limit": "1500",
        "x-ratelimit-requests-remaining": "1499",
        "x-ratelimit-requests-reset": "1764770400000",
      },
      body: answer,
    };
  });
  const connection: Connection = {
    id: "contract-linear",
    tenantId: "t",
    connector: "linear",
    name: "linear",
    baseUrl: replay.url,
    credentials: { apiKey: "lin_api_contract" },
    config: {},
  };
  const table = findTable(linear, "issues");
  try {
    const all = await runScan(linear, table, connection, {
      predicates: [],
      columns: table.columns.map((c) => c.name),
    }, FAST);
    assert.deepEqual(errors, [], "every request must validate on Linear's schema");
    assert.deepEqual(all.rows.map((r) => r.identifier), ["MOB-1", "MOB-2", "MOB-3"]);
    assert.equal(all.pages, 2);
    const [one, two] = all.rows;
    assert.equal(one.branch_name, "chloe/mob-1-issue-1");
    assert.equal(one.assignee_email, "chloe.mobile@acme.example");
    assert.equal(one.state, "In Progress");
    assert.equal(one.team, "MOB");
    assert.equal(two.assignee, null);
    assert.equal(two.description, null);
    assert.equal(all.rateLimit?.remaining, 1499);

    // Every predicate the manifest can push becomes an IssueFilter Linear's schema accepts.
    const pushed = await runScan(linear, table, connection, {
      predicates: [
        { column: "team", op: "=", value: "MOB" },
        { column: "estimate", op: ">", value: 0 },
        { column: "state_type", op: "in", values: ["started", "unstarted"] },
        { column: "title", op: "like", pattern: "Issue%" },
        { column: "assignee_email", op: "is not null" },
        { column: "created_at", op: ">=", value: "2026-01-01T00:00:00Z" },
      ],
      columns: ["identifier"],
    }, FAST);
    assert.deepEqual(errors, [], "every pushed filter must coerce to Linear's IssueFilter");
    const sent = JSON.stringify(filters.at(-1));
    for (const part of ['"team":{"key":{"eq":"MOB"}}', '"estimate":{"gt":0}', '"startsWith"']) {
      assert.ok(sent.includes(part), sent);
    }
    // The replay applies only the team filter; the rest is Linear's to apply.
    assert.deepEqual(pushed.rows.map((r) => r.identifier), ["MOB-1", "MOB-2"]);
  } finally {
    await replay.close();
  }
});
