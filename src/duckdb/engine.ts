/**
 * What the worker's query path asks of an engine: run one read-only SQL statement over the
 * tables a query fetched, and nothing else. {@link EnginePool} (`pool.ts`) is the engine: DuckDB
 * runs in processes of its own, stopped by the query's deadline and memory cap.
 *
 * @module
 */
import type { ColumnDef, Row } from "../../connectors/sdk/table.ts";
import type { JsonValue } from "./_convert.ts";
import type { PoolRunOptions } from "./pool.ts";

export type { JsonValue } from "./_convert.ts";

/**
 * The rows of one source table, fetched and ready to load, under its SQL name `schema.name`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import type { MaterializedTable } from "./engine.ts";
 * const pulls: MaterializedTable = {
 *   schema: "github", name: "pull_requests",
 *   columns: [{ name: "merged_at", type: "timestamp", description: "Merge time" }],
 *   rows: [{ merged_at: "2024-01-02T10:00:00Z" }, {}], // a missing key is NULL
 * };
 * assert.deepEqual((await pulls.rows).length, 2);
 * ```
 */
export interface MaterializedTable {
  /** Schema the table appears under in SQL, e.g. `github`. */
  schema: string;
  /** Table name, e.g. `pull_requests`. */
  name: string;
  /** Declared columns, in order; they fix the DuckDB types. */
  columns: ColumnDef[];
  /**
   * Rows as fetched: a missing key is NULL, keys not declared are ignored. A promise while the
   * source is still being fetched: the engine may load the tables that have arrived meanwhile,
   * so that little of its work is left once the last one does. A rejection fails the run.
   */
  rows: Row[] | Promise<Row[]>;
  /**
   * The rows in pieces as they arrive, before `rows` settles: the engine may prepare them (encode
   * them) meanwhile. It uses what it prepared only when `rows` is exactly those pieces' rows, in
   * order (the same objects); otherwise it starts again from `rows`.
   */
  pieces?: RowPieces;
}

/**
 * A table's rows in pieces, in order, as its source brings them: each piece is handed to the
 * listener, and the pieces added before it listens are handed to it as it does.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { RowPieces } from "./engine.ts";
 * const pieces = new RowPieces();
 * pieces.add([{ n: 1 }]);
 * const seen: number[] = [];
 * pieces.listen((rows) => seen.push(rows.length));
 * pieces.add([{ n: 2 }, { n: 3 }]);
 * assert.deepEqual(seen, [1, 2]);
 * ```
 */
export class RowPieces {
  readonly #pieces: Row[][] = [];
  #listener?: (rows: Row[]) => void;

  /** Adds the next piece. */
  add(rows: Row[]): void {
    this.#pieces.push(rows);
    this.#listener?.(rows);
  }

  /** Hands every piece to `listener`, those already added at once; one listener at a time. */
  listen(listener: (rows: Row[]) => void): void {
    this.#listener = listener;
    for (const rows of this.#pieces) listener(rows);
  }
}

/**
 * What {@link QueryEngine.run} takes.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import type { RunInput } from "./engine.ts";
 * const input: RunInput = { tables: [], sql: "SELECT 1 AS one", maxRows: 100 };
 * assert.deepEqual(input.maxRows, 100);
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
 * import assert from "node:assert/strict";
 * import type { QueryResult } from "./engine.ts";
 * const result: QueryResult = {
 *   columns: ["id", "id_1"], rows: [{ id: 1, id_1: "9007199254740993" }], truncated: false,
 *   timing: { ingest_ms: 1.2, query_ms: 0.4 },
 * };
 * assert.deepEqual(JSON.parse(JSON.stringify(result)).rows[0].id_1, "9007199254740993");
 * ```
 */
export interface QueryResult {
  /** Column names in result order; duplicates get `_1`, `_2`… so no value is lost. */
  columns: string[];
  rows: Record<string, JsonValue>[];
  /** Whether the query had more rows than `maxRows`. */
  truncated: boolean;
  /** Where the time went: see {@link EngineTiming}. */
  timing: EngineTiming;
}

/**
 * Where a query's time in the engine step went, milliseconds. `ingest_ms` and `query_ms` are
 * measured inside the engine; the others, when present, by the pool around it.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import type { EngineTiming } from "./engine.ts";
 * const timing: EngineTiming = { ingest_ms: 1.2, query_ms: 0.4, round_trip_ms: 2 };
 * assert.ok(timing.round_trip_ms! >= timing.ingest_ms + timing.query_ms);
 * ```
 */
export interface EngineTiming {
  /** Loading the tables into the engine's DuckDB. */
  ingest_ms: number;
  /** Running the SQL and serialising its result. */
  query_ms: number;
  /** Encoding the rows as Arrow IPC, before an engine is taken (each table as it arrives). */
  encode_ms?: number;
  /**
   * Loading tables that arrived while others were still fetched, into an engine lent to the
   * query meanwhile: engine time spent before the last table arrived, off the answer's path.
   */
  loaded_ahead_ms?: number;
  /** Waiting for an engine (fair share, a busy pool). */
  wait_ms?: number;
  /** From sending the query to an engine to its result back (pipes both ways included). */
  round_trip_ms?: number;
  /** Turning the result's Arrow IPC into rows. */
  decode_ms?: number;
}

/**
 * An engine the query path runs SQL on. Throws `OmniError`: `PLAN_FAILED` for SQL DuckDB
 * rejects, `INVALID_REQUEST` for anything but one read-only query, `QUERY_TIMEOUT` when the
 * deadline stops it, `RESOURCE_EXHAUSTED` above its memory limit, `REGION_UNAVAILABLE` when
 * every engine is busy and the queue is full.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import type { QueryEngine } from "./engine.ts";
 * // A stand-in for the pool, for code that only needs the contract.
 * const echo: QueryEngine = {
 *   run: (input) => Promise.resolve({
 *     columns: ["sql"], rows: [{ sql: input.sql }], truncated: false,
 *     timing: { ingest_ms: 0, query_ms: 0 },
 *   }),
 * };
 * assert.deepEqual((await echo.run({ tables: [], sql: "SELECT 1" }, { tenantId: "t" })).rows, [
 *   { sql: "SELECT 1" },
 * ]);
 * ```
 */
export interface QueryEngine {
  run(input: RunInput, options: PoolRunOptions): Promise<QueryResult>;
}

/**
 * Default of {@link RunInput.maxRows}.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { DEFAULT_MAX_ROWS } from "./engine.ts";
 * assert.deepEqual(DEFAULT_MAX_ROWS, 10_000);
 * ```
 */
export const DEFAULT_MAX_ROWS = 10_000;
