import assert from "node:assert/strict";
import { OmniError } from "../errors.ts";
import type { FetchedSource, SourceFetcher } from "../source/fetch.ts";
import { emptyFetch, fetchContext, namedSource } from "../source/testing.ts";
import { CircuitBreakers } from "./circuit_breaker.ts";

const source = namedSource();
const ctx = () => fetchContext();
const fetched = emptyFetch();
const down = () => new OmniError("SOURCE_ERROR", "HTTP 503", { details: { status: 503 } });

function setup(threshold = 3) {
  let clock = 1_000_000;
  let outcome: () => Promise<FetchedSource> = () => Promise.reject(down());
  let calls = 0;
  const inner: SourceFetcher = () => {
    calls++;
    return outcome();
  };
  const breakers = new CircuitBreakers({
    failureThreshold: threshold,
    openMs: 5_000,
    now: () => clock,
  });
  const fetch = breakers.middleware()(inner);
  return {
    breakers,
    call: () => fetch(source, ctx()),
    calls: () => calls,
    advance: (ms: number) => (clock += ms),
    set: (fn: () => Promise<FetchedSource>) => (outcome = fn),
  };
}

async function codeOf(p: Promise<unknown>) {
  try {
    await p;
    return "ok";
  } catch (err) {
    return err instanceof OmniError ? err : String(err);
  }
}

Deno.test("a breaker opens after N consecutive source failures and then fails fast", async () => {
  const b = setup(3);
  for (let i = 0; i < 3; i++) {
    assert.equal((await codeOf(b.call()) as OmniError).code, "SOURCE_ERROR");
  }
  assert.equal(b.calls(), 3);
  const fast = await codeOf(b.call()) as OmniError;
  assert.equal(fast.code, "SOURCE_ERROR");
  assert.equal(fast.details?.breaker, "open");
  assert.match(fast.message, /github\.pull_requests/);
  assert.ok(typeof fast.details?.half_open_at === "string");
  assert.equal(b.calls(), 3, "an open breaker must not call the app");
  assert.equal(b.breakers.states()[0].state, "open");
});

Deno.test("an open breaker half-opens to one probe and closes when it succeeds", async () => {
  const b = setup(2);
  await codeOf(b.call());
  await codeOf(b.call());
  b.advance(5_000);
  assert.equal(b.breakers.states()[0].state, "half_open");
  let release!: () => void;
  b.set(() => new Promise((resolve) => (release = () => resolve(fetched))));
  const probe = b.call();
  // While the probe is out, others still fail fast.
  assert.equal((await codeOf(b.call()) as OmniError).details?.breaker, "open");
  release();
  assert.equal(await codeOf(probe), "ok");
  assert.equal(b.breakers.states()[0].state, "closed");
  b.set(() => Promise.resolve(fetched));
  assert.equal(await codeOf(b.call()), "ok");
});

Deno.test("a failed probe opens the breaker again", async () => {
  const b = setup(2);
  await codeOf(b.call());
  await codeOf(b.call());
  b.advance(5_000);
  await codeOf(b.call());
  assert.equal(b.breakers.states()[0].state, "open");
  assert.equal(b.breakers.states()[0].opened, 2);
});

Deno.test("4xx answers and spent budgets do not open a breaker", async () => {
  const b = setup(2);
  b.set(() =>
    Promise.reject(new OmniError("SOURCE_ERROR", "bad credentials", { details: { status: 401 } }))
  );
  for (let i = 0; i < 4; i++) await codeOf(b.call());
  b.set(() => Promise.reject(new OmniError("RATE_LIMIT_EXHAUSTED", "spent")));
  for (let i = 0; i < 4; i++) await codeOf(b.call());
  assert.equal(b.breakers.states()[0].state, "closed");
  assert.equal(b.calls(), 8);
});

Deno.test("a success resets the count of consecutive failures", async () => {
  const b = setup(3);
  await codeOf(b.call());
  await codeOf(b.call());
  b.set(() => Promise.resolve(fetched));
  await codeOf(b.call());
  b.set(() => Promise.reject(down()));
  await codeOf(b.call());
  await codeOf(b.call());
  assert.equal(b.breakers.states()[0].state, "closed");
});

Deno.test("a slow call admitted before the breaker opened does not free the half-open probe's slot", async () => {
  const b = setup(2);
  // A call admitted while closed, still in flight, that will end with a 4xx.
  let finishSlow!: () => void;
  b.set(() =>
    new Promise((_, reject) => {
      finishSlow = () =>
        reject(new OmniError("SOURCE_ERROR", "HTTP 404", { details: { status: 404 } }));
    })
  );
  const slow = codeOf(b.call());
  b.set(() => Promise.reject(down()));
  await codeOf(b.call());
  await codeOf(b.call()); // two failures: open
  b.advance(5_000);
  // The probe goes through and hangs.
  let finishProbe!: () => void;
  b.set(() => new Promise((resolve) => (finishProbe = () => resolve(fetched))));
  const probe = b.call();
  finishSlow();
  await slow;
  // The slow call's 4xx must not let a second probe through while the first is in flight.
  const second = await codeOf(b.call()) as OmniError;
  assert.equal(second.details?.breaker, "open");
  finishProbe();
  assert.equal(await codeOf(probe), "ok");
  b.set(() => Promise.resolve(fetched));
  assert.equal(await codeOf(b.call()), "ok");
});
