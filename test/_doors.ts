/**
 * The doors a query can come in by on a local stack, for tests that must hold at every one of
 * them: the edge, the zone's own endpoint, and EXPLAIN at the edge.
 *
 * @module
 */

/**
 * Each door as `[base URL, body]` sending `sql` through it.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { queryDoors } from "./_doors.ts";
 * const doors = queryDoors({ edgeUrl: "e", workerUrls: { us: "w" } }, "SELECT 1");
 * assert.deepEqual(doors[2], ["e", { sql: "EXPLAIN SELECT 1" }]);
 * ```
 */
export function queryDoors(
  stack: { edgeUrl: string; workerUrls: Record<string, string> },
  sql: string,
  zone = "us",
): [string, { sql: string }][] {
  return [
    [stack.edgeUrl, { sql }],
    [stack.workerUrls[zone], { sql }],
    [stack.edgeUrl, { sql: `EXPLAIN ${sql}` }],
  ];
}
