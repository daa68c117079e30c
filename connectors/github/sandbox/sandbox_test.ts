import assert from "node:assert/strict";
import { demoOrg } from "../../demo/world.ts";
import { parseLinkHeader } from "../../sdk/mod.ts";
import { ACME_TOKEN, auth, withDemoSandbox } from "../_testing.ts";
import { issueId, pullRequestId } from "./mod.ts";

const acme = demoOrg("acme");
const mobile = acme.pulls.filter((p) => p.repo === "mobile-app");

async function getJson(url: string, headers: HeadersInit = auth()) {
  const res = await fetch(url, { headers });
  const text = await res.text();
  return { res, body: text === "" ? null : JSON.parse(text) };
}

Deno.test("sandbox: Link headers have GitHub's first, middle and last shapes", () =>
  withDemoSandbox(async (gh) => {
    const pages = Math.ceil(mobile.length / 10);
    const base = `${gh.url}/repos/acme/mobile-app/pulls?state=all&per_page=10`;
    const first = parseLinkHeader((await getJson(base)).res.headers.get("link"));
    assert.deepEqual(Object.keys(first), ["next", "last"]);
    assert.equal(new URL(first.next).searchParams.get("page"), "2");
    assert.equal(new URL(first.last).searchParams.get("page"), String(pages));
    assert.equal(new URL(first.next).searchParams.get("per_page"), "10");
    assert.equal(new URL(first.next).searchParams.get("state"), "all");

    const { res: mid, body } = await getJson(first.next);
    assert.equal(body.length, 10);
    const middle = parseLinkHeader(mid.headers.get("link"));
    assert.deepEqual(Object.keys(middle), ["prev", "next", "last", "first"]);
    assert.equal(new URL(middle.prev).searchParams.get("page"), "1");
    assert.equal(new URL(middle.next).searchParams.get("page"), "3");

    const { res: end, body: lastBody } = await getJson(first.last);
    assert.equal(lastBody.length, mobile.length - (pages - 1) * 10);
    assert.deepEqual(Object.keys(parseLinkHeader(end.headers.get("link"))), ["prev", "first"]);

    const { res: only } = await getJson(
      `${gh.url}/repos/acme/mobile-app/pulls?state=all&per_page=100`,
    );
    assert.equal(only.headers.get("link"), null);
  }));

Deno.test("sandbox: pulls list filters, sorts and defaults like GitHub", () =>
  withDemoSandbox(async (gh) => {
    const open = (await getJson(`${gh.url}/repos/acme/mobile-app/pulls?per_page=100`)).body;
    assert.equal(open.length, mobile.filter((p) => p.state === "open").length); // default open
    const created = open.map((p: { created_at: string }) => p.created_at);
    assert.deepEqual(created, [...created].sort().reverse()); // default created desc
    const upd =
      (await getJson(`${gh.url}/repos/acme/mobile-app/pulls?state=all&sort=updated&per_page=100`))
        .body;
    const u = upd.map((p: { updated_at: string }) => p.updated_at);
    assert.deepEqual(u, [...u].sort()); // sort=updated defaults to asc
    const pr = mobile[3];
    const byHead = async (owner: string) =>
      (await getJson(
        `${gh.url}/repos/acme/mobile-app/pulls?state=all&head=${
          encodeURIComponent(`${owner}:${pr.head}`)
        }`,
      )).body;
    // `head` takes the owner of the repository the branch is in: a fork's, not the base's.
    assert.ok(pr.headOwner, "mobile-app #4 comes from a fork");
    assert.deepEqual(await byHead("acme"), []);
    const head = await byHead(pr.headOwner!);
    assert.deepEqual(head.map((p: { number: number }) => p.number), [pr.number]);
    assert.equal(head[0].head.label, `${pr.headOwner}:${pr.head}`);
    assert.equal(head[0].head.repo.fork, true);
    assert.equal(head[0].id, pullRequestId("acme", "mobile-app", pr.number));
    assert.equal(head[0].head.ref, pr.head);
    assert.equal(head[0].additions, undefined); // list items lack sizes
    const detail = (await getJson(`${gh.url}/repos/acme/mobile-app/pulls/${pr.number}`)).body;
    assert.equal(detail.additions, pr.additions);
    assert.equal(detail.changed_files, pr.changedFiles);
    assert.equal(detail.merged, pr.mergedAt !== null);
  }));

Deno.test("sandbox: auth errors, other owners' repos and unknown paths", () =>
  withDemoSandbox(async (gh) => {
    const bad = await getJson(`${gh.url}/repos/acme/mobile-app/pulls`, {
      authorization: "Bearer nope",
    });
    assert.equal(bad.res.status, 401);
    assert.equal(bad.body.message, "Bad credentials");
    assert.ok(bad.body.documentation_url);
    assert.equal((await getJson(`${gh.url}/rate_limit`, {})).res.status, 401);
    const tok = await getJson(`${gh.url}/repos/acme/mobile-app/pulls`, {
      authorization: `token ${ACME_TOKEN}`,
    });
    assert.equal(tok.res.status, 200);
    const other = await getJson(`${gh.url}/repos/globex/platform-api/pulls`);
    assert.equal(other.res.status, 404);
    assert.equal(other.body.message, "Not Found");
    for (
      const path of [
        "/nope",
        "/repos/acme",
        "/repos/acme/mobile-app/pulls/abc",
        "/users/nobody-here",
      ]
    ) {
      const r = await getJson(gh.url + path);
      assert.equal(r.res.status, 404, path);
      assert.equal(r.body.message, "Not Found");
    }
  }));

