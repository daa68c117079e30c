import assert from "node:assert/strict";
import { github } from "../../connectors/github/mod.ts";
import { acmeConnection, demoSandbox } from "../../connectors/github/_testing.ts";
import type { ScanOffer } from "../../connectors/sdk/mod.ts";
import { generateMasterKey, KeyRing, MemoryKeyStore } from "../crypto/mod.ts";
import { composeSourceFetch, type SourceFetcher } from "../source/fetch.ts";
import type { SourcePlan } from "../sql/plan.ts";
import { fetchContext, plannedSource } from "../source/testing.ts";
import { OmniError } from "../errors.ts";
import { MemoryKvStore } from "./memory_store.ts";
import { sourceCache } from "./source_cache.ts";
import { TenantCache } from "./tenant_cache.ts";

function cachedFetcher(
  store = new MemoryKvStore(),
  keyRing = new KeyRing({ masterKey: generateMasterKey(), store: new MemoryKeyStore() }),
) {
  const cache = new TenantCache({ store, keyRing, zone: "us" });
  return composeSourceFetch([
    sourceCache({ cache, settings: () => Promise.resolve(undefined) }),
  ]);
}

const source = (baseUrl: string, offer: ScanOffer) =>
  plannedSource(github, "pull_requests", acmeConnection(baseUrl), offer);
const context = fetchContext;

Deno.test("sourceCache: validators stored by one column set revalidate another's fetch", async () => {
  const gh = await demoSandbox();
  try {
    const fetcher = cachedFetcher();
    const narrow = source(gh.url, { predicates: [], columns: ["pr_id"] });
    const wide = source(gh.url, { predicates: [], columns: ["pr_id", "title", "author"] });
    const first = await fetcher(narrow, context({ max_staleness_ms: 0 }));
    assert.ok(first.calls > 0);
    assert.equal(first.revalidated ?? 0, 0);
    const requests = gh.requests.length;
    const second = await fetcher(wide, context({ max_staleness_ms: 0 }));
    assert.equal(second.fromCache, false);
    assert.equal(second.calls, 0, "the other column set paid full price");
    assert.equal(second.revalidated, first.calls);
    assert.equal(second.rows.length, first.rows.length);
    assert.equal(gh.requests.length - requests, first.calls, "every URL was asked again, once");
  } finally {
    await gh.close();
  }
});

/** Runs `fn` with a sandbox, a cached fetcher and a plan of the sandbox's pull requests. */
async function withCachedPlan(
  fn: (
    gh: Awaited<ReturnType<typeof demoSandbox>>,
    fetcher: SourceFetcher,
    plan: SourcePlan,
  ) => Promise<void>,
  store = new MemoryKvStore(),
): Promise<void> {
  const gh = await demoSandbox();
  try {
    await fn(gh, cachedFetcher(store), source(gh.url, { predicates: [], columns: ["pr_id"] }));
  } finally {
    gh.reset();
    await gh.close();
  }
}

