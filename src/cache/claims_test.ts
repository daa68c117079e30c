import assert from "node:assert/strict";
import { startUpstashBridge } from "../../test/_upstash_bridge.ts";
import { MemoryClaimStore, UpstashClaimStore } from "./claims.ts";
import { upstashClient } from "./upstash_store.ts";

Deno.test("a claim is granted once per key until it expires (memory)", async () => {
  let now = 1_000;
  const claims = new MemoryClaimStore(() => now);
  assert.equal(await claims.claim("k", 100), true);
  assert.equal(await claims.claim("k", 100), false);
  assert.equal(await claims.claim("other", 100), true);
  now += 101;
  assert.equal(await claims.claim("k", 100), true);
});

Deno.test("Upstash claims: of many concurrent claims of one key, exactly one wins, across clients", async () => {
  const bridge = await startUpstashBridge();
  try {
    const prefix = `omnisql-test:${crypto.randomUUID()}`;
    const a = new UpstashClaimStore(upstashClient(bridge), prefix);
    const b = new UpstashClaimStore(upstashClient(bridge), prefix);
    const wins = await Promise.all(
      Array.from({ length: 10 }, (_, i) => (i % 2 ? a : b).claim("delivery-1", 60_000)),
    );
    assert.equal(wins.filter(Boolean).length, 1);
    assert.equal(await a.claim("delivery-2", 60_000), true);
    const ttl = await bridge.redis("PTTL", `${prefix}:delivery-2`);
    assert.ok(typeof ttl === "number" && ttl > 0 && ttl <= 60_000);
  } finally {
    await bridge.close();
  }
});
