import assert from "node:assert/strict";
import { deepFreeze } from "../deep_freeze.ts";
import { CryptoError, generateMasterKey, KeyRing, MemoryKeyStore } from "./mod.ts";

function ring(store = new MemoryKeyStore(), masterKey = generateMasterKey()): KeyRing {
  return new KeyRing({ masterKey, store });
}

Deno.test("encrypt() then decrypt() round-trips text and bytes", async () => {
  const keys = ring();
  const token = await keys.encrypt("acme", "hello, wörld");
  assert.match(token, /^v1\.1\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/);
  assert.equal(await keys.decryptText("acme", token), "hello, wörld");
  const bytes = new Uint8Array([0, 1, 2, 255]);
  assert.deepEqual(await keys.decrypt("acme", await keys.encrypt("acme", bytes)), bytes);
});

Deno.test("encrypt() never repeats a token for the same plaintext", async () => {
  const keys = ring();
  assert.notEqual(await keys.encrypt("acme", "x"), await keys.encrypt("acme", "x"));
});

Deno.test("dataKey() creates version 1 once and stores it wrapped", async () => {
  const store = new MemoryKeyStore();
  const keys = ring(store);
  const [a, b] = await Promise.all([keys.dataKey("acme"), keys.dataKey("acme")]);
  assert.equal(a.version, 1);
  assert.equal(b.version, 1);
  const stored = await store.current("acme");
  assert.equal(stored?.version, 1);
  assert.equal(atob(stored!.wrappedKey).length, 40); // AES-KW of a 32-byte key
  assert.equal(a.key.extractable, false);
});

Deno.test("decrypt() refuses another tenant's token", async () => {
  const keys = ring();
  const token = await keys.encrypt("acme", "secret");
  await keys.dataKey("globex");
  await assert.rejects(
    () => keys.decrypt("globex", token),
    (err) => err instanceof CryptoError && err.reason === "DECRYPT_FAILED",
  );
});

Deno.test("decrypt() detects a tampered token", async () => {
  const keys = ring();
  const token = await keys.encrypt("acme", "secret");
  const parts = token.split(".");
  const ct = parts[3];
  parts[3] = (ct[0] === "A" ? "B" : "A") + ct.slice(1);
  await assert.rejects(
    () => keys.decrypt("acme", parts.join(".")),
    (err) => err instanceof CryptoError && err.reason === "DECRYPT_FAILED",
  );
  await assert.rejects(
    () => keys.decrypt("acme", "not-a-token"),
    (err) => err instanceof CryptoError && err.reason === "MALFORMED_TOKEN",
  );
});

Deno.test("rotate() makes a new current version and old tokens still decrypt", async () => {
  const keys = ring();
  const old = await keys.encrypt("acme", "before");
  assert.equal(await keys.rotate("acme"), 2);
  const fresh = await keys.encrypt("acme", "after");
  assert.equal(fresh.split(".")[1], "2");
  assert.equal(await keys.decryptText("acme", old), "before");
  assert.equal(await keys.decryptText("acme", fresh), "after");
});

Deno.test("shred() makes every token of the tenant undecryptable, and only its tokens", async () => {
  const keys = ring();
  const acme = await keys.encrypt("acme", "secret");
  const globex = await keys.encrypt("globex", "other");
  assert.equal(await keys.shred("acme"), 1);
  await assert.rejects(
    () => keys.decrypt("acme", acme),
    (err) => err instanceof CryptoError && err.reason === "KEY_UNAVAILABLE",
  );
  assert.equal(await keys.decryptText("globex", globex), "other");
  // A later encrypt starts a new key, which cannot read the old data either.
  await keys.encrypt("acme", "new");
  await assert.rejects(() => keys.decrypt("acme", acme), CryptoError);
});

Deno.test("a key ring with another master key cannot unwrap the stored keys", async () => {
  const store = new MemoryKeyStore();
  const token = await ring(store).encrypt("acme", "secret");
  await assert.rejects(
    () => ring(store).decrypt("acme", token),
    (err) => err instanceof CryptoError && err.reason === "KEY_UNAVAILABLE",
  );
});

