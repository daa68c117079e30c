/**
 * The untyped CommonJS surface of `@duckdb/duckdb-wasm`'s blocking Node build, behind a small
 * typed interface of our own. Nothing untyped leaves this file.
 *
 * @module
 */
import { createRequire } from "node:module";

/** The subset of an Arrow `DataType` we read (typed structurally: DuckDB loads its own copy). */
export interface ArrowTypeLike {
  readonly typeId: number;
  readonly unit?: number;
  readonly scale?: number;
  readonly children?: readonly ArrowFieldLike[];
  readonly dictionary?: ArrowTypeLike;
  toString(): string;
}

/** The subset of an Arrow `Field` we read. */
export interface ArrowFieldLike {
  readonly name: string;
  readonly type: ArrowTypeLike;
}

/** The subset of an Arrow `Data` chunk we read. */
export interface ArrowDataLike {
  readonly offset: number;
  readonly length: number;
  readonly nullCount: number;
  readonly values: ArrayLike<number | bigint>;
  /** Validity bits, one per value from `offset` (absent or empty when none is null). */
  readonly nullBitmap?: Uint8Array;
  /** Where each value of a variable-width column starts in `values` (and the last one ends). */
  readonly valueOffsets?: ArrayLike<number>;
}

/** The subset of an Arrow `Vector` we read. */
export interface ArrowVectorLike {
  readonly length: number;
  readonly type: ArrowTypeLike;
  readonly data: readonly ArrowDataLike[];
  get(index: number): unknown;
  isValid(index: number): boolean;
  getChildAt(index: number): ArrowVectorLike | null;
}

/** The subset of an Arrow `Table` we read. */
export interface ArrowTableLike {
  readonly numRows: number;
  readonly schema: { readonly fields: readonly ArrowFieldLike[] };
  getChildAt(index: number): ArrowVectorLike | null;
}

/** Options of `insertArrowFromIPCStream`. */
export interface ArrowInsertOptions {
  schema?: string;
  name: string;
  create?: boolean;
}

/** A connection of the blocking build: statements run synchronously on the calling thread. */
export interface DuckConnection {
  query(sql: string): ArrowTableLike;
  /** The blocking build's own handles, behind `query` (see {@link queryIPC}). */
  readonly _bindings: { runQuery(conn: number, sql: string): Uint8Array };
  readonly _conn: number;
  prepare(sql: string): { close(): void };
  insertArrowFromIPCStream(buffer: Uint8Array, options: ArrowInsertOptions): unknown;
  close(): void;
}

/** A DuckDB-WASM database instance. */
export interface DuckDatabase {
  connect(): DuckConnection;
}

interface DuckModule {
  createDuckDB(
    bundles: Record<string, { mainModule: string; mainWorker: string }>,
    logger: unknown,
    runtime: unknown,
  ): Promise<{ instantiate(progress: () => void): Promise<unknown>; connect(): DuckConnection }>;
  VoidLogger: new () => unknown;
  NODE_RUNTIME: unknown;
}

const ENTRY = "@duckdb/duckdb-wasm/dist/duckdb-node-blocking.cjs";

/**
 * Loads the blocking Node build and instantiates one database with the eh bundle (the mvp bundle
 * is the fallback DuckDB picks on runtimes without wasm exceptions).
 */
export async function instantiateDuckDB(): Promise<DuckDatabase> {
  const require = createRequire(import.meta.url);
  const duckdb = require(ENTRY) as DuckModule;
  const dist = require.resolve(ENTRY).replace(/duckdb-node-blocking\.cjs$/, "");
  const bundles = {
    mvp: { mainModule: dist + "duckdb-mvp.wasm", mainWorker: dist + "duckdb-node-mvp.worker.cjs" },
    eh: { mainModule: dist + "duckdb-eh.wasm", mainWorker: dist + "duckdb-node-eh.worker.cjs" },
  };
  const db = await duckdb.createDuckDB(bundles, new duckdb.VoidLogger(), duckdb.NODE_RUNTIME);
  await db.instantiate(() => {});
  return db;
}

/**
 * Runs a statement and returns its result as DuckDB wrote it: an Arrow IPC file, copied out of
 * the wasm heap. `query` would decode that same buffer into JS objects; an engine process only
 * forwards it, so it skips the decoding (and a re-encoding that Arrow JS gets wrong for duplicate
 * column names and intervals).
 */
export function queryIPC(conn: DuckConnection, sql: string): Uint8Array {
  return conn._bindings.runQuery(conn._conn, sql);
}
