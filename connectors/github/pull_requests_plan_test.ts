import assert from "node:assert/strict";
import type { Predicate, ScanOffer } from "../sdk/mod.ts";
import { acmeConnection } from "./_testing.ts";
import { pullRequests } from "./pull_requests.ts";

const conn = acmeConnection("https://api.github.com");
const P = (column: string, value: string): Predicate => ({ column, op: "=", value });
const list = (repo: string, qs: string) => `GET /repos/acme/${repo}/pulls?${qs}`;
const all = (qs: string) =>
  ["mobile-app", "ios-app", "web-app", "web-dashboard"].map((r) => list(r, qs));

interface Case {
  name: string;
  offer: Partial<ScanOffer>;
  native: string[];
  /** The predicates pushed, by index; every other one must come back as residual. */
  pushed: number[];
  limit?: number;
}

const cases: Case[] = [
  { name: "nothing", offer: {}, native: all("state=all&per_page=100"), pushed: [] },
  {
    name: "status = open is state=open",
    offer: { predicates: [P("status", "open")] },
    native: all("state=open&per_page=100"),
    pushed: [0],
  },
  {
    name: "status = merged is state=closed (superset)",
    offer: { predicates: [P("status", "merged")] },
    native: all("state=closed&per_page=100"),
    pushed: [0],
  },
  {
    name: "status IN (closed, merged) is state=closed",
    offer: { predicates: [{ column: "status", op: "in", values: ["closed", "merged"] }] },
    native: all("state=closed&per_page=100"),
    pushed: [0],
  },
  {
    name: "status IN (open, merged) cannot narrow: residual",
    offer: { predicates: [{ column: "status", op: "in", values: ["open", "merged"] }] },
    native: all("state=all&per_page=100"),
    pushed: [],
  },
  {
    name: "status != open is state=closed",
    offer: { predicates: [{ column: "status", op: "!=", value: "open" }] },
    native: all("state=closed&per_page=100"),
    pushed: [0],
  },
  {
    name: "status LIKE is left to DuckDB when it cannot narrow",
    offer: { predicates: [{ column: "status", op: "like", pattern: "%e%" }] },
    native: all("state=all&per_page=100"),
    pushed: [],
  },
  {
    name: "state = closed",
    offer: { predicates: [P("state", "closed")] },
    native: all("state=closed&per_page=100"),
    pushed: [0],
  },
  {
    name: "status = open AND state = closed: no calls",
    offer: { predicates: [P("status", "open"), P("state", "closed")] },
    native: [],
    pushed: [0, 1],
  },
  {
    name: "repo = one configured repo",
    offer: { predicates: [P("repo", "web-app")] },
    native: [list("web-app", "state=all&per_page=100")],
    pushed: [0],
  },
  {
    name: "repo not configured: no calls",
    offer: { predicates: [P("repo", "secret-repo")] },
    native: [],
    pushed: [0],
  },
  {
    name: "team_id IN",
    offer: { predicates: [{ column: "team_id", op: "in", values: ["web"] }] },
    native: [
      list("web-app", "state=all&per_page=100"),
      list("web-dashboard", "state=all&per_page=100"),
    ],
    pushed: [0],
  },
  {
    name: "branch and base_branch: one search finds forks' pull requests too, lists as fallback",
    offer: { predicates: [P("branch", "feature/x"), P("base_branch", "main"), P("title", "t")] },
    native: [
      "GET /search/issues?q=is%3Apr+repo%3Aacme%2Fmobile-app+repo%3Aacme%2Fios-app+" +
      "repo%3Aacme%2Fweb-app+repo%3Aacme%2Fweb-dashboard+head%3Afeature%2Fx+base%3Amain" +
      "&sort=created&order=desc&per_page=100",
      "GET /repos/acme/{repo}/pulls/{number} (per result)",
      "(more than 20 results: GET /repos/acme/{repo}/pulls?state=all&base=main&per_page=100 " +
      "(per repo) instead, branch per row)",
    ],
    pushed: [0, 1],
  },
  {
    name: "branch IN (…): lists, branch checked per row (no head=: it misses forks)",
    offer: { predicates: [{ column: "branch", op: "in", values: ["feature/x", "feature/y"] }] },
    native: all("state=all&per_page=100"),
    pushed: [0],
  },
  {
    name: "two different branches: no calls",
    offer: { predicates: [P("branch", "a"), P("branch", "b")] },
    native: [],
    pushed: [0, 1],
  },
  {
    name: "branch LIKE stays residual",
    offer: { predicates: [{ column: "branch", op: "like", pattern: "feature/%" }] },
    native: all("state=all&per_page=100"),
    pushed: [],
  },
  {
    name: "ORDER BY created_at DESC LIMIT 5 over one repo: a sorted list",
    offer: {
      predicates: [P("repo", "ios-app")],
      orderBy: [{ column: "created_at", direction: "desc" }],
      limit: 5,
    },
    native: [list("ios-app", "state=all&sort=created&direction=desc&per_page=5")],
    pushed: [0],
    limit: 5,
  },
  {
    name: "ORDER BY created_at DESC LIMIT 5 over four repos: one search, filled per result",
    offer: {
      columns: ["pr_id", "created_at"],
      orderBy: [{ column: "created_at", direction: "desc" }],
      limit: 5,
    },
    native: [
      "GET /search/issues?q=is%3Apr+repo%3Aacme%2Fmobile-app+repo%3Aacme%2Fios-app+repo%3Aacme%2Fweb-app+repo%3Aacme%2Fweb-dashboard&sort=created&order=desc&per_page=5",
      "GET /repos/acme/{repo}/pulls/{number} (per result)",
    ],
    pushed: [],
    limit: 5,
  },
  {
    name: "ORDER BY updated_at ASC LIMIT 3 of merged, title only: search without fills",
    offer: {
      predicates: [P("status", "merged"), P("team_id", "mobile")],
      columns: ["title"],
      orderBy: [{ column: "updated_at", direction: "asc" }],
      limit: 3,
    },
    native: [
      "GET /search/issues?q=is%3Apr+repo%3Aacme%2Fmobile-app+repo%3Aacme%2Fios-app+is%3Amerged&sort=updated&order=asc&per_page=3",
    ],
    pushed: [0, 1],
    limit: 3,
  },
  {
    name: "ORDER BY created_at LIMIT 50 needing pr_id: sorted lists, merged",
    offer: {
      columns: ["pr_id"],
      orderBy: [{ column: "created_at", direction: "desc" }],
      limit: 50,
    },
    native: all("state=all&sort=created&direction=desc&per_page=50"),
    pushed: [],
    limit: 50,
  },
  {
    name: "a residual predicate voids the limit",
    offer: {
      predicates: [P("author", "x")],
      orderBy: [{ column: "created_at", direction: "desc" }],
      limit: 5,
    },
    native: all("state=all&per_page=100"),
    pushed: [],
  },
  {
    name: "ORDER BY another column voids the limit",
    offer: { orderBy: [{ column: "additions", direction: "desc" }], limit: 10 },
    native: [...all("state=all&per_page=100"), "POST /graphql (sizes, per 100 rows)"],
    pushed: [],
  },
  {
    name: "LIMIT alone: small pages, stop early",
    offer: { limit: 3 },
    native: all("state=all&per_page=3"),
    pushed: [],
    limit: 3,
  },
  {
    name: "LIMIT with a superset status filter keeps full pages",
    offer: { predicates: [P("status", "merged")], limit: 3 },
    native: all("state=closed&per_page=100"),
    pushed: [0],
    limit: 3,
  },
  {
    name: "email and sizes add GraphQL batches",
    offer: { predicates: [P("repo", "web-app")], columns: ["email", "additions"] },
    native: [
      list("web-app", "state=all&per_page=100"),
      "POST /graphql (sizes, per 100 rows)",
      "POST /graphql (public emails, per 100 distinct authors)",
    ],
    pushed: [0],
  },
];

