/**
 * When work a query leaves behind (a cache write, its usage count) may run: once its answer is
 * out, and never later than a bound.
 *
 * @module
 */

/** How long work behind an answer waits for it at most, ms (a job's engine step can be long). */
const ANSWER_WAIT_MS = 1_000;
/**
 * How long work behind an answer waits once the answer is out of this server, ms: an answer a
 * zone sends goes on through the edge, and where both share a process (the local stack) the
 * edge's relay needs the same thread. Sealing a join's source rows there right after the zone's
 * response delayed the client's answer by 10–25 ms (measured with the bench stack, 3 s of quiet
 * before each seed join); 4–6 ms of edge and hop remained with this wait.
 */
const RELAY_GRACE_MS = 25;

/**
 * Resolves `graceMs` after `answered` settles (or after `maxWaitMs` at most): sealing a cache
 * entry (JSON, encryption) takes milliseconds of the process's only thread, which the query's
 * engine step needs to hand its tables over and read the result, and its response needs to be
 * written and relayed.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { behindTheAnswer } from "./behind_the_answer.ts";
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
  graceMs = RELAY_GRACE_MS,
): Promise<void> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  await Promise.race([
    Promise.resolve(answered).catch(() => {}),
    new Promise((resolve) => timer = setTimeout(resolve, maxWaitMs)),
  ]);
  clearTimeout(timer);
  await new Promise((resolve) => setTimeout(resolve, graceMs));
}
