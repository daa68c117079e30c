import assert from "node:assert/strict";
import { generateMasterKey, KeyRing, MemoryKeyStore } from "../crypto/mod.ts";
import { sha256Hex } from "../crypto/sha256.ts";
import { MemoryKvStore } from "./memory_store.ts";
import { ResultCache } from "./result_cache.ts";
import { TenantCache } from "./tenant_cache.ts";

function caches() {
  const keyRing = new KeyRing({ masterKey: generateMasterKey(), store: new MemoryKeyStore() });
  const tenantCache = new TenantCache({ store: new MemoryKvStore(), keyRing, zone: "us" });
  return { tenantCache, results: new ResultCache(tenantCache) };
}

Deno.test("ResultCache keeps an answer's rows as the JSON text they were answered in", async () => {
  const { results } = caches();
  const rows = [{ pr_id: 1, title: 'Fix "login" — ü' }, { pr_id: 2, title: null }];
  await results.put(
    "acme",
    "fp",
    "q",
    { columns: ["pr_id", "title"], rows, freshness_ms: 0 },
    60_000,
  );
  const hit = await results.get("acme", "fp", "q");
  assert.ok(hit);
  assert.equal(hit.rowsJson, JSON.stringify(rows));
  assert.equal(hit.rowCount, 2);
  assert.ok(!("rows" in hit.body));
  assert.deepEqual(hit.body.columns, ["pr_id", "title"]);
  assert.equal(await results.get("acme", "other-fingerprint", "q"), undefined);
});

Deno.test("ResultCache reads an entry of the shape before rows were kept as text as a miss", async () => {
  const { tenantCache, results } = caches();
  const key = `r:${await sha256Hex("fp\nq")}`;
  await tenantCache.set(
    "acme",
    key,
    { body: { rows: [] }, oldestDataAt: 0, sourceFetchedAt: [] },
    60_000,
  );
  assert.equal(await results.get("acme", "fp", "q"), undefined);
});

Deno.test("ResultCache.putBehind: the next read of the entry in this process finds it", async () => {
  const { results } = caches();
  const body = { columns: ["n"], rows: [{ n: 1 }, { n: 2 }], freshness_ms: 0 };
  // Returns before anything is stored; the read right after still sees the entry.
  results.putBehind("acme", "fp", "q", body, 60_000);
  const hit = await results.get("acme", "fp", "q");
  assert.equal(hit?.rowCount, 2);
  assert.equal(hit?.rowsJson, JSON.stringify(body.rows));
  // Another user's entitlements never share it.
  assert.equal(await results.get("acme", "other-fingerprint", "q"), undefined);
});

Deno.test("ResultCache.putBehind: nothing is sealed or stored before the answer is out", async () => {
  const keyRing = new KeyRing({ masterKey: generateMasterKey(), store: new MemoryKeyStore() });
  const store = new MemoryKvStore();
  const written: string[] = [];
  const set = store.set.bind(store);
  store.set = (key, value, ttlMs) => {
    written.push(key);
    return set(key, value, ttlMs);
  };
  const results = new ResultCache(new TenantCache({ store, keyRing, zone: "us" }));
  const answered = Promise.withResolvers<void>();
  results.putBehind(
    "acme",
    "fp",
    "q",
    { rows: [{ n: 1 }], freshness_ms: 0 },
    60_000,
    answered.promise,
  );
  await new Promise((resolve) => setTimeout(resolve, 50));
  assert.deepEqual(written, []);
  answered.resolve();
  assert.equal((await results.get("acme", "fp", "q"))?.rowCount, 1);
  assert.equal(written.length, 1);
});