Deno.test("a second process sees a rotation once its cache expires", async () => {
  const store = new MemoryKeyStore();
  const masterKey = generateMasterKey();
  const a = new KeyRing({ masterKey, store, cacheTtlMs: 0 });
  const b = new KeyRing({ masterKey, store, cacheTtlMs: 0 });
  assert.equal((await a.dataKey("acme")).version, 1);
  await b.rotate("acme");
  assert.equal((await a.dataKey("acme")).version, 2);
});

Deno.test("new KeyRing() rejects a master key that is not 32 bytes", () => {
  assert.throws(
    () => new KeyRing({ masterKey: btoa("short"), store: new MemoryKeyStore() }),
    (err) => err instanceof CryptoError && err.reason === "INVALID_MASTER_KEY",
  );
  assert.throws(
    () => new KeyRing({ masterKey: "%%%", store: new MemoryKeyStore() }),
    CryptoError,
  );
});

Deno.test("maskKey() is stable across rotations, per tenant, and gone after a shred", async () => {
  const ring = new KeyRing({ masterKey: generateMasterKey(), store: new MemoryKeyStore() });
  const first = await ring.maskKey("acme");
  assert.equal(first.length, 32);
  await ring.rotate("acme");
  assert.deepEqual(await ring.maskKey("acme"), first);
  assert.notDeepEqual(await ring.maskKey("globex"), first);
  await ring.shred("acme");
  // A key made after the shred derives another mask key: old masks cannot be recomputed.
  assert.notDeepEqual(await ring.maskKey("acme"), first);
});

Deno.test("another process's shred is seen within a second at the default cache time", async () => {
  const store = new MemoryKeyStore();
  const masterKey = generateMasterKey();
  const a = new KeyRing({ masterKey, store });
  const b = new KeyRing({ masterKey, store });
  const token = await a.encrypt("acme", "cached rows");
  assert.equal(await b.decryptText("acme", token), "cached rows"); // b caches the key
  const maskKey = await b.maskKey("acme");
  await a.shred("acme");
  await new Promise((r) => setTimeout(r, 1_050));
  await assert.rejects(b.decrypt("acme", token), CryptoError);
  // The mask key is gone too: b derives another one (from a new key), not the shredded one.
  assert.notDeepEqual(await b.maskKey("acme"), maskKey);
});

Deno.test("a text decrypted again and again stops decrypting once its key is shredded, here or elsewhere", async () => {
  const unavailable = (err: unknown) =>
    err instanceof CryptoError && err.reason === "KEY_UNAVAILABLE";
  const store = new MemoryKeyStore();
  const masterKey = generateMasterKey();
  const here = new KeyRing({ masterKey, store });
  const token = await here.encrypt("acme", "cached answer");
  assert.equal(await here.decryptText("acme", token), "cached answer");
  assert.equal(await here.decryptText("acme", token), "cached answer");
  await here.shred("acme");
  await assert.rejects(() => here.decryptText("acme", token), unavailable);

  // Another process shreds: this one stops on its notice (forget), or when its keys expire.
  const token2 = await here.encrypt("acme", "again");
  const other = new KeyRing({ masterKey, store });
  const expiring = new KeyRing({ masterKey, store, cacheTtlMs: 30 });
  assert.equal(await other.decryptText("acme", token2), "again");
  assert.equal(await expiring.decryptText("acme", token2), "again");
  await here.shred("acme");
  other.forget("acme");
  await assert.rejects(() => other.decryptText("acme", token2), unavailable);
  await new Promise((r) => setTimeout(r, 40));
  await assert.rejects(() => expiring.decryptText("acme", token2), unavailable);
});

