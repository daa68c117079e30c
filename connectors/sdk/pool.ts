/**
 * Bounded parallelism for a connector's calls: a semaphore per scan (detail calls, first pages of
 * partitions) and one per connection shared by every scan of this process, so concurrent queries
 * together stay within a source's concurrency budget.
 *
 * @module
 */

/**
 * A counting semaphore: at most `size` tasks run at once.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { Limiter } from "./pool.ts";
 * const limiter = new Limiter(2);
 * let active = 0, peak = 0;
 * await Promise.all([1, 2, 3, 4].map(() => limiter.run(async () => {
 *   peak = Math.max(peak, ++active);
 *   await new Promise((r) => setTimeout(r, 1));
 *   active--;
 * })));
 * assert.equal(peak, 2);
 * ```
 */
export class Limiter {
  #active = 0;
  readonly #waiting: (() => void)[] = [];
  constructor(readonly size: number) {}

  /** Runs `task` when a slot is free. */
  async run<T>(task: () => Promise<T>): Promise<T> {
    // A finishing task hands its slot straight to the next waiter, so no newcomer can take it
    // in between and exceed the size.
    if (this.#active >= this.size) await new Promise<void>((r) => this.#waiting.push(r));
    else this.#active++;
    try {
      return await task();
    } finally {
      const next = this.#waiting.shift();
      if (next) next();
      else this.#active--;
    }
  }
}

/**
 * Maps `items` through `fn` with the limiter, keeping order. Waits for every task to settle
 * before rethrowing the first failure, so nothing keeps running after the caller gave up.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { Limiter, mapLimited } from "./pool.ts";
 * assert.deepEqual(await mapLimited([1, 2, 3], new Limiter(2), (n) => Promise.resolve(n * 2)), [2, 4, 6]);
 * ```
 */
export async function mapLimited<T, R>(
  items: readonly T[],
  limiter: Limiter,
  fn: (item: T) => Promise<R>,
): Promise<R[]> {
  let failed = false;
  const settled = await Promise.allSettled(items.map((item) =>
    limiter.run(async () => {
      if (failed) throw SKIPPED; // a sibling failed: start nothing new
      try {
        return await fn(item);
      } catch (err) {
        failed = true;
        throw err;
      }
    })
  ));
  const first = settled.find((s): s is PromiseRejectedResult =>
    s.status === "rejected" && s.reason !== SKIPPED
  );
  if (first) throw first.reason;
  return settled.map((s) => (s as PromiseFulfilledResult<R>).value);
}

const SKIPPED = Symbol("skipped");

const perConnection = new Map<string, Limiter>();

/**
 * The limiter shared by every scan of one connection (in this process), so concurrent queries
 * together keep at most `size` list pages of that connection in flight.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { connectionLimiter } from "./pool.ts";
 * assert.equal(connectionLimiter("c1", 4), connectionLimiter("c1", 4));
 * ```
 */
export function connectionLimiter(connectionId: string, size: number): Limiter {
  const key = `${connectionId}\u0000${size}`;
  let limiter = perConnection.get(key);
  if (!limiter) perConnection.set(key, limiter = new Limiter(size));
  return limiter;
}

/**
 * Streams independent partitions of a scan (repositories, projects, teams…) in parallel, at
 * most `concurrency` at a time, yielding each page as soon as it arrives (in no fixed order). A
 * failing partition fails the whole; when the consumer stops, the partitions still running are
 * closed and awaited, so nothing keeps calling the app.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { mergePartitions } from "./pool.ts";
 * async function* pages(name: string, n: number) {
 *   for (let i = 0; i < n; i++) yield `${name}${i}`;
 * }
 * const out: string[] = [];
 * for await (const page of mergePartitions([() => pages("a", 2), () => pages("b", 3)], 2)) {
 *   out.push(page);
 * }
 * assert.deepEqual(out.sort(), ["a0", "a1", "b0", "b1", "b2"]);
 * ```
 */
export async function* mergePartitions<T>(
  partitions: readonly (() => AsyncIterable<T>)[],
  concurrency: number,
): AsyncGenerator<T> {
  type Step = { index: number; result: IteratorResult<T> };
  const active = new Map<number, { it: AsyncIterator<T>; next: Promise<Step> }>();
  let started = 0;
  const pull = (index: number, it: AsyncIterator<T>) => {
    const next = it.next().then((result) => ({ index, result }));
    next.catch(() => {}); // raced below; a failure is rethrown there
    active.set(index, { it, next });
  };
  const startMore = () => {
    while (active.size < Math.max(1, concurrency) && started < partitions.length) {
      const index = started++;
      pull(index, partitions[index]()[Symbol.asyncIterator]());
    }
  };
  try {
    startMore();
    while (active.size > 0) {
      const { index, result } = await Promise.race([...active.values()].map((a) => a.next));
      const { it } = active.get(index)!;
      if (result.done) {
        active.delete(index);
        startMore();
        continue;
      }
      pull(index, it);
      yield result.value;
    }
  } finally {
    // Stop what still runs: wait for each pending page, then close its partition.
    await Promise.allSettled([...active.values()].map(async ({ it, next }) => {
      await next.catch(() => {});
      await it.return?.();
    }));
  }
}

/**
 * Streams independent partitions in parallel like {@link mergePartitions}, but yields them in
 * the given order, each partition's pages in its own order: every partition runs ahead (at most
 * `concurrency` at a time) and a later partition's pages wait, buffered, until the earlier ones
 * are out. For scans that collect every row anyway and want a stable row order. A failing
 * partition fails the whole as soon as it fails; when the consumer stops, the partitions still
 * running are closed and awaited.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { concatPartitions } from "./pool.ts";
 * async function* pages(name: string, n: number, ms: number) {
 *   for (let i = 0; i < n; i++) {
 *     await new Promise((r) => setTimeout(r, ms));
 *     yield `${name}${i}`;
 *   }
 * }
 * const out: string[] = [];
 * for await (const page of concatPartitions([() => pages("a", 2, 5), () => pages("b", 3, 1)], 2)) {
 *   out.push(page);
 * }
 * assert.deepEqual(out, ["a0", "a1", "b0", "b1", "b2"]);
 * ```
 */
export async function* concatPartitions<T>(
  partitions: readonly (() => AsyncIterable<T>)[],
  concurrency: number,
): AsyncGenerator<T> {
  const buffers: T[][] = partitions.map(() => []);
  const finished = partitions.map(() => false);
  let failure: { error: unknown } | undefined;
  let stopped = false;
  let wake: (() => void) | undefined;
  const limiter = new Limiter(Math.max(1, concurrency));
  const pumps = partitions.map((partition, i) =>
    limiter.run(async () => {
      try {
        if (stopped) return;
        for await (const page of partition()) {
          buffers[i].push(page);
          wake?.();
          if (stopped || failure) return; // closes the partition
        }
      } catch (error) {
        failure ??= { error };
      } finally {
        finished[i] = true;
        wake?.();
      }
    })
  );
  try {
    for (let i = 0; i < partitions.length; i++) {
      for (;;) {
        if (failure) throw failure.error;
        if (buffers[i].length > 0) yield buffers[i].shift()!;
        else if (finished[i]) break;
        else await new Promise<void>((resolve) => wake = resolve);
      }
    }
  } finally {
    stopped = true;
    await Promise.allSettled(pumps);
  }
}
