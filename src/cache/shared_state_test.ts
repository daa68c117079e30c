/**
 * State shared by the instances of a zone, on real Redis (through the REST bridge) and a real
 * Postgres catalog: each "instance" here has its own clients, caches and key ring, as separate
 * processes would; only Redis and the catalog are shared.
 */
import assert from "node:assert/strict";
import { github } from "../../connectors/github/mod.ts";
import { acmeConnection, demoSandbox } from "../../connectors/github/_testing.ts";
import { startRedisHttp } from "../../bridge/redis_http.ts";
import { CatalogKeyStore } from "../catalog/key_store.ts";
import { openTestCatalog } from "../catalog/testing.ts";
import { KeyRing } from "../crypto/mod.ts";
import { composeSourceFetch } from "../source/fetch.ts";
import { fetchContext, plannedSource } from "../source/testing.ts";
import { ResultCache } from "./result_cache.ts";
import { sourceCache } from "./source_cache.ts";
import { TenantCache } from "./tenant_cache.ts";
import { upstashClient, UpstashKvStore } from "./upstash_store.ts";

const opts = { sanitizeOps: false, sanitizeResources: false };
const plan = (baseUrl: string) =>
  plannedSource(github, "pull_requests", acmeConnection(baseUrl), {
    predicates: [],
    columns: ["pr_id", "title"],
  });
const context = () => fetchContext({ max_staleness_ms: 0 });

/** A Redis bridge, a Postgres catalog, and a way to make instances sharing both. */
async function sharedStores() {
  const bridge = await startRedisHttp({ token: "shared-state-test" });
  const t = await openTestCatalog("postgres");
  const prefix = `shared-state-test-${crypto.randomUUID()}`;
  const instance = (leaseMs?: number, keyPrefix = prefix) => {
    const keyRing = new KeyRing({
      masterKey: t.masterKey,
      store: new CatalogKeyStore(t.catalogDb.db),
    });
    const cache = new TenantCache({
      store: new UpstashKvStore(bridge),
      keyRing,
      zone: "us",
      prefix: keyPrefix,
    });
    const fetch = composeSourceFetch([
      sourceCache({ cache, settings: () => Promise.resolve(undefined), leaseMs }),
    ]);
    return { keyRing, cache, fetch, results: new ResultCache(cache) };
  };
  return {
    bridge,
    prefix,
    keyRing: t.keyRing,
    instance,
    async close() {
      await t.close();
      await bridge.close();
    },
  };
}

Deno.test("identical cold fetches on two instances make one set of API calls", opts, async () => {
  const gh = await demoSandbox({ latencyMs: 150 });
  const s = await sharedStores();
  try {
    const [a, b] = [s.instance(), s.instance()];
    const source = plan(gh.url);
    const [fromA, fromB] = await Promise.all([
      a.fetch(source, context()),
      b.fetch(source, context()),
    ]);
    const fetched = [fromA, fromB].filter((r) => !r.fromCache);
    assert.equal(fetched.length, 1, "both instances fetched");
    assert.ok(fetched[0].calls > 0);
    assert.equal(gh.requests.length, fetched[0].calls, "the apps saw a second set of calls");
    assert.deepEqual(fromA.rows, fromB.rows);
  } finally {
    await s.close();
    await gh.close();
  }
});

Deno.test("a fetch whose instance died is taken over once its lease expires", opts, async () => {
  const gh = await demoSandbox();
  const s = await sharedStores();
  try {
    const source = plan(gh.url);
    // The fetch's lease key, as an instance on another prefix writes its entry.
    const probePrefix = `${s.prefix}-probe`;
    await s.instance(undefined, probePrefix).fetch(source, context());
    // The entry is written behind the answer: it lands within moments.
    let entry: Uint8Array | undefined;
    for (let tries = 0; !entry && tries < 100; tries++) {
      [entry] = (await s.bridge.redis("KEYS", `${probePrefix}:us:acme:s:e:*`)) as Uint8Array[];
      if (!entry) await new Promise((r) => setTimeout(r, 20));
    }
    assert.ok(entry, "the probe stored no entry");
    const lock = new TextDecoder().decode(entry).split(":").slice(-1)[0];
    const before = gh.requests.length;

    // What a dead instance leaves: the fetch's lease, held by nobody alive, and no entry.
    const survivor = s.instance(300);
    assert.ok(await survivor.cache.claim("acme", `s:l:${lock}`, "dead", 1500));
    const fetching = survivor.fetch(source, context());
    // While the dead instance's lease lasts, the survivor waits for its entry…
    const early = await Promise.race([
      fetching.then(() => "answered"),
      new Promise((r) => setTimeout(() => r("waiting"), 300)),
    ]);
    assert.equal(early, "waiting");
    // …and once it expires with no entry written, fetches itself.
    const result = await fetching;
    assert.equal(result.fromCache, false);
    // It asked the app itself (revalidating with the validators the probe stored, if any).
    const asked = result.calls + (result.revalidated ?? 0);
    assert.ok(asked > 0);
    assert.equal(gh.requests.length - before, asked);
  } finally {
    await s.close();
    await gh.close();
  }
});

Deno.test("a result cached by one instance is a hit on another", opts, async () => {
  const s = await sharedStores();
  try {
    const [a, b] = [s.instance(), s.instance()];
    const body = { columns: ["n"], rows: [{ n: 1 }], freshness_ms: 0, sources: [] };
    assert.equal(await b.results.get("acme", "fp", "SELECT 1"), undefined);
    await a.results.put("acme", "fp", "SELECT 1", body, 60_000);
    const hit = await b.results.get("acme", "fp", "SELECT 1");
    // The rows are kept as the JSON text they were answered in, beside the rest of the body.
    const { rows, ...rest } = body;
    assert.deepEqual(hit?.body, rest);
    assert.equal(hit?.rowsJson, JSON.stringify(rows));
  } finally {
    await s.close();
  }
});

Deno.test(
  "without notices, a shred is seen by every instance once its 1 s key memo expires",
  opts,
  async () => {
    const s = await sharedStores();
    try {
      const [a, b, c] = [s.instance(), s.instance(), s.instance()];
      await a.cache.set("acme", "r:x", { rows: [1] }, 60_000);
      // Every instance has read it, so each holds the tenant's key in its own memory.
      for (const i of [a, b, c]) assert.deepEqual(await i.cache.get("acme", "r:x"), { rows: [1] });
      await s.keyRing.shred("acme");
      await new Promise((r) => setTimeout(r, 1000));
      for (const i of [a, b, c]) assert.equal(await i.cache.get("acme", "r:x"), undefined);
    } finally {
      await s.close();
    }
  },
);

Deno.test(
  "touch on Redis moves a value's expiry, leaves the value, and creates nothing",
  opts,
  async () => {
    const bridge = await startRedisHttp({ token: "shared-state-test" });
    const store = new UpstashKvStore(bridge);
    const redis = upstashClient(bridge);
    const key = `shared-state-test-${crypto.randomUUID()}`;
    try {
      await store.set(key, "sealed", 60_000);
      await store.touch(key, 600_000);
      assert.equal(await store.get(key), "sealed");
      assert.ok(await redis.pttl(key) > 60_000, "the expiry did not move");
      await store.touch(`${key}:absent`, 600_000);
      assert.equal(await store.get(`${key}:absent`), null);
    } finally {
      await redis.del(key);
      await bridge.close();
    }
  },
);
