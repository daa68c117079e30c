/**
 * The DuckDB-WASM engines a regional worker joins in.
 *
 * DuckDB never runs on the thread that plans, fetches and answers: an {@link EnginePool} keeps a
 * few engine processes (`engine_process.ts`), each with one DuckDB-WASM instance (the blocking
 * Node build, eh bundle), locked down for its whole life: no extension autoload or install, no
 * external (file or network) access, configuration locked, a capped wasm heap, and a Deno
 * process allowed to read files and nothing else. Each query's tables travel to an engine as
 * Arrow IPC under their SQL names (`github.pull_requests`); the SQL is checked to be one
 * read-only statement and run unchanged; the result comes back as Arrow IPC and is converted to
 * JSON-safe rows; the query's database (its tables) is detached before the engine takes another
 * query.
 *
 * A query past its deadline, or above its memory cap, has its engine killed (SIGKILL) and
 * replaced from a warm spare; one tenant holds at most `size − 1` engines at once.
 *
 * Column types map to DuckDB as text → VARCHAR, integer → BIGINT, double → DOUBLE,
 * boolean → BOOLEAN, timestamp → TIMESTAMP (UTC) and json → VARCHAR holding JSON text (the JSON
 * extension is not built into DuckDB-WASM and is never downloaded).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { EnginePool } from "./mod.ts";
 * const pool = new EnginePool({ size: 1, spares: 0, warmUpMs: 0 });
 * try {
 *   const result = await pool.run({
 *     tables: [{
 *       schema: "jira", name: "issues",
 *       columns: [
 *         { name: "key", type: "text", description: "Issue key" },
 *         { name: "created", type: "timestamp", description: "Created at" },
 *       ],
 *       rows: [{ key: "MOB-1", created: "2024-03-01T10:00:00Z" }],
 *     }],
 *     sql: "SELECT key, date_trunc('month', created) AS month FROM jira.issues",
 *   }, { tenantId: "acme" });
 *   assert.deepEqual(result.rows[0].month, "2024-03-01"); // date_trunc to a day or more: DATE
 * } finally {
 *   await pool.close();
 * }
 * ```
 *
 * @module
 */
export {
  DEFAULT_MAX_ROWS,
  type JsonValue,
  type MaterializedTable,
  type QueryEngine,
  type QueryResult,
  RowPieces,
  type RunInput,
} from "./engine.ts";
export { EnginePool, type EnginePoolOptions, type PoolRunOptions, type PoolStats } from "./pool.ts";
