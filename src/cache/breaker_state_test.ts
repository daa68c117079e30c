/** Open breakers shared by a zone's instances (each with its own breakers and cache client). */
import assert from "node:assert/strict";
import { generateMasterKey, KeyRing, MemoryKeyStore } from "../crypto/mod.ts";
import { OmniError } from "../errors.ts";
import { composeSourceFetch, type SourceFetcher, type SourceMiddleware } from "../source/fetch.ts";
import { emptyFetch, fetchContext, namedSource } from "../source/testing.ts";
import { CircuitBreakers, type SharedBreakerState } from "../reliability/circuit_breaker.ts";
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

Deno.test("the shared state's read starts with the fetch, and calls within its age share it", async () => {
  const events: string[] = [];
  let clock = 1_000_000;
  const shared: SharedBreakerState = {
    openUntil: () => {
      events.push("read");
      return Promise.resolve(undefined);
    },
    publish: () => Promise.resolve(),
  };
  const breakers = new CircuitBreakers({ now: () => clock, shared, sharedReadMaxAgeMs: 250 });
  // What sits between the two in production: the source cache's lease, the budgets.
  const storeRoundTrip: SourceMiddleware = (next) => async (s, c) => {
    events.push("lease");
    await new Promise((r) => setTimeout(r, 5));
    return next(s, c);
  };
  const app: SourceFetcher = () => {
    events.push("call");
    return Promise.resolve(fetched);
  };
  const chain = [breakers.prefetch(), storeRoundTrip, breakers.middleware()];
  const fetch = composeSourceFetch(chain, app);

  await fetch(source, ctx());
  assert.deepEqual(events, ["read", "lease", "call"], "the read waited for the lease");
  clock += 250;
  await fetch(source, ctx());
  assert.deepEqual(events.slice(3), ["lease", "call"], "a read within its age was made again");
  clock += 1;
  await fetch(source, ctx());
  assert.deepEqual(events.slice(5), ["read", "lease", "call"]);
});

Deno.test("a breaker another instance opened is seen by a call once the read is older than its age", async () => {
  let clock = 1_000_000;
  let publishedUntil: number | undefined = undefined; // until another instance opens it
  const shared: SharedBreakerState = {
    openUntil: () => Promise.resolve(publishedUntil),
    publish: () => Promise.resolve(),
  };
  const breakers = new CircuitBreakers({ now: () => clock, shared, sharedReadMaxAgeMs: 250 });
  let calls = 0;
  const fetch = composeSourceFetch([breakers.prefetch(), breakers.middleware()], () => {
    calls++;
    return Promise.resolve(fetched);
  });
  await fetch(source, ctx());
  publishedUntil = clock + 30_000; // another instance opens it
  clock += 100;
  await fetch(source, ctx()); // the read 100 ms old still counts: the app is called
  assert.equal(calls, 2);
  clock += 151;
  const fast = await fetch(source, ctx()).then(() => "ok", (e) => e as OmniError);
  assert.ok(fast instanceof OmniError && fast.details?.breaker === "open", String(fast));
  assert.equal(calls, 2);
  assert.deepEqual(breakers.states().map((b) => Object.keys(b).sort()), [
    ["connectionId", "failures", "halfOpenAt", "opened", "source", "state", "tenantId"],
  ]);
});
