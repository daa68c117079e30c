import assert from "node:assert/strict";
import { generateMasterKey, KeyRing, MemoryKeyStore } from "../crypto/mod.ts";
import { MemoryKvStore } from "./memory_store.ts";
import { TenantCache } from "./tenant_cache.ts";

function setup() {
  const store = new MemoryKvStore();
  const keyRing = new KeyRing({ masterKey: generateMasterKey(), store: new MemoryKeyStore() });
  return { store, keyRing, cache: new TenantCache({ store, keyRing, zone: "us", prefix: "t" }) };
}

Deno.test("TenantCache stores values encrypted, readable only by their tenant", async () => {
  const { store, cache } = setup();
  await cache.set("acme", "k", { title: "Fix the secret login flow" }, 60_000);
  assert.deepEqual(await cache.get("acme", "k"), { title: "Fix the secret login flow" });
  assert.equal(await cache.get("globex", "k"), undefined);
  const raw = await store.get("t:us:acme:k");
  assert.ok(raw && !raw.includes("secret"));
});

Deno.test("TenantCache treats a value moved under another key as a miss", async () => {
  const { store, cache } = setup();
  await cache.set("acme", "a", "A", 60_000);
  await store.set("t:us:acme:b", (await store.get("t:us:acme:a"))!, 60_000);
  assert.equal(await cache.get("acme", "b"), undefined);
});

Deno.test("TenantCache flush deletes one tenant's entries; shredded keys read as misses", async () => {
  const { keyRing, cache } = setup();
  await cache.set("acme", "a", 1, 60_000);
  await cache.set("globex", "a", 2, 60_000);
  assert.equal(await cache.flush("acme"), 1);
  assert.equal(await cache.get("acme", "a"), undefined);
  assert.equal(await cache.get("globex", "a"), 2);
  await keyRing.shred("globex");
  assert.equal(await cache.get("globex", "a"), undefined);
});

Deno.test("TenantCache entries expire with their TTL", async () => {
  let now = 0;
  const keyRing = new KeyRing({ masterKey: generateMasterKey(), store: new MemoryKeyStore() });
  const cache = new TenantCache({
    store: new MemoryKvStore({ now: () => now }),
    keyRing,
    zone: "us",
  });
  await cache.set("acme", "a", 1, 1000);
  now = 999;
  assert.equal(await cache.get("acme", "a"), 1);
  now = 1000;
  assert.equal(await cache.get("acme", "a"), undefined);
});

Deno.test("TenantCache touch extends a value's life unchanged, and revives nothing", async () => {
  let now = 1_000_000;
  const store = new MemoryKvStore({ now: () => now });
  const keyRing = new KeyRing({ masterKey: generateMasterKey(), store: new MemoryKeyStore() });
  const cache = new TenantCache({ store, keyRing, zone: "us", prefix: "t" });
  await cache.set("acme", "page", { rows: [1] }, 1_000);
  const sealed = await store.get("t:us:acme:page");
  now += 900;
  await cache.touch("acme", "page", 1_000);
  now += 900; // past the first life, within the second
  assert.deepEqual(await cache.get("acme", "page"), { rows: [1] });
  assert.equal(await store.get("t:us:acme:page"), sealed, "not sealed again");
  now += 200;
  assert.equal(await cache.get("acme", "page"), undefined);
  await cache.touch("acme", "page", 1_000);
  assert.equal(await cache.get("acme", "page"), undefined);
});

Deno.test("TenantCache reads of a hot entry share one frozen value until it is rewritten or its keys go", async () => {
  const { keyRing, cache } = setup();
  await cache.set("acme", "s", { rows: [{ id: 1 }] }, 60_000);
  const first = await cache.get<{ rows: { id: number }[] }>("acme", "s");
  assert.equal(await cache.get("acme", "s"), first);
  assert.ok(Object.isFrozen(first!.rows[0]));
  await cache.set("acme", "s", { rows: [{ id: 2 }] }, 60_000);
  assert.deepEqual(await cache.get("acme", "s"), { rows: [{ id: 2 }] });
  await keyRing.rotate("acme");
  const afterRotation = await cache.get("acme", "s");
  assert.deepEqual(afterRotation, { rows: [{ id: 2 }] });
  await cache.set("globex", "s", { rows: [{ id: 3 }] }, 60_000);
  assert.deepEqual(await cache.get("globex", "s"), { rows: [{ id: 3 }] });
  await keyRing.shred("acme");
  assert.equal(await cache.get("acme", "s"), undefined);
});

Deno.test("TenantCache does not store a value larger than a store takes; a failed write logs no value", async () => {
  const store = new MemoryKvStore();
  const keyRing = new KeyRing({ masterKey: generateMasterKey(), store: new MemoryKeyStore() });
  const cache = new TenantCache({ store, keyRing, zone: "us", prefix: "t", maxEntryBytes: 1_000 });
  await cache.set("acme", "small", "x".repeat(100), 60_000);
  await cache.set("acme", "big", "x".repeat(2_000), 60_000);
  assert.ok(await store.get("t:us:acme:small"));
  assert.equal(await store.get("t:us:acme:big"), null);

  // A store refusing the write: its error reaches the log without the command it carried.
  const lines: string[] = [];
  const original = console.error;
  console.error = (line: string) => lines.push(line);
  try {
    const refusing = new MemoryKvStore();
    refusing.set = () =>
      Promise.reject(new Error('ERR request too large, command was: [["set","k","v1.1.SEALED"]]'));
    await new TenantCache({ store: refusing, keyRing, zone: "us" }).set("acme", "k", "v", 60_000);
  } finally {
    console.error = original;
  }
  assert.equal(lines.length, 1);
  assert.match(lines[0], /request too large/);
  assert.ok(!lines[0].includes("SEALED"));
});
