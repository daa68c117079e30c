import assert from "node:assert/strict";
import { ReadCache } from "./_read_cache.ts";

/** A clock the test moves. */
function testClock() {
  let now = 0;
  return { now: () => now, advance: (ms: number) => void (now += ms) };
}

/** Lets settled reads run their callbacks. */
const settle = () => new Promise((r) => setTimeout(r, 0));

/** A loader whose reads finish when the test says so; counts them. */
function controlledLoader() {
  const reads: ((value: string) => void)[] = [];
  return {
    reads,
    load: () => new Promise<string>((resolve) => reads.push(resolve)),
  };
}

/** A cache of `ttlMs` that read `value` at time 0, with its clock and loader. */
async function cacheHolding(value: string, ttlMs: number) {
  const clock = testClock();
  const cache = new ReadCache(ttlMs, clock.now);
  const db = controlledLoader();
  const first = cache.get("tenant", db.load);
  db.reads[0](value);
  assert.equal(await first, value);
  return { clock, cache, db };
}

Deno.test("ReadCache answers a value past half its life at once and reads it again behind it", async () => {
  const { clock, cache, db } = await cacheHolding("v1", 200);
  clock.advance(120); // past half its life: answered, and one fresh read starts
  assert.equal(await cache.get("tenant", db.load), "v1");
  assert.equal(await cache.get("tenant", db.load), "v1");
  assert.equal(db.reads.length, 2);
  db.reads[1]("v2");
  await settle();
  assert.equal(await cache.get("tenant", db.load), "v2");
  assert.equal(db.reads.length, 2);
});

Deno.test("ReadCache never answers a value older than its TTL: past it, callers wait for the read", async () => {
  const { clock, cache, db } = await cacheHolding("old", 100);
  clock.advance(60);
  assert.equal(await cache.get("tenant", db.load), "old"); // starts the refresh, still slow
  clock.advance(60); // now past the TTL
  let answered: string | undefined;
  const waiting = cache.get("tenant", db.load).then((v) => answered = v);
  await settle();
  assert.equal(answered, undefined);
  db.reads[1]("new");
  await waiting;
  assert.equal(answered, "new");
  assert.equal(db.reads.length, 2);
});

Deno.test("ReadCache: a write during a read behind the value discards that read", async () => {
  const { clock, cache, db } = await cacheHolding("before", 100);
  clock.advance(60);
  await cache.get("tenant", db.load); // refresh in flight
  await cache.write(() => Promise.resolve());
  db.reads[1]("read before the write");
  await settle();
  const after = cache.get("tenant", db.load);
  assert.equal(db.reads.length, 3);
  db.reads[2]("after");
  assert.equal(await after, "after");
});

Deno.test("ReadCache with a change count: past its TTL a value is renewed, not read again, while nothing changed", async () => {
  const clock = testClock();
  let changes = 7;
  let checks = 0;
  const cache = new ReadCache(100, clock.now, () => {
    checks++;
    return Promise.resolve(changes);
  });
  let reads = 0;
  const load = () => Promise.resolve(`v${++reads}`);
  assert.equal(await cache.get("tenant", load), "v1"); // untagged: no count read yet
  await settle();
  clock.advance(150);
  assert.equal(await cache.get("tenant", load), "v2"); // read again, tagged with count 7
  clock.advance(150);
  assert.equal(await cache.get("tenant", load), "v2");
  assert.equal(await cache.get("user", load), "v3");
  clock.advance(150);
  // One count read renews every value read under it.
  const checksBefore = checks;
  assert.deepEqual(await Promise.all([cache.get("tenant", load), cache.get("user", load)]), [
    "v2",
    "v3",
  ]);
  assert.equal(checks, checksBefore + 1);
  assert.equal(reads, 3);
  // A change (a write by anyone, anywhere) makes every value read again once it expires.
  changes = 8;
  clock.advance(150);
  assert.equal(await cache.get("tenant", load), "v4");
  assert.equal(reads, 4);
});

Deno.test("ReadCache with a change count: a value read while a write lands is read again, never kept", async () => {
  const clock = testClock();
  let changes = 1;
  const cache = new ReadCache(100, clock.now, () => Promise.resolve(changes));
  const db = controlledLoader();
  const first = cache.get("tenant", db.load);
  db.reads[0]("v1");
  await first;
  await settle(); // count 1 read
  clock.advance(150);
  const second = cache.get("tenant", db.load); // tagged with count 1
  changes = 2; // a write commits while the read runs: it may have read either side of it
  db.reads[1]("v2");
  assert.equal(await second, "v2");
  clock.advance(150);
  const third = cache.get("tenant", db.load);
  await settle();
  assert.equal(db.reads.length, 3, "the count moved: read again");
  db.reads[2]("v3");
  assert.equal(await third, "v3");
});

Deno.test("ReadCache runs a loader's thenable once, however often its value is read", async () => {
  const cache = new ReadCache(1000);
  let runs = 0;
  // Like a Drizzle query: every `then` runs it again.
  const query = { then: (resolve: (rows: string[]) => void) => resolve([`run ${++runs}`]) };
  const load = () => query as unknown as Promise<string[]>;
  const first = await cache.get("users", load);
  assert.equal(await cache.get("users", load), first);
  assert.equal(runs, 1);
});

/** A cache with a change count whose reads the test can await; holds "v2" tagged with count 7. */
async function keptCache(ttlMs: number) {
  const clock = testClock();
  let checks = 0;
  let nextCheck: (() => void) | undefined;
  const cache = new ReadCache(ttlMs, clock.now, () => {
    checks++;
    nextCheck?.();
    return Promise.resolve(7);
  });
  let reads = 0;
  const load = () => Promise.resolve(`v${++reads}`);
  await cache.get("tenant", load); // v1, untagged; the count is read behind it
  await settle();
  clock.advance(ttlMs * 1.5);
  assert.equal(await cache.get("tenant", load), "v2"); // read again, tagged with count 7
  return {
    clock,
    cache,
    load,
    checks: () => checks,
    reads: () => reads,
    /** Resolves at the next count read. */
    nextCheck: () => new Promise<void>((resolve) => nextCheck = resolve),
  };
}

Deno.test("ReadCache kept fresh: after a quiet spell a value is renewed without a read on its way", async () => {
  const kept = await keptCache(60);
  const stop = kept.cache.keepFresh(10_000);
  try {
    kept.clock.advance(90); // quiet, longer than the TTL: the value and the count have expired
    // The keeper reads the count meanwhile (its timer does not keep a process alive: this does).
    const alive = setTimeout(() => {}, 5_000);
    await kept.nextCheck();
    clearTimeout(alive);
    await settle();
  } finally {
    stop();
  }
  const checks = kept.checks();
  assert.equal(await kept.cache.get("tenant", kept.load), "v2");
  assert.equal(kept.checks(), checks, "renewed by the count already read");
  assert.equal(kept.reads(), 2);
});

Deno.test("ReadCache kept fresh reads nothing once it has not been used for a while", async () => {
  const kept = await keptCache(60);
  kept.clock.advance(5_000); // no get since: not in use
  const checks = kept.checks();
  const stop = kept.cache.keepFresh(1_000);
  await new Promise((resolve) => setTimeout(resolve, 120)); // several periods of 20 ms
  stop();
  assert.equal(kept.checks(), checks);
});