Deno.test("sandbox: bad query strings get 422 or defaults, never a 500", () =>
  withDemoSandbox(async (gh) => {
    for (const qs of ["state=merged", "sort=best", "direction=up"]) {
      const r = await getJson(`${gh.url}/repos/acme/mobile-app/pulls?${qs}`);
      assert.equal(r.res.status, 422, qs);
      assert.equal(r.body.message, "Validation Failed");
      assert.ok(Array.isArray(r.body.errors));
    }
    for (
      const qs of ["per_page=abc", "page=-3", "per_page=1000", "page=%ZZ", "head=%F0%9F", "base="]
    ) {
      const r = await getJson(`${gh.url}/repos/acme/mobile-app/pulls?${qs}`);
      assert.equal(r.res.status, 200, qs);
    }
    const big = await getJson(`${gh.url}/repos/acme/mobile-app/pulls?state=all&per_page=1000`);
    assert.equal(big.body.length, Math.min(100, mobile.length));
    for (
      const qs of [
        "",
        "q=",
        `q=${"a".repeat(257)}`,
        "q=is:pr&sort=stars",
        "q=is:pr&page=11&per_page=100",
        "q=repo:globex/platform-api",
      ]
    ) {
      const r = await getJson(`${gh.url}/search/issues?${qs}`);
      assert.equal(r.res.status, 422, qs);
    }
  }));

Deno.test("sandbox: search finds pull requests with issue ids and merged_at", () =>
  withDemoSandbox(async (gh) => {
    const q = encodeURIComponent("is:pr repo:acme/mobile-app repo:acme/ios-app is:merged");
    const r = await getJson(`${gh.url}/search/issues?q=${q}&sort=created&order=asc&per_page=7`);
    assert.equal(r.res.headers.get("x-ratelimit-resource"), "search");
    assert.equal(r.res.headers.get("x-ratelimit-limit"), "30");
    const expected = acme.pulls.filter((p) =>
      ["mobile-app", "ios-app"].includes(p.repo) && p.mergedAt
    )
      .sort((a, b) => a.createdAt.localeCompare(b.createdAt));
    assert.equal(r.body.total_count, expected.length);
    assert.equal(r.body.incomplete_results, false);
    assert.equal(r.body.items.length, 7);
    const item = r.body.items[0];
    const repo = item.repository_url.split("/").at(-1);
    assert.equal(item.created_at, expected[0].createdAt);
    assert.equal(item.id, issueId("acme", repo, item.number));
    assert.notEqual(item.id, pullRequestId("acme", repo, item.number));
    assert.ok(item.pull_request.merged_at);
    assert.ok(parseLinkHeader(r.res.headers.get("link")).next);
    const author = acme.pulls[0].author;
    const byAuthor = await getJson(
      `${gh.url}/search/issues?q=${
        encodeURIComponent(`is:pr org:acme author:${author} is:open`)
      }&per_page=100`,
    );
    assert.equal(
      byAuthor.body.total_count,
      acme.pulls.filter((p) => p.author === author && p.state === "open").length,
    );
  }));

Deno.test("sandbox: users, org repos and the /api/v3 prefix", () =>
  withDemoSandbox(async (gh) => {
    const withEmail = acme.people.find((p) => p.publicEmail)!;
    const without = acme.people.find((p) => !p.publicEmail)!;
    assert.equal(
      (await getJson(`${gh.url}/users/${withEmail.login}`)).body.email,
      withEmail.publicEmail,
    );
    assert.equal((await getJson(`${gh.url}/users/${without.login}`)).body.email, null);
    const repos = await getJson(`${gh.url}/api/v3/orgs/acme/repos?per_page=2`);
    assert.deepEqual(repos.body.map((r: { name: string }) => r.name), ["mobile-app", "ios-app"]);
    const next = parseLinkHeader(repos.res.headers.get("link")).next;
    assert.ok(next.startsWith(`${gh.url}/api/v3/orgs/acme/repos?`), next);
    const pulls = await getJson(`${gh.url}/api/v3/repos/acme/web-app/pulls?state=all&per_page=5`);
    assert.ok(
      parseLinkHeader(pulls.res.headers.get("link")).next.startsWith(
        `${gh.url}/api/v3/repositories/`,
      ),
    );
    assert.ok(pulls.body[0].url.startsWith(`${gh.url}/api/v3/repos/acme/web-app/pulls/`));
  }));

