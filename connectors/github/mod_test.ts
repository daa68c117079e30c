import assert from "node:assert/strict";
import { findTable, runScan, type ScanOffer } from "../sdk/mod.ts";
import { acmeConnection, withDemoSandbox } from "./_testing.ts";
import { github, readGithubError, readGithubRateLimit } from "./mod.ts";
import { failure } from "../sdk/_testing.ts";

const table = findTable(github, "pull_requests");
const OFFER: ScanOffer = {
  predicates: [{ column: "repo", op: "=", value: "ios-app" }],
  columns: ["pr_id"],
};
const FAST = { baseDelayMs: 1 };

/** What GitHub's `x-ratelimit-<name>` headers (and a `retry-after`) read as. */
function rateLimitOf(limits: Record<string, string>, retryAfter?: string) {
  const headers = new Headers();
  for (const [name, value] of Object.entries(limits)) headers.set(`x-ratelimit-${name}`, value);
  if (retryAfter !== undefined) headers.set("retry-after", retryAfter);
  return readGithubRateLimit(headers);
}

Deno.test("github: sends the token as a bearer and reads GitHub's rate-limit headers", () => {
  const info = rateLimitOf({ limit: "5000", remaining: "12", reset: "1700000000" }, "7");
  assert.deepEqual(info, {
    limit: 5000,
    remaining: 12,
    resetAt: 1_700_000_000_000,
    retryAfterMs: 7000,
  });
  assert.deepEqual(readGithubRateLimit(new Headers()), {});
});

Deno.test("github: reads error bodies; 403 is a rate limit only when GitHub says so", () => {
  const h = (remaining?: string) =>
    new Headers(remaining ? { "x-ratelimit-remaining": remaining } : {});
  assert.deepEqual(readGithubError(404, { message: "Not Found" }, h()), {
    message: "Not Found",
    rateLimited: false,
  });
  assert.equal(readGithubError(403, { message: "Forbidden" }, h("0")).rateLimited, true);
  // 429 means "too many requests" whatever the headers say.
  assert.equal(readGithubError(429, { message: "Too many" }, h("10")).rateLimited, true);
  assert.equal(
    readGithubError(403, { message: "You have exceeded a secondary rate limit." }, h("10"))
      .rateLimited,
    true,
  );
  assert.equal(
    readGithubError(403, { message: "Resource not accessible by integration" }, h("10"))
      .rateLimited,
    false,
  );
  assert.equal(
    readGithubError(502, "<html>bad gateway</html>", h()).message,
    "<html>bad gateway</html>",
  );
  assert.equal(readGithubError(500, null, h()).message, "HTTP 500");
});

Deno.test("github: a bad token is a SOURCE_ERROR about credentials", () =>
  withDemoSandbox(async (gh) => {
    const err = await failure(
      runScan(github, table, acmeConnection(gh.url, {}, "ghp_wrong"), OFFER, FAST),
    );
    assert.equal(err.code, "SOURCE_ERROR");
    assert.match(err.message, /credentials/);
    assert.match(err.message, /Bad credentials/);
    assert.ok(!err.message.includes("ghp_wrong"));
  }));

Deno.test("github: a repo the token cannot read is a SOURCE_ERROR (404)", () =>
  withDemoSandbox(async (gh) => {
    const conn = acmeConnection(gh.url, { owner: "globex", repos: ["platform-api"] });
    const err = await failure(
      runScan(github, table, conn, { predicates: [], columns: [] }, FAST),
    );
    assert.equal(err.code, "SOURCE_ERROR");
    assert.equal(err.details?.status, 404);
  }));

Deno.test("github: a spent rate limit is RATE_LIMIT_EXHAUSTED with a retry delay", () =>
  withDemoSandbox(async (gh) => {
    const conn = acmeConnection(gh.url);
    await runScan(github, table, conn, OFFER, FAST);
    const err = await failure(runScan(github, table, conn, OFFER, FAST));
    assert.equal(err.code, "RATE_LIMIT_EXHAUSTED");
    assert.ok(
      err.retryAfterMs !== undefined && err.retryAfterMs > 0 && err.retryAfterMs <= 3_600_000,
    );
    assert.equal(gh.requests.length, 2); // no retry on a spent budget
  }, { ratePerHour: 1 }));

