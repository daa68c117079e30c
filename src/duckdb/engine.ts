/**
 * The DuckDB-WASM engine a regional worker joins in: one instance per process, a fresh
 * in-memory database per query.
 *
 * @module
 */
import type { ColumnDef, Row } from "../../connectors/sdk/table.ts";
import { OmniError } from "../errors.ts";
import { type DuckConnection, type DuckDatabase, instantiateDuckDB } from "./_bindings.ts";
import { type JsonValue, tableToRows } from "./_convert.ts";
import { DUCK_TYPES, rowsToArrowIPC } from "./_ingest.ts";
import { assertReadOnly, cleanMessage, duckMessage, quoteIdent } from "./_sql.ts";

export type { JsonValue } from "./_convert.ts";

/**
 * The rows of one source table, fetched and ready to load, under its SQL name `schema.name`.
 *
 * @example
 * ```ts
 * import type { MaterializedTable } from "./engine.ts";
 * const pulls: MaterializedTable = {
 *   schema: "github", name: "pull_requests",
 *   columns: [{ name: "merged_at", type: "timestamp", description: "Merge time" }],
 *   rows: [{ merged_at: "2024-01-02T10:00:00Z" }, {}], // a missing key is NULL
 * };
 * console.assert(pulls.rows.length === 2);
 * ```
 */
export interface MaterializedTable {
  /** Schema the table appears under in SQL, e.g. `github`. */
  schema: string;
  /** Table name, e.g. `pull_requests`. */
  name: string;
  /** Declared columns, in order; they fix the DuckDB types. */
  columns: ColumnDef[];
  /** Rows as fetched: a missing key is NULL, keys not declared are ignored. */
  rows: Row[];
}

/**
 * What {@link DuckEngine.run} takes.
 *
 * @example
 * ```ts
 * import type { RunInput } from "./engine.ts";
 * const input: RunInput = { tables: [], sql: "SELECT 1 AS one", maxRows: 100 };
 * console.assert(input.maxRows === 100);
 * ```
 */
export interface RunInput {
  /** Tables the SQL may read; nothing else is visible to it. */
  tables: MaterializedTable[];
  /** One read-only statement, run unchanged. */
  sql: string;
  /**
   * Rows converted at most; more set `truncated`.
   * @default 10_000
   */
  maxRows?: number;
}

/**
 * A query's result, JSON-safe: BIGINTs beyond 2^53 as strings, timestamps as ISO-8601 with `Z`,
 * dates as `YYYY-MM-DD`, lists and structs as arrays and objects.
 *
 * @example
 * ```ts
 * import type { QueryResult } from "./engine.ts";
 * const result: QueryResult = {
 *   columns: ["id", "id_1"], rows: [{ id: 1, id_1: "9007199254740993" }], truncated: false,
 *   timing: { ingest_ms: 1.2, query_ms: 0.4 },
 * };
 * console.assert(JSON.stringify(result).length > 0);
 * ```
 */
export interface QueryResult {
  /** Column names in result order; duplicates get `_1`, `_2`… so no value is lost. */
  columns: string[];
  rows: Record<string, JsonValue>[];
  /** Whether the query had more rows than `maxRows`. */
  truncated: boolean;
  timing: { ingest_ms: number; query_ms: number };
}

/**
 * Default of {@link RunInput.maxRows}.
 *
 * @example
 * ```ts
 * import { DEFAULT_MAX_ROWS } from "./engine.ts";
 * console.assert(DEFAULT_MAX_ROWS === 10_000);
 * ```
 */
export const DEFAULT_MAX_ROWS = 10_000;

// Applied once for the whole process, then locked: our process never needs external access
// (tables arrive as in-memory Arrow buffers), and `lock_configuration` is per instance.
const LOCKDOWN = [
  "SET autoload_known_extensions = false",
  "SET autoinstall_known_extensions = false",
  "SET allow_community_extensions = false",
  "SET enable_external_access = false",
  "SET lock_configuration = true",
];

// Databases every run may see: the instance's default one (never written to) and DuckDB's own.
const BASE_DATABASES = new Set(["memory", "system", "temp"]);

let shared: Promise<DuckEngine> | undefined;

/**
 * Runs SQL over materialized tables, each query in its own in-memory database.
 *
 * @example
 * ```ts
 * import { DuckEngine } from "./engine.ts";
 * const engine = await DuckEngine.shared();
 * const result = await engine.run({
 *   tables: [{
 *     schema: "github", name: "pull_requests",
 *     columns: [{ name: "pr_id", type: "integer", description: "PR number" }],
 *     rows: [{ pr_id: 1 }, { pr_id: 2 }],
 *   }],
 *   sql: "SELECT count(*) AS n FROM github.pull_requests",
 * });
 * console.assert(result.rows[0].n === 2);
 * ```
 */
export class DuckEngine {
  readonly #db: DuckDatabase;
  #queue: Promise<unknown> = Promise.resolve();

  private constructor(db: DuckDatabase) {
    this.#db = db;
  }

