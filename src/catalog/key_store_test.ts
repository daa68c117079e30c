import assert from "node:assert/strict";
import { Catalog } from "./store.ts";
import { CatalogKeyStore } from "./key_store.ts";
import { withCatalogs } from "./testing.ts";

withCatalogs(
  "a key store reading through a catalog's memo sees another instance's shred once its memo lapses",
  async ({ catalogDb, masterKey }) => {
    const here = Catalog.withKeys(catalogDb.db, masterKey, { readCacheTtlMs: 50 });
    const elsewhere = Catalog.withKeys(catalogDb.db, masterKey);
    const store = new CatalogKeyStore(catalogDb.db, here);
    const token = await elsewhere.keyRing.encrypt("acme", "secret");
    const key = await store.current("acme");
    assert.equal(key?.version, 1);
    assert.deepEqual(await store.get("acme", 1), key);
    assert.equal(await here.keyRing.decryptText("acme", token), "secret");

    await elsewhere.keyRing.shred("acme");
    await new Promise((resolve) => setTimeout(resolve, 60));
    assert.equal(await store.current("acme"), undefined, "the change count moved: read again");
    assert.equal(await store.get("acme", 1), undefined);
  },
  { seed: false },
);

withCatalogs(
  "a key the store inserts is read at once, through the memo, by the instance that wrote it",
  async ({ catalogDb, masterKey }) => {
    const catalog = Catalog.withKeys(catalogDb.db, masterKey, { readCacheTtlMs: 60_000 });
    const store = new CatalogKeyStore(catalogDb.db, catalog);
    assert.equal(await store.current("acme"), undefined);
    assert.equal(await store.insert("acme", { version: 1, wrappedKey: "AAAA" }), true);
    assert.deepEqual(await store.current("acme"), { version: 1, wrappedKey: "AAAA" });
    assert.equal(await store.deleteAll("acme"), 1);
    assert.equal(await store.current("acme"), undefined);
  },
  { seed: false },
);
