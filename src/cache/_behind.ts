/**
 * When work a query leaves behind (a cache write) may run: once its answer is out, and never
 * later than a bound.
 *
 * @module
 */

/** How long work behind an answer waits for it at most, ms (a job's engine step can be long). */
const ANSWER_WAIT_MS = 1_000;

/**
 * Resolves once `answered` settles (at most `maxWaitMs` later), and after at least one turn of
 * the event loop: sealing a cache entry (JSON, encryption) takes milliseconds of the process's
 * only thread, which the query's engine step needs to hand its tables over and read the result,
 * and its response needs to be written.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { behindTheAnswer } from "./_behind.ts";
 * const order: string[] = [];
 * const answer = Promise.withResolvers<void>();
 * const write = behindTheAnswer(answer.promise).then(() => order.push("write"));
 * order.push("answer");
 * answer.resolve();
 * await write;
 * assert.deepEqual(order, ["answer", "write"]);
 * ```
 */
export async function behindTheAnswer(
  answered: Promise<unknown> | undefined,
  maxWaitMs = ANSWER_WAIT_MS,
): Promise<void> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  await Promise.race([
    Promise.resolve(answered).catch(() => {}),
    new Promise((resolve) => timer = setTimeout(resolve, maxWaitMs)),
  ]);
  clearTimeout(timer);
  await new Promise((resolve) => setTimeout(resolve, 0));
}