Deno.test("github: a 502 once is retried and succeeds", () =>
  withDemoSandbox(async (gh) => {
    gh.inject({ status: 502, times: 1, path: /\/pulls$/ });
    const { rows, calls } = await runScan(github, table, acmeConnection(gh.url), OFFER, FAST);
    assert.ok(rows.length > 0);
    assert.equal(calls, 2);
  }));

Deno.test("github: a 500 three times is a SOURCE_ERROR", () =>
  withDemoSandbox(async (gh) => {
    gh.inject({ status: 500, times: 3 });
    const err = await failure(runScan(github, table, acmeConnection(gh.url), OFFER, FAST));
    assert.equal(err.code, "SOURCE_ERROR");
    assert.match(err.message, /HTTP 500/);
    assert.equal(gh.requests.length, 3);
  }));

Deno.test("github: a malformed 200 body is a SOURCE_ERROR", () =>
  withDemoSandbox(async (gh) => {
    gh.inject({ body: "{not json" });
    const err = await failure(runScan(github, table, acmeConnection(gh.url), OFFER, FAST));
    assert.equal(err.code, "SOURCE_ERROR");
    assert.match(err.message, /malformed/);
    gh.inject({ body: '{"message":"an object, not a list"}' });
    const shape = await failure(runScan(github, table, acmeConnection(gh.url), OFFER, FAST));
    assert.equal(shape.code, "SOURCE_ERROR");
    assert.match(shape.message, /malformed reply/);
  }));

Deno.test("github: a failing detail call fails the scan and leaves nothing running", () =>
  withDemoSandbox(async (gh) => {
    gh.inject({ status: 404, times: 1, path: /^\/graphql$/ });
    const err = await failure(
      runScan(github, table, acmeConnection(gh.url), { ...OFFER, columns: ["additions"] }, FAST),
    );
    assert.equal(err.code, "SOURCE_ERROR");
    assert.equal(err.details?.status, 404);
    // A GraphQL error inside a 200 (other than an object deleted since it was listed) fails too.
    gh.inject({
      status: 200,
      times: 1,
      path: /^\/graphql$/,
      body: JSON.stringify({
        errors: [{ type: "RATE_LIMITED", message: "API rate limit exceeded for user ID 1." }],
      }),
    });
    const limited = await failure(
      runScan(github, table, acmeConnection(gh.url), { ...OFFER, columns: ["additions"] }, FAST),
    );
    assert.equal(limited.code, "RATE_LIMIT_EXHAUSTED");
  }));

Deno.test("github: a 304 does not count against the rate limit", () =>
  withDemoSandbox(async (gh) => {
    const url = `${gh.url}/repos/acme/ios-app/pulls`;
    const headers = { authorization: "Bearer ghp_demo_acme_0123456789" };
    const first = await fetch(url, { headers });
    await first.body?.cancel();
    const etag = first.headers.get("etag")!;
    for (let i = 0; i < 5; i++) {
      const res = await fetch(url, { headers: { ...headers, "if-none-match": etag } });
      await res.body?.cancel();
      assert.equal(res.status, 304);
    }
    // One request of two spent: the connector's scan still gets its page.
    const { rows } = await runScan(github, table, acmeConnection(gh.url), OFFER, FAST);
    assert.ok(rows.length > 0);
  }, { ratePerHour: 2 }));

Deno.test("github: a search answer's budget is a side budget, never the connection's", () => {
  const search = rateLimitOf({ limit: "30", remaining: "1", reset: "10", resource: "search" });
  assert.equal(search.side, true);
  const core = rateLimitOf({ remaining: "4000", resource: "core" });
  assert.deepEqual(core, { remaining: 4000 });
});
