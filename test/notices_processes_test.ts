/**
 * A shred seen by every instance within 1 s, with real separate instances: each its own OS
 * process (test/_notices_instance.ts) with its own key ring and clients, sharing only the Postgres
 * catalog and Redis (through the REST bridge). Their key memos last a minute, so only a notice can
 * stop them in time; a process that does not listen keeps decrypting.
 */
import assert from "node:assert/strict";
import { startRedisHttp } from "../bridge/redis_http.ts";
import { openTestCatalog } from "../src/catalog/testing.ts";
import { connectNotices, TenantCache, UpstashKvStore, UpstashNotices } from "../src/cache/mod.ts";
import { upstashClient } from "../src/cache/mod.ts";

const opts = { sanitizeOps: false, sanitizeResources: false };
/** This file's port (28482, of 28400–28499): the bridge in front of the machine's Redis. */
const BRIDGE_PORT = 28482;

interface Instance {
  /** Resolves with each line the process prints. */
  next(): Promise<string>;
  kill(): void;
}

function spawnInstance(env: Record<string, string>, deaf = false): Instance {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", new URL("./_notices_instance.ts", import.meta.url).pathname].concat(
      deaf ? ["--deaf"] : [],
    ),
    env,
    stdout: "piped",
    stderr: "null",
  }).spawn();
  const lines = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let buffered = "";
  return {
    async next() {
      while (!buffered.includes("\n")) {
        const { value, done } = await lines.read();
        if (done) throw new Error(`instance ended (${(await child.status).code})`);
        buffered += value;
      }
      const i = buffered.indexOf("\n");
      const line = buffered.slice(0, i);
      buffered = buffered.slice(i + 1);
      return line;
    },
    kill() {
      try {
        child.kill("SIGKILL");
      } catch { /* gone */ }
      lines.cancel().catch(() => {});
    },
  };
}

Deno.test("a shred is seen by every other instance process within 1 s", opts, async () => {
  const bridge = await startRedisHttp({ token: "notices-processes", port: BRIDGE_PORT });
  const t = await openTestCatalog("postgres");
  const prefix = `notices-processes-${crypto.randomUUID()}`;
  const instances: Instance[] = [];
  const bus = new UpstashNotices(upstashClient(bridge), { key: `${prefix}:notices` });
  try {
    // This process is the instance that shreds; it publishes through the same stream.
    connectNotices(bus, t.catalog);
    const cache = new TenantCache({
      store: new UpstashKvStore(bridge),
      keyRing: t.keyRing,
      zone: "us",
      prefix,
    });
    await cache.set("acme", "r:x", { rows: [1] }, 60_000);
    const env = {
      DATABASE_URL: t.databaseUrl!,
      OMNISQL_MASTER_KEY: t.masterKey,
      BRIDGE_URL: bridge.url,
      BRIDGE_TOKEN: "notices-processes",
      PREFIX: prefix,
    };
    instances.push(spawnInstance(env), spawnInstance(env), spawnInstance(env, true));
    for (const i of instances) assert.equal(await i.next(), "ready");

    const shredAt = Date.now();
    await t.keyRing.shred("acme");
    const goneAt = await Promise.all(
      instances.slice(0, 2).map(async (i) => Number((await i.next()).split(" ")[1])),
    );
    for (const at of goneAt) {
      assert.ok(at - shredAt <= 1000, `an instance decrypted ${at - shredAt} ms after the shred`);
    }
    // The control, which hears nothing, still decrypts with its memo of the key.
    const control = await Promise.race([
      instances[2].next(),
      new Promise((r) => setTimeout(() => r("still serving"), 1500)),
    ]);
    assert.equal(control, "still serving");
  } finally {
    for (const i of instances) i.kill();
    bus.close();
    await t.close();
    await bridge.close();
  }
});
