import assert from "node:assert/strict";
import { github } from "../../connectors/github/mod.ts";
import { acmeConnection, demoSandbox } from "../../connectors/github/_testing.ts";
import { OmniError } from "../errors.ts";
import { composeSourceFetch } from "../source/fetch.ts";
import { fetchContext, plannedSource } from "../source/testing.ts";
import { MemoryRateLimiter } from "./limiter.ts";
import { sourceBudget } from "./source_budget.ts";

const pullsSource = (baseUrl: string) =>
  plannedSource(github, "pull_requests", acmeConnection(baseUrl, { repos: ["mobile-app"] }), {
    predicates: [],
    columns: ["pr_id"],
  });
const ctx = () => fetchContext();

Deno.test("sourceBudget() refuses before the app would, keeping a reserve, with the app's reset", async () => {
  const gh = await demoSandbox({ ratePerHour: 4 });
  try {
    const fetchSource = composeSourceFetch([sourceBudget({ limiter: new MemoryRateLimiter() })]);
    const source = pullsSource(gh.url);
    // 4 calls an hour, 1 in reserve: three fetches of one page each, then a refusal here.
    for (let i = 0; i < 3; i++) await fetchSource(source, ctx());
    const sent = gh.requests.length;
    const err = await fetchSource(source, ctx()).then(() => undefined, (e) => e);
    assert.ok(err instanceof OmniError, String(err));
    assert.equal(err.code, "RATE_LIMIT_EXHAUSTED");
    assert.equal(err.details?.level, "source");
    assert.ok(err.retryAfterMs! > 60_000 && err.retryAfterMs! <= 3_600_000);
    assert.match(err.message, /\(all but the reserve OmniSQL keeps\) is spent; retry in \d+ s$/);
    assert.doesNotMatch(err.message, /\d+ of \d+/, "no count of the calls left");
    assert.equal(gh.requests.length, sent, "the refused fetch reached the app");
  } finally {
    await gh.close();
  }
});

Deno.test("sourceBudget() counts a tenant's configured quota in app calls", async () => {
  const gh = await demoSandbox();
  try {
    const fetchSource = composeSourceFetch([sourceBudget({
      limiter: new MemoryRateLimiter(),
      settings: () =>
        Promise.resolve({ budgets: { source: { tokens: 2, windowMs: 60_000 } } } as never),
    })]);
    const source = pullsSource(gh.url);
    const first = await fetchSource(source, ctx());
    assert.equal(first.rateLimit?.remaining, 1);
    await fetchSource(source, ctx());
    const err = await fetchSource(source, ctx()).then(() => undefined, (e) => e);
    assert.equal(err?.code, "RATE_LIMIT_EXHAUSTED");
    assert.equal(err?.details?.level, "source");
    assert.ok(err.retryAfterMs > 0 && err.retryAfterMs <= 60_000);
  } finally {
    await gh.close();
  }
});

Deno.test("sourceBudget() holds off after the app asked to wait (Retry-After)", async () => {
  const gh = await demoSandbox();
  try {
    const fetchSource = composeSourceFetch([sourceBudget({ limiter: new MemoryRateLimiter() })]);
    const source = pullsSource(gh.url);
    gh.inject({ status: 429, retryAfterS: 120, times: 5 });
    const first = await fetchSource(source, ctx()).then(() => undefined, (e) => e);
    assert.equal(first?.code, "RATE_LIMIT_EXHAUSTED");
    gh.reset();
    const second = await fetchSource(source, ctx()).then(() => undefined, (e) => e);
    assert.equal(second?.code, "RATE_LIMIT_EXHAUSTED");
    assert.equal(second?.details?.level, "source");
    assert.ok(second.retryAfterMs > 100_000);
    assert.equal(gh.requests.length, 0, "the app was called while it asked to wait");
  } finally {
    await gh.close();
  }
});
