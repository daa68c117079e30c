import assert from "node:assert/strict";
import { concatPartitions, mergePartitions } from "./pool.ts";

const tick = (ms: number) => new Promise((r) => setTimeout(r, ms));

Deno.test("mergePartitions() runs at most `concurrency` partitions at once and yields every page", async () => {
  let running = 0, peak = 0;
  const partition = (name: string, pages: number) =>
    async function* () {
      running++;
      peak = Math.max(peak, running);
      try {
        for (let i = 0; i < pages; i++) {
          await tick(2);
          yield `${name}${i}`;
        }
      } finally {
        running--;
      }
    };
  const out: string[] = [];
  const parts = ["a", "b", "c", "d"].map((n) => partition(n, 3));
  for await (const page of mergePartitions(parts, 2)) out.push(page);
  assert.equal(out.length, 12);
  assert.equal(peak, 2);
});

/** A partition that pages forever, counting in `closed` when it is closed. */
function endless(closed: { count: number }) {
  return async function* () {
    try {
      for (;;) {
        await tick(1);
        yield 1;
      }
    } finally {
      closed.count++;
    }
  };
}

for (
  const [name, merge] of [["mergePartitions", mergePartitions], [
    "concatPartitions",
    concatPartitions,
  ]] as const
) {
  Deno.test(`${name}() fails with a failing partition and closes the others`, async () => {
    const closed = { count: 0 };
    async function* failing(): AsyncGenerator<number> {
      await tick(5);
      if (closed.count >= 0) throw new Error("app down");
      yield 0;
    }
    await assert.rejects(async () => {
      // The failing partition comes second: concatPartitions must not wait for the first.
      for await (const _ of merge([endless(closed), failing], 2)) {
        // consume
      }
    }, /app down/);
    assert.equal(closed.count, 1);
  });

  Deno.test(`${name}() closes running partitions when the consumer stops early`, async () => {
    const closed = { count: 0 };
    const parts = [endless(closed), endless(closed), endless(closed)];
    for await (const _ of merge(parts, 3)) break;
    assert.equal(closed.count, 3);
  });
}

Deno.test("concatPartitions() fetches partitions at once and yields them in order", async () => {
  const started: number[] = [];
  const t0 = performance.now();
  const partition = (name: string, ms: number) =>
    async function* () {
      started.push(performance.now() - t0);
      for (let i = 0; i < 2; i++) {
        await tick(ms);
        yield `${name}${i}`;
      }
    };
  const out: string[] = [];
  const parts = [partition("slow", 20), partition("fast", 1), partition("mid", 5)];
  for await (const page of concatPartitions(parts, 3)) {
    out.push(page);
    if (out.length === 1) {
      // The later partitions ran while the first was still paging.
      assert.equal(started.length, 3);
    }
  }
  assert.deepEqual(out, ["slow0", "slow1", "fast0", "fast1", "mid0", "mid1"]);
});
