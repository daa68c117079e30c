/**
 * The doors a query can come in by on a local stack, for tests that must hold at every one of
 * them: the edge, the zone's own endpoint, and EXPLAIN at the edge.
 *
 * @module
 */
import postgres from "postgres";

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

/**
 * A Postgres driver (one connection) on the door of a local stack, signed in with a token.
 *
 * @example
 * ```ts ignore
 * const sql = pgDriver(stack.pgPort!, "dev@acme", await tokenFor(stack, "acme", "dev@acme"));
 * ```
 */
export function pgDriver(port: number, user: string, token: string): postgres.Sql {
  return postgres({
    host: "127.0.0.1",
    port,
    user,
    password: token,
    database: "omnisql",
    max: 1,
    connect_timeout: 20,
    onnotice: () => {},
  });
}
