/**
 * Notices between instances on real Redis (through the REST bridge) and a real Postgres catalog.
 * Each "instance" has its own clients, key ring, catalog memo and notice listener, as separate
 * processes would; only Redis and the catalog are shared. The instances' memos are made to last a
 * minute, so only a notice can make them forget within the second: a control instance that does
 * not listen keeps serving from its memo.
 */
import assert from "node:assert/strict";
import { startRedisHttp } from "../../bridge/redis_http.ts";
import { CatalogKeyStore } from "../catalog/key_store.ts";
import { Catalog } from "../catalog/store.ts";
import { openTestCatalog } from "../catalog/testing.ts";
import { KeyRing } from "../crypto/mod.ts";
import { connectNotices, UpstashNotices } from "./notices.ts";
import { ResultCache } from "./result_cache.ts";
import { TenantCache } from "./tenant_cache.ts";
import { upstashClient, UpstashKvStore } from "./upstash_store.ts";
import { Invalidations } from "./invalidations.ts";

const opts = { sanitizeOps: false, sanitizeResources: false };
/** This file's ports (28480–28489): the bridges its instances reach Redis through. */
const BRIDGE_PORT = 28480;
const MEMO_MS = 60_000;

async function sharedStores() {
  const bridge = await startRedisHttp({ token: "notices-test", port: BRIDGE_PORT });
  const t = await openTestCatalog("postgres");
  const prefix = `notices-test-${crypto.randomUUID()}`;
  const closers: (() => void)[] = [];
  const instance = async (listen = true, via = bridge) => {
    const keyRing = new KeyRing({
      masterKey: t.masterKey,
      store: new CatalogKeyStore(t.catalogDb.db),
      cacheTtlMs: MEMO_MS,
    });
    const catalog = new Catalog(t.catalogDb.db, keyRing, { readCacheTtlMs: MEMO_MS });
    const cache = new TenantCache({
      store: new UpstashKvStore(bridge),
      keyRing,
      zone: "us",
      prefix,
    });
    const bus = new UpstashNotices(upstashClient(via), { key: `${prefix}:notices`, pollMs: 100 });
    if (listen) {
      const disconnect = connectNotices(bus, catalog);
      closers.push(disconnect, () => bus.close());
      await bus.ready();
    }
    return { catalog, cache, results: new ResultCache(cache) };
  };
  return {
    bridge,
    prefix,
    instance,
    async close() {
      for (const close of closers) close();
      await t.close();
      await bridge.close();
    },
  };
}

/** Milliseconds until `gone()` holds, polling every 20 ms (at most 5 s). */
async function msUntil(since: number, gone: () => Promise<boolean>): Promise<number> {
  while (!(await gone())) {
    if (Date.now() - since > 5000) return Infinity;
    await new Promise((r) => setTimeout(r, 20));
  }
  return Date.now() - since;
}

/** A test with instances sharing real Postgres and Redis, closed afterwards. */
function noticesTest(name: string, fn: (s: SharedStores) => Promise<void>) {
  Deno.test(name, opts, async () => {
    const s = await sharedStores();
    try {
      await fn(s);
    } finally {
      await s.close();
    }
  });
}

type SharedStores = Awaited<ReturnType<typeof sharedStores>>;

noticesTest("a shred on one instance is seen by every other instance within 1 s", async (s) => {
  const [a, b, c] = [await s.instance(), await s.instance(), await s.instance()];
  const control = await s.instance(false);
  await a.cache.set("acme", "r:x", { rows: [1] }, 60_000);
  // Every instance has read it, so each holds the tenant's key in its own memory.
  for (const i of [a, b, c, control]) {
    assert.deepEqual(await i.cache.get("acme", "r:x"), { rows: [1] });
  }
  await a.catalog.keyRing.shred("acme");
  const shredAt = Date.now();
  const waits = await Promise.all(
    [b, c].map((i) =>
      msUntil(shredAt, async () => (await i.cache.get("acme", "r:x")) === undefined)
    ),
  );
  for (const ms of waits) {
    assert.ok(ms <= 1000, `an instance served for ${ms} ms after the shred`);
  }
  // Without the notice, an instance's memo of the key still decrypts the entry.
  assert.deepEqual(await control.cache.get("acme", "r:x"), { rows: [1] });
});

noticesTest("an off-boarding on one instance is seen by the others' catalog memos", async (s) => {
  const [a, b] = [await s.instance(), await s.instance()];
  const control = await s.instance(false);
  for (const i of [a, b, control]) assert.ok(await i.catalog.getTenant("acme"));
  await a.catalog.offboardTenant("acme");
  const at = Date.now();
  const ms = await msUntil(at, async () => (await b.catalog.getTenant("acme")) === undefined);
  assert.ok(ms <= 1000, `the tenant was still known ${ms} ms after its off-boarding`);
  assert.ok(await control.catalog.getTenant("acme"), "the control forgot without a notice");
});

noticesTest("an instance that missed notices forgets everything it remembers", async (s) => {
  // Instance b reaches Redis through a bridge of its own, which goes away for a while.
  let own = await startRedisHttp({ token: "notices-test", port: BRIDGE_PORT + 1 });
  try {
    const a = await s.instance();
    const b = await s.instance(true, own);
    await a.cache.set("acme", "r:x", { rows: [1] }, 60_000);
    assert.deepEqual(await b.cache.get("acme", "r:x"), { rows: [1] });
    await own.close();
    await a.catalog.keyRing.shred("acme");
    // The notice is gone before b can read it (trimmed, or the stream lost).
    await s.bridge.redis("DEL", `${s.prefix}:notices`);
    await new Promise((r) => setTimeout(r, 300)); // b's polls fail meanwhile
    assert.deepEqual(await b.cache.get("acme", "r:x"), { rows: [1] }, "b forgot without a notice");
    own = await startRedisHttp({ token: "notices-test", port: BRIDGE_PORT + 1 });
    const at = Date.now();
    const ms = await msUntil(at, async () => (await b.cache.get("acme", "r:x")) === undefined);
    assert.ok(ms <= 1000, `b served the shredded tenant ${ms} ms after it could hear again`);
  } finally {
    await own.close();
  }
});

noticesTest(
  "a webhook's invalidation on one instance is a miss on every other at once",
  async (s) => {
    const [a, b] = [await s.instance(false), await s.instance(false)];
    const body = {
      columns: ["n"],
      rows: [{ n: 1 }],
      freshness_ms: 0,
      sources: [{ table: "github.pull_requests" }],
    };
    await a.results.put("acme", "fp", "SELECT 1", body, 60_000, Date.now() - 10);
    assert.ok(await b.results.get("acme", "fp", "SELECT 1"));
    // Watermarks live in the zone's shared store and every read compares with them: no notice.
    await new Invalidations(a.cache).invalidate("acme", ["github.pull_requests"]);
    assert.equal(await b.results.get("acme", "fp", "SELECT 1"), undefined);
  },
);