Deno.test("a key read again behind its cached copy never outlives a shred elsewhere by more than the TTL", async () => {
  const store = new MemoryKeyStore();
  const masterKey = generateMasterKey();
  const busy = new KeyRing({ masterKey, store, cacheTtlMs: 200 });
  const admin = new KeyRing({ masterKey, store });
  const token = await busy.encrypt("acme", "secret");
  await new Promise((r) => setTimeout(r, 120));
  // Past half its life: answered from the cached key while the store is read again behind it.
  assert.equal(new TextDecoder().decode(await busy.decrypt("acme", token)), "secret");
  await new Promise((r) => setTimeout(r, 5));
  await admin.shred("acme");
  // The renewed copy's life counts from its read, before the shred: gone within the TTL.
  await new Promise((r) => setTimeout(r, 250));
  await assert.rejects(
    () => busy.decrypt("acme", token),
    (err) => err instanceof CryptoError && err.reason === "KEY_UNAVAILABLE",
  );
});

const parseFrozen = (text: string) => deepFreeze(JSON.parse(text) as { rows: { id: number }[] });
const keyUnavailable = (err: unknown) =>
  err instanceof CryptoError && err.reason === "KEY_UNAVAILABLE";

Deno.test("decryptDecoded() decodes a token once while its key is held, and the value is frozen", async () => {
  const keys = ring();
  const token = await keys.encrypt("acme", JSON.stringify({ rows: [{ id: 1 }] }));
  let decodes = 0;
  const decode = (text: string) => (decodes++, parseFrozen(text));
  const first = await keys.decryptDecoded("acme", token, decode);
  assert.equal(await keys.decryptDecoded("acme", token, decode), first);
  assert.equal(decodes, 1);
  assert.ok(Object.isFrozen(first.rows[0]));
  assert.throws(() => {
    first.rows[0].id = 2;
  }, TypeError);
  // Another decoder never gets this one's value.
  assert.notEqual(await keys.decryptDecoded("acme", token, parseFrozen), first);
});

Deno.test("decryptDecoded() drops what it remembers with the tenant's keys: rotate, shred, forget", async () => {
  const store = new MemoryKeyStore();
  const masterKey = generateMasterKey();
  const keys = new KeyRing({ masterKey, store });
  const token = await keys.encrypt("acme", JSON.stringify({ rows: [] }));
  const first = await keys.decryptDecoded("acme", token, parseFrozen);
  await keys.rotate("acme");
  const afterRotation = await keys.decryptDecoded("acme", token, parseFrozen);
  assert.notEqual(afterRotation, first); // decrypted again with the retired version, still stored
  keys.forget("acme");
  const afterForget = await keys.decryptDecoded("acme", token, parseFrozen);
  assert.notEqual(afterForget, afterRotation);
  keys.forget();
  assert.notEqual(await keys.decryptDecoded("acme", token, parseFrozen), afterForget);
  await keys.shred("acme");
  await assert.rejects(() => keys.decryptDecoded("acme", token, parseFrozen), keyUnavailable);
});

Deno.test("decryptDecoded() stops answering once another process shreds the keys and the copy expires", async () => {
  const store = new MemoryKeyStore();
  const masterKey = generateMasterKey();
  const busy = new KeyRing({ masterKey, store, cacheTtlMs: 30 });
  const admin = new KeyRing({ masterKey, store });
  const token = await busy.encrypt("acme", JSON.stringify({ rows: [{ id: 1 }] }));
  await busy.decryptDecoded("acme", token, parseFrozen);
  await admin.shred("acme");
  await new Promise((r) => setTimeout(r, 40));
  await assert.rejects(() => busy.decryptDecoded("acme", token, parseFrozen), keyUnavailable);
});

Deno.test("decryptDecoded() never answers one tenant's token for another", async () => {
  const keys = ring();
  const token = await keys.encrypt("acme", JSON.stringify({ rows: [{ id: 1 }] }));
  await keys.decryptDecoded("acme", token, parseFrozen);
  await keys.dataKey("globex");
  await assert.rejects(
    () => keys.decryptDecoded("globex", token, parseFrozen),
    (err: unknown) => err instanceof CryptoError && err.reason === "DECRYPT_FAILED",
  );
});
