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
