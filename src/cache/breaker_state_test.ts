/** Open breakers shared by a zone's instances (each with its own breakers and cache client). */
import assert from "node:assert/strict";
import { generateMasterKey, KeyRing, MemoryKeyStore } from "../crypto/mod.ts";
import { OmniError } from "../errors.ts";
import type { SourceFetcher } from "../source/fetch.ts";
import { emptyFetch, fetchContext, namedSource } from "../source/testing.ts";
import { CircuitBreakers } from "../reliability/circuit_breaker.ts";
import { sharedBreakerState } from "./breaker_state.ts";
import { MemoryKvStore } from "./memory_store.ts";
import { TenantCache } from "./tenant_cache.ts";

const source = namedSource();
const ctx = () => fetchContext();
const fetched = emptyFetch();

Deno.test("a breaker one instance opens fails fast on the others; a probe's success closes it for all", async () => {
  // One store (the zone's Redis), one key store (the catalog), one clock.
  const store = new MemoryKvStore();
  const keys = new MemoryKeyStore();
  const masterKey = generateMasterKey();
  let clock = 1_000_000;
  let appUp = false;
  let calls = 0;
  const app: SourceFetcher = () => {
    calls++;
    return appUp
      ? Promise.resolve(fetched)
      : Promise.reject(new OmniError("SOURCE_ERROR", "HTTP 503", { details: { status: 503 } }));
  };
  const instance = () => {
    const cache = new TenantCache({
      store,
      keyRing: new KeyRing({ masterKey, store: keys }),
      zone: "us",
    });
    const breakers = new CircuitBreakers({
      failureThreshold: 2,
      openMs: 5_000,
      now: () => clock,
      shared: sharedBreakerState(cache),
    });
    const fetch = breakers.middleware()(app);
    return { breakers, call: () => fetch(source, ctx()).then(() => "ok", (e) => e as OmniError) };
  };
  // Publishing is not awaited by the caller: wait until the zone's store shows the state.
  const reader = sharedBreakerState(
    new TenantCache({ store, keyRing: new KeyRing({ masterKey, store: keys }), zone: "us" }),
  );
  const published = async (open: boolean) => {
    for (let i = 0; i < 500; i++) {
      const until = await reader.openUntil("acme", "conn-1");
      if ((until !== undefined && until > clock) === open) return;
      await new Promise((r) => setTimeout(r, 10));
    }
    assert.fail(`the breaker was never published ${open ? "open" : "closed"}`);
  };
  const [a, b] = [instance(), instance()];

  await a.call();
  await a.call();
  await published(true);
  assert.equal(calls, 2);
  const fast = await b.call();
  assert.ok(fast instanceof OmniError && fast.details?.breaker === "open", String(fast));
  assert.equal(calls, 2, "the other instance called the app that is down");
  assert.equal(b.breakers.states()[0].state, "open");

  clock += 5_001;
  appUp = true;
  assert.equal(await b.call(), "ok"); // b's probe
  await published(false);
  const c = instance();
  assert.equal(await c.call(), "ok", "a closed breaker still reads open elsewhere");
  assert.equal(calls, 4);
});