Deno.test("sandbox: rate limits count per token; a 304 costs nothing", () =>
  withDemoSandbox(async (gh) => {
    const url = `${gh.url}/repos/acme/mobile-app/pulls`;
    const a = await getJson(url);
    assert.equal(a.res.headers.get("x-ratelimit-remaining"), "2");
    assert.equal(a.res.headers.get("x-ratelimit-used"), "1");
    assert.equal(a.res.headers.get("x-ratelimit-resource"), "core");
    const etag = a.res.headers.get("etag")!;
    assert.match(etag, /^W\/"/);
    const cached = await fetch(url, { headers: { ...auth(), "if-none-match": etag } });
    assert.equal(cached.status, 304);
    assert.equal(await cached.text(), "");
    assert.equal(cached.headers.get("x-ratelimit-remaining"), "2");
    await getJson(url);
    await getJson(url);
    const spent = await getJson(url);
    assert.equal(spent.res.status, 403);
    assert.equal(spent.res.headers.get("x-ratelimit-remaining"), "0");
    assert.match(spent.body.message, /^API rate limit exceeded for/);
    assert.ok(Number(spent.res.headers.get("x-ratelimit-reset")) > Date.now() / 1000);
    const rl = await getJson(`${gh.url}/rate_limit`);
    assert.equal(rl.body.resources.core.remaining, 0);
    assert.equal(rl.body.resources.search.limit, 1);
    const s1 = await getJson(`${gh.url}/search/issues?q=is:pr`);
    assert.equal(s1.res.status, 200); // its own budget
    const s2 = await getJson(`${gh.url}/search/issues?q=is:pr`);
    assert.equal(s2.res.status, 403);
    assert.equal(s2.res.headers.get("x-ratelimit-resource"), "search");
    gh.reset();
    assert.equal((await getJson(url)).res.status, 200);
    assert.equal(gh.requests.length, 1);
  }, { ratePerHour: 3, searchPerMinute: 1 }));

Deno.test("sandbox: injected faults hit matching requests, then stop", () =>
  withDemoSandbox(async (gh) => {
    gh.inject({ status: 502, times: 2, path: /\/pulls$/, retryAfterS: 1 });
    const a = await getJson(`${gh.url}/users/${acme.people[0].login}`);
    assert.equal(a.res.status, 200); // path does not match
    const b = await getJson(`${gh.url}/repos/acme/mobile-app/pulls`);
    assert.equal(b.res.status, 502);
    assert.equal(b.res.headers.get("retry-after"), "1");
    assert.equal((await getJson(`${gh.url}/repos/acme/mobile-app/pulls`)).res.status, 502);
    assert.equal((await getJson(`${gh.url}/repos/acme/mobile-app/pulls`)).res.status, 200);
    gh.inject({ body: "{not json" });
    const bad = await fetch(`${gh.url}/rate_limit`, { headers: auth() });
    assert.equal(bad.status, 200);
    assert.equal(await bad.text(), "{not json");
    gh.inject({ latencyMs: 50 });
    const t0 = performance.now();
    assert.equal((await getJson(`${gh.url}/rate_limit`)).res.status, 200);
    assert.ok(performance.now() - t0 >= 45);
  }));

Deno.test("sandbox: GraphQL answers sizes and emails, a missing object as null with NOT_FOUND", () =>
  withDemoSandbox(async (gh) => {
    const pr = mobile[0];
    const person = acme.people.find((p) => p.publicEmail === null)!;
    const post = async (query: string, variables: Record<string, unknown> = {}) => {
      const res = await fetch(`${gh.url}/graphql`, {
        method: "POST",
        headers: auth(),
        body: JSON.stringify({ query, variables }),
      });
      return { res, body: await res.json() };
    };
    const { res, body } = await post(
      `query($n: Int!, $l: String!) {
        a: repository(owner: "acme", name: "mobile-app") {
          pullRequest(number: $n) { additions deletions changedFiles commits { totalCount } }
        }
        b: repository(owner: "acme", name: "mobile-app") { pullRequest(number: 99999) { additions } }
        u: user(login: $l) { email }
      }`,
      { n: pr.number, l: person.login },
    );
    assert.equal(res.status, 200);
    assert.equal(res.headers.get("x-ratelimit-resource"), "graphql");
    assert.deepEqual(body.data.a.pullRequest, {
      additions: pr.additions,
      deletions: pr.deletions,
      changedFiles: pr.changedFiles,
      commits: { totalCount: pr.commits },
    });
    assert.equal(body.data.b.pullRequest, null);
    assert.equal(body.data.u.email, ""); // GraphQL's "no public email"
    assert.deepEqual(body.errors.map((e: { type: string; path: string[] }) => [e.type, e.path]), [
      ["NOT_FOUND", ["b", "pullRequest"]],
    ]);
    const invalid = await post("{ repository(owner: 1) { nope } }");
    assert.equal(invalid.res.status, 200);
    assert.equal(invalid.body.data, undefined);
    assert.ok(invalid.body.errors.length > 0);
    const anonymous = await fetch(`${gh.url}/graphql`, { method: "POST", body: "{}" });
    assert.equal(anonymous.status, 401);
    await anonymous.body?.cancel();
  }));
