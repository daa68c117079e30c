/**
 * The DuckDB-WASM engine a regional worker joins in.
 *
 * One DuckDB-WASM instance per process ({@link DuckEngine.shared}), instantiated once with the
 * blocking Node build and the eh bundle, and locked down for the whole process: no extension
 * autoload or install, no external (file or network) access, configuration locked. Each
 * {@link DuckEngine.run} loads the fetched tables into a fresh in-memory database under their SQL
 * names (`github.pull_requests`), checks that the SQL is one read-only statement, runs it
 * unchanged, converts the Arrow result to JSON-safe rows and detaches everything afterwards.
 *
 * Column types map to DuckDB as text → VARCHAR, integer → BIGINT, double → DOUBLE,
 * boolean → BOOLEAN, timestamp → TIMESTAMP (UTC) and json → VARCHAR holding JSON text (the JSON
 * extension is not built into DuckDB-WASM and is never downloaded).
 *
 * @example
 * ```ts
 * import { DuckEngine } from "./mod.ts";
 * const engine = await DuckEngine.shared();
 * const result = await engine.run({
 *   tables: [{
 *     schema: "jira", name: "issues",
 *     columns: [
 *       { name: "key", type: "text", description: "Issue key" },
 *       { name: "created", type: "timestamp", description: "Created at" },
 *     ],
 *     rows: [{ key: "MOB-1", created: "2024-03-01T10:00:00Z" }],
 *   }],
 *   sql: "SELECT key, date_trunc('month', created) AS month FROM jira.issues",
 * });
 * console.assert(result.rows[0].month === "2024-03-01"); // date_trunc to a day or more: DATE
 * ```
 *
 * @module
 */
export {
  DEFAULT_MAX_ROWS,
  DuckEngine,
  type JsonValue,
  type MaterializedTable,
  type QueryResult,
  type RunInput,
} from "./engine.ts";