for (const c of cases) {
  Deno.test(`plan: ${c.name}`, () => {
    const offer: ScanOffer = { predicates: [], columns: ["pr_id"], ...c.offer };
    const plan = pullRequests.plan(offer, conn);
    assert.deepEqual(plan.native, c.native);
    assert.deepEqual(plan.pushed, c.pushed.map((i) => offer.predicates[i]));
    assert.deepEqual(plan.residual, offer.predicates.filter((_, i) => !c.pushed.includes(i)));
    assert.equal(plan.limit, c.limit);
    for (const col of [...offer.columns, ...offer.predicates.map((p) => p.column)]) {
      assert.ok(plan.columns.includes(col), col);
    }
  });
}

const HOSTILE = [
  "x' OR 1=1",
  'a"b',
  "back\\slash",
  "&per_page=1",
  "line\nbreak",
  "ü🚀",
  "a#b?c=d",
  "%41",
];

Deno.test("plan: hostile branch and base values are encoded and change no other parameter", () => {
  for (const value of HOSTILE) {
    for (const column of ["branch", "base_branch"]) {
      const plan = pullRequests.plan({
        predicates: [P(column, value), P("repo", "web-app")],
        columns: ["pr_id"],
        orderBy: [{ column: "created_at", direction: "desc" }],
        limit: 5,
      }, conn);
      // Never in a search query: a branch that is not a plain qualifier is checked on lists.
      assert.equal(plan.native.length, 1, value);
      const line = plan.native[0];
      assert.ok(!/[\s"\\#]/.test(line.slice(4)), `unencoded: ${JSON.stringify(line)}`);
      const url = new URL(line.slice(4), "https://api.github.com");
      assert.equal(url.pathname, "/repos/acme/web-app/pulls");
      const params = [...url.searchParams];
      assert.deepEqual(params, [
        ["state", "all"],
        ...(column === "branch" ? [] : [["base", value]]),
        ["sort", "created"],
        ["direction", "desc"],
        ["per_page", column === "branch" ? "100" : "5"],
      ]);
    }
  }
});

Deno.test("plan: hostile base values never reach a search query", () => {
  for (const value of HOSTILE) {
    const plan = pullRequests.plan({
      predicates: [P("base_branch", value)],
      columns: ["title"],
      orderBy: [{ column: "created_at", direction: "desc" }],
      limit: 5,
    }, conn);
    assert.ok(plan.native.every((l) => !l.includes("/search/")), value);
  }
  const safe = pullRequests.plan({
    predicates: [P("base_branch", "release/1.2")],
    columns: ["title"],
    orderBy: [{ column: "created_at", direction: "desc" }],
    limit: 5,
  }, conn);
  assert.match(safe.native[0], /^GET \/search\/issues\?q=.*base%3Arelease%2F1\.2&/);
});

Deno.test("plan: hostile repo and team values match nothing and make no calls", () => {
  for (const value of [...HOSTILE, "../globex", "mobile-app/../../x", "constructor", "__proto__"]) {
    for (const column of ["repo", "team_id"]) {
      const plan = pullRequests.plan({ predicates: [P(column, value)], columns: ["pr_id"] }, conn);
      assert.deepEqual(plan.native, [], `${column} = ${value}`);
    }
  }
});

Deno.test("plan: without configured repos the org is listed, and search uses org:", () => {
  const orgConn = acmeConnection("https://api.github.com", { repos: undefined });
  const plan = pullRequests.plan(
    { predicates: [P("repo", "web-app")], columns: ["pr_id"] },
    orgConn,
  );
  assert.deepEqual(plan.native, [
    "GET /orgs/acme/repos?per_page=100",
    "GET /repos/acme/{repo}/pulls?state=all&per_page=100 (per repo)",
  ]);
  const top = pullRequests.plan({
    predicates: [],
    columns: ["title"],
    orderBy: [{ column: "created_at", direction: "desc" }],
    limit: 5,
  }, orgConn);
  assert.equal(
    top.native[0],
    "GET /search/issues?q=is%3Apr+org%3Aacme&sort=created&order=desc&per_page=5",
  );
});

Deno.test("plan: a misconfigured connection is a SOURCE_ERROR", () => {
  for (
    const config of [{ owner: "" }, { owner: "a/b" }, { repos: "x" }, { repos: ["../x"] }, {
      teams: [],
    }]
  ) {
    assert.throws(
      () => pullRequests.plan({ predicates: [], columns: [] }, acmeConnection("https://x", config)),
      (e: Error & { code?: string }) => e.code === "SOURCE_ERROR",
    );
  }
});