  /**
   * The process-wide engine: DuckDB-WASM is instantiated (and locked down) on the first call
   * only; later calls get the same engine.
   *
   * @example
   * ```ts
   * import { DuckEngine } from "./engine.ts";
   * console.assert(await DuckEngine.shared() === await DuckEngine.shared());
   * ```
   */
  static shared(): Promise<DuckEngine> {
    shared ??= DuckEngine.#create().catch((err) => {
      shared = undefined;
      throw err;
    });
    return shared;
  }

  static async #create(): Promise<DuckEngine> {
    const db = await instantiateDuckDB();
    const conn = db.connect();
    try {
      for (const statement of LOCKDOWN) conn.query(statement);
    } finally {
      conn.close();
    }
    return new DuckEngine(db);
  }

  /**
   * Loads the tables into a fresh database, runs the SQL unchanged (so `github.pull_requests`
   * names the loaded table), converts the result and drops everything, even on error. Runs are
   * serialized: the blocking build computes on this thread anyway, and no run ever sees another
   * run's database.
   *
   * Throws `OmniError`: `PLAN_FAILED` for SQL DuckDB rejects, `INVALID_REQUEST` for anything
   * but one read-only statement, `INTERNAL` when loading fails.
   *
   * @example
   * ```ts
   * import { DuckEngine } from "./engine.ts";
   * const engine = await DuckEngine.shared();
   * const { columns, rows } = await engine.run({ tables: [], sql: "SELECT 40 + 2 AS answer" });
   * console.assert(columns[0] === "answer" && rows[0].answer === 42);
   * ```
   */
  run(input: RunInput): Promise<QueryResult> {
    const result = this.#queue.then(() => this.#run(input));
    this.#queue = result.catch(() => {});
    return result;
  }

  async #run(input: RunInput): Promise<QueryResult> {
    const maxRows = input.maxRows ?? DEFAULT_MAX_ROWS;
    if (!Number.isInteger(maxRows) || maxRows < 0) {
      throw new OmniError("INTERNAL", `maxRows must be a non-negative integer, got ${maxRows}`);
    }
    const dbName = `q_${crypto.randomUUID().replaceAll("-", "")}`;
    const conn = this.#db.connect();
    let attached = false;
    try {
      const ingestStart = performance.now();
      try {
        conn.query(`ATTACH ':memory:' AS ${quoteIdent(dbName)}`);
        attached = true;
        conn.query(`USE ${quoteIdent(dbName)}`);
        await this.#load(conn, input.tables);
      } catch (err) {
        if (err instanceof OmniError) throw err;
        const message = cleanMessage(duckMessage(err), { hide: dbName });
        throw new OmniError("INTERNAL", `loading tables failed: ${message}`, { cause: err });
      }
      const ingest_ms = performance.now() - ingestStart;

      const queryStart = performance.now();
      assertReadOnly(conn, input.sql);
      let table;
      try {
        table = conn.query(input.sql);
      } catch (err) {
        throw new OmniError(
          "PLAN_FAILED",
          cleanMessage(duckMessage(err), { sql: input.sql, hide: dbName }),
          { cause: err },
        );
      }
      const converted = tableToRows(table, maxRows);
      return { ...converted, timing: { ingest_ms, query_ms: performance.now() - queryStart } };
    } finally {
      this.#cleanUp(conn, attached ? dbName : undefined);
    }
  }

  async #load(conn: DuckConnection, tables: readonly MaterializedTable[]): Promise<void> {
    const schemas = new Set<string>();
    const names = new Set<string>();
    for (const table of tables) {
      const key = `${table.schema}.${table.name}`.toLowerCase();
      if (names.has(key)) throw new OmniError("INTERNAL", `table ${key} materialized twice`);
      names.add(key);
      if (table.columns.length === 0) {
        throw new OmniError("INTERNAL", `table ${key} has no columns`);
      }
      const schema = quoteIdent(table.schema);
      if (!schemas.has(table.schema.toLowerCase())) {
        conn.query(`CREATE SCHEMA IF NOT EXISTS ${schema}`);
        schemas.add(table.schema.toLowerCase());
      }
      const columns = table.columns.map((c) => `${quoteIdent(c.name)} ${DUCK_TYPES[c.type]}`);
      conn.query(`CREATE TABLE ${schema}.${quoteIdent(table.name)} (${columns.join(", ")})`);
      if (table.rows.length === 0) continue;
      const ipc = rowsToArrowIPC(table.columns, table.rows);
      await conn.insertArrowFromIPCStream(ipc, {
        schema: table.schema,
        name: table.name,
        create: false,
      });
    }
  }

  #cleanUp(conn: DuckConnection, dbName: string | undefined): void {
    try {
      conn.query("USE memory");
      if (dbName) conn.query(`DETACH DATABASE IF EXISTS ${quoteIdent(dbName)}`);
      // Belt and braces: whatever else got attached (the gate should make this impossible).
      const left = tableToRows(conn.query("SELECT database_name FROM duckdb_databases()"), 1000);
      for (const row of left.rows) {
        const name = String(row.database_name);
        if (!BASE_DATABASES.has(name)) conn.query(`DETACH DATABASE IF EXISTS ${quoteIdent(name)}`);
      }
    } catch {
      // The connection may be unusable after a failure; closing it still frees its state.
    } finally {
      conn.close();
    }
  }
}
