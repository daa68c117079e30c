import assert from "node:assert/strict";
import { RecentValidators, UrlValidators } from "./validators.ts";
import { TenantCache } from "./tenant_cache.ts";
import { MemoryKvStore } from "./memory_store.ts";
import { generateMasterKey, KeyRing, MemoryKeyStore } from "../crypto/mod.ts";

const URL_A = "https://api.github.com/repos/acme/web/pulls?page=2";
const connection = { id: "c1", baseUrl: "https://api.github.com", credentials: { token: "t" } };

function setUp(options: { recent?: boolean } = {}) {
  let now = 1_000_000;
  const store = new MemoryKvStore({ now: () => now });
  const keyRing = new KeyRing({ masterKey: generateMasterKey(), store: new MemoryKeyStore() });
  const cache = new TenantCache({ store, keyRing, zone: "us" });
  const recent = options.recent ? new RecentValidators({ now: () => now }) : undefined;
  const validators = () =>
    new UrlValidators({ cache, tenantId: "acme", connection, ttlMs: 60_000, recent });
  return { store, validators, later: (ms: number) => void (now += ms) };
}

Deno.test("validators: what a fetch learns is stored only when it flushes, and then for every fetch", async () => {
  const { validators } = setUp();
  const fetch = validators();
  fetch.store(URL_A, { etag: 'W/"1"', body: [{ id: 1 }], headers: { link: "<x>" } }, 200);
  assert.equal(await validators().lookup(URL_A), undefined, "nothing is written before the flush");
  await fetch.flush();
  const other = validators();
  const validator = await other.lookup(URL_A);
  assert.deepEqual(validator, { etag: 'W/"1"' });
  assert.deepEqual(await other.entry(URL_A, validator!), {
    etag: 'W/"1"',
    body: [{ id: 1 }],
    headers: { link: "<x>" },
  });
});

Deno.test("validators: a page is served only for the validator it was stored with", async () => {
  const { validators } = setUp();
  const fetch = validators();
  fetch.store(URL_A, { etag: 'W/"2"', body: [2], headers: {} }, 200);
  await fetch.flush();
  assert.equal(await validators().entry(URL_A, { etag: 'W/"1"' }), undefined);
  assert.equal(await validators().entry(URL_A, { lastModified: "yesterday" }), undefined);
});

Deno.test("validators: a 304 gives the validator and its page their time to live again", async () => {
  const { validators, later } = setUp();
  const first = validators();
  const entry = { etag: 'W/"1"', body: [1], headers: {} };
  first.store(URL_A, entry, 200);
  await first.flush();
  later(50_000);
  const second = validators();
  second.store(URL_A, entry, 304);
  await second.flush();
  later(50_000); // 100 s after the 200, 50 s after the 304, with a 60 s life
  const third = validators();
  const validator = await third.lookup(URL_A);
  assert.deepEqual(validator, { etag: 'W/"1"' });
  assert.deepEqual((await third.entry(URL_A, validator!))?.body, [1]);
  later(20_000);
  assert.equal(await validators().lookup(URL_A), undefined, "expired 60 s after the 304");
});

Deno.test("validators: one this process wrote is sent without asking the store, until it expires", async () => {
  const { store, validators, later } = setUp({ recent: true });
  const reads: string[] = [];
  const get = store.get.bind(store);
  store.get = (key) => {
    reads.push(key);
    return get(key);
  };
  const fetch = validators();
  fetch.store(URL_A, { etag: 'W/"1"', body: [1], headers: {} }, 200);
  await fetch.flush();
  const next = validators();
  assert.deepEqual(await next.lookup(URL_A), { etag: 'W/"1"' });
  assert.deepEqual(reads.filter((key) => /:s:v:/.test(key)), [], "the store was asked");
  // A 304 gives it (and its page) another life, here as in the store.
  later(50_000);
  next.store(URL_A, { etag: 'W/"1"', body: [1], headers: {} }, 304);
  await next.flush();
  later(50_000);
  assert.deepEqual(await validators().lookup(URL_A), { etag: 'W/"1"' });
  later(10_001);
  assert.equal(await validators().lookup(URL_A), undefined, "expired here and in the store");
});