Deno.test("sourceCache: a live fetch's entry is stored once its query has answered, not during its engine step", async () => {
  const gh = await demoSandbox();
  try {
    const written: string[] = [];
    const store = new MemoryKvStore();
    const set = store.set.bind(store);
    // The entry (`s:e:`) and the index (`s:i:`); validators and the fetch's lease are written
    // while it fetches.
    store.set = (key, value, ttlMs) => {
      if (/:s:[ei]:/.test(key)) written.push(key);
      return set(key, value, ttlMs);
    };
    const fetcher = cachedFetcher(store);
    const plan = source(gh.url, { predicates: [], columns: ["pr_id", "title"] });
    const answered = Promise.withResolvers<void>();
    const live = await fetcher(plan, {
      ...context({ max_staleness_ms: 0 }),
      answered: answered.promise,
    });
    assert.equal(live.fromCache, false);
    await new Promise((resolve) => setTimeout(resolve, 100));
    assert.deepEqual(written, [], "nothing is sealed or stored while the query still runs");
    answered.resolve();
    for (let i = 0; i < 100 && written.length < 2; i++) {
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    assert.equal(written.length, 2, "the entry and its index are stored once it has answered");
    const next = await fetcher(plan, context({ max_staleness_ms: 60_000 }));
    assert.equal(next.fromCache, true);
    assert.deepEqual(next.rows, live.rows);
  } finally {
    await gh.close();
  }
});

Deno.test("sourceCache: a permanent 404 is the app's SOURCE_ERROR even with older data cached", async () => {
  await withCachedPlan(async (gh, fetcher, plan) => {
    await fetcher(plan, context({ max_staleness_ms: 0 }));
    for (const status of [400, 401, 403, 404, 410, 422]) {
      gh.inject({ status, times: 100 });
      const err = await fetcher(plan, context({ max_staleness_ms: 0, allow_stale: true })).then(
        () => assert.fail(`HTTP ${status} was hidden behind cached data`),
        (e) => e,
      );
      gh.reset();
      assert.ok(err instanceof OmniError, String(err));
      assert.equal(err.code, "SOURCE_ERROR", err.message);
      assert.equal(err.details?.status, status);
      assert.equal(err.details?.transient, false);
      const says = { 401: "credentials", 403: "denied access" }[status as 401 | 403];
      assert.match(err.message, new RegExp(says ?? `HTTP ${status}`));
      assert.equal(typeof err.details?.upstream_message, "string");
    }
  });
});

Deno.test("sourceCache: a transient 503 falls back to cached data: STALE_DATA, or stale rows when allowed", async () => {
  await withCachedPlan(async (gh, fetcher, plan) => {
    const fresh = await fetcher(plan, context({ max_staleness_ms: 0 }));
    gh.inject({ status: 503, times: 100 });
    const refused = await fetcher(plan, context({ max_staleness_ms: 0 })).then(
      () => assert.fail("served stale data unasked"),
      (e) => e,
    );
    assert.ok(refused instanceof OmniError);
    assert.equal(refused.code, "STALE_DATA");
    assert.equal(refused.details?.reason, "SOURCE_ERROR");
    const stale = await fetcher(plan, context({ max_staleness_ms: 0, allow_stale: true }));
    assert.equal(stale.stale, true);
    assert.equal(stale.rows.length, fresh.rows.length);
  });
});

Deno.test("sourceCache: an entry read warm again and again is still held to each query's staleness", async () => {
  await withCachedPlan(async (gh, fetcher, plan) => {
    const fetched = await fetcher(plan, context({ max_staleness_ms: 0 }));
    const calls = gh.requests.length;
    // Warm reads (the decoded entry is remembered after the first): same rows, no call.
    for (let i = 0; i < 3; i++) {
      const warm = await fetcher(plan, context({ max_staleness_ms: 600_000 }));
      assert.equal(warm.fromCache, true);
      assert.deepEqual(warm.rows, fetched.rows);
    }
    assert.equal(gh.requests.length, calls);
    // Once the entry is older than a query allows, it is fetched again, remembered or not.
    await new Promise((r) => setTimeout(r, 5));
    const strict = await fetcher(plan, context({ max_staleness_ms: 1 }));
    assert.equal(strict.fromCache, false);
    assert.ok(gh.requests.length > calls);
  });
});

Deno.test("sourceCache: a live fetch's entry, written behind its answer, serves the next query", async () => {
  const gh = await demoSandbox();
  try {
    const fetcher = cachedFetcher();
    const plan = source(gh.url, { predicates: [], columns: ["pr_id", "title"] });
    const live = await fetcher(plan, context({ max_staleness_ms: 0 }));
    assert.equal(live.fromCache, false);
    const requests = gh.requests.length;
    const next = await fetcher(plan, context({ max_staleness_ms: 60_000 }));
    assert.equal(next.fromCache, true);
    assert.deepEqual(next.rows, live.rows);
    assert.equal(gh.requests.length, requests, "the app was not asked again");
  } finally {
    await gh.close();
  }
});

Deno.test("sourceCache: a live fetch reads no entry from the store before its first call to the app", async () => {
  const store = new MemoryKvStore();
  await withCachedPlan(async (gh, fetcher, plan) => {
    await fetcher(plan, context({ max_staleness_ms: 0 }));
    // An entry is stored now; a second live fetch takes the lease and goes to the app.
    const reads: string[] = [];
    const get = store.get.bind(store);
    store.get = (key) => {
      reads.push(key);
      return get(key);
    };
    const requests = gh.requests.length;
    const live = await fetcher(plan, context({ max_staleness_ms: 0 }));
    assert.equal(live.fromCache, false);
    assert.ok(gh.requests.length > requests);
    assert.deepEqual(reads.filter((key) => /:s:e:/.test(key)), [], "the stored entry was read");
    // A transient failure still falls back to that entry, read once the app has failed.
    gh.inject({ status: 503, times: 100 });
    const stale = await fetcher(plan, context({ max_staleness_ms: 0, allow_stale: true }));
    assert.equal(stale.stale, true);
    assert.deepEqual(stale.rows, live.rows);
  }, store);
});

Deno.test("sourceCache: a tenant's remembered validators go when its keys are shredded", async () => {
  const store = new MemoryKvStore();
  const keyRing = new KeyRing({ masterKey: generateMasterKey(), store: new MemoryKeyStore() });
  const gh = await demoSandbox();
  try {
    const fetcher = cachedFetcher(store, keyRing);
    const plan = source(gh.url, { predicates: [], columns: ["pr_id"] });
    await fetcher(plan, context({ max_staleness_ms: 0 }));
    await new Promise((resolve) => setTimeout(resolve, 100)); // validators written behind it
    const validatorReads: string[] = [];
    const get = store.get.bind(store);
    store.get = (key) => {
      if (/:s:v:/.test(key)) validatorReads.push(key);
      return get(key);
    };
    const remembered = await fetcher(plan, context({ max_staleness_ms: 0 }));
    assert.ok(remembered.revalidated! > 0);
    assert.deepEqual(validatorReads, [], "the validators were read from the store");
    await new Promise((resolve) => setTimeout(resolve, 100)); // its 304s renewed behind it

    await keyRing.shred("acme");
    const after = await fetcher(plan, context({ max_staleness_ms: 0 }));
    assert.ok(validatorReads.length > 0, "validators were sent from memory after the shred");
    assert.equal(after.revalidated ?? 0, 0);
    assert.equal(after.calls, remembered.revalidated);
  } finally {
    await gh.close();
  }
});
