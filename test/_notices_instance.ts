/**
 * One "instance" as its own OS process, for test/notices_processes_test.ts: its own catalog
 * connection, key ring and cache client on the shared Postgres and Redis (through the REST
 * bridge), its key memo made to last a minute. It reads one cached entry until the entry stops
 * decrypting and prints `ready`, then `gone <epoch ms>`. With `--deaf` it does not listen to
 * notices (the control: only the memo's expiry could stop it).
 *
 * Env: DATABASE_URL, OMNISQL_MASTER_KEY, BRIDGE_URL, BRIDGE_TOKEN, PREFIX.
 *
 * @module
 */
import { connectNotices, TenantCache, UpstashKvStore, UpstashNotices } from "../src/cache/mod.ts";
import { upstashClient } from "../src/cache/mod.ts";
import { Catalog, CatalogKeyStore, openCatalog } from "../src/catalog/mod.ts";
import { KeyRing } from "../src/crypto/mod.ts";

const env = (name: string) => Deno.env.get(name) ?? Deno.exit(2);
const bridge = { url: env("BRIDGE_URL"), token: env("BRIDGE_TOKEN") };
const prefix = env("PREFIX");
const db = await openCatalog({ databaseUrl: env("DATABASE_URL"), maxConnections: 2 });
const keyRing = new KeyRing({
  masterKey: env("OMNISQL_MASTER_KEY"),
  store: new CatalogKeyStore(db.db),
  cacheTtlMs: 60_000,
});
const catalog = new Catalog(db.db, keyRing, { readCacheTtlMs: 60_000 });
const cache = new TenantCache({ store: new UpstashKvStore(bridge), keyRing, zone: "us", prefix });
if (!Deno.args.includes("--deaf")) {
  const bus = new UpstashNotices(upstashClient(bridge), { key: `${prefix}:notices` });
  connectNotices(bus, catalog);
  await bus.ready();
}
if ((await cache.get("acme", "r:x")) === undefined) Deno.exit(3);
console.log("ready");
while ((await cache.get("acme", "r:x")) !== undefined) {
  await new Promise((r) => setTimeout(r, 10));
}
console.log(`gone ${Date.now()}`);
await db.close();
Deno.exit(0);
