/**
 * One locked-down DuckDB-WASM instance, as an engine process runs it: load the query's tables
 * from Arrow IPC into a database of the query's own, run the user's SQL unchanged, hand the result
 * back as Arrow IPC, detach the database.
 * It serves one query at a time; only an engine process (`engine_process.ts`) uses it.
 *
 * @module
 */
import { OmniError } from "../errors.ts";
import { type DuckConnection, instantiateDuckDB, queryIPC } from "./_bindings.ts";
import { cleanMessage, duckMessage, quoteIdent, ReadOnlyGate } from "./_sql.ts";

/** A table to load: its SQL name and DuckDB column types; its rows come as one Arrow IPC blob. */
export interface TableShape {
  schema: string;
  name: string;
  columns: { name: string; duckType: string }[];
}

/**
 * One query for the instance: its SQL and every table it reads. Tables loaded ahead
 * ({@link InstanceLoad}) are named in `after` and come with an empty blob; the others with their
 * rows.
 */
export interface InstanceQuery {
  sql: string;
  /** Bytes of Arrow IPC a result may have; a larger one is refused (`RESOURCE_EXHAUSTED`). */
  maxResultBytes: number;
  tables: TableShape[];
  /** See {@link FrameContinues}: absent when no load came before. */
  after?: number[];
}

/**
 * A frame that continues a query whose earlier frames created its tables names the indexes
 * those frames loaded, exactly. The pool writes a query's frames one behind another without
 * waiting for each answer, so a frame may arrive after an earlier one failed (the engine then
 * cleaned up): it is refused rather than run on tables that are missing or empty. A frame
 * without `after` starts a query, and is refused if another query's tables are still there.
 */
export interface FrameContinues {
  after?: number[];
}

/**
 * Some of a coming query's tables, loaded while its other sources are still being fetched:
 * `tables` are all of the query's tables (the first load creates them), `load` the indexes of
 * those whose rows come with this load, one blob each, in that order (none: the tables are only
 * created). With `sql`, the query's text is put to the read-only gate ahead, whose verdict the
 * gate remembers; a refusal is left for the query itself to meet.
 */
export interface InstanceLoad extends FrameContinues {
  tables: TableShape[];
  load: number[];
  sql?: string;
}

/**
 * A warm-up while a lent engine waits for its query's rows: a small table (one blob of rows) and a
 * query over it, dropped before any frame of the query can follow.
 */
export interface InstanceWarm {
  /** The table: in the `main` schema of the coming query's database, which no query names. */
  table: TableShape;
  sql: string;
}

/** The instance's answer: the result as an Arrow IPC file, and timings. */
export interface InstanceResult {
  ipc: Uint8Array;
  ingest_ms: number;
  query_ms: number;
}

/**
 * The settings every instance starts with, then locked: tables arrive as in-memory Arrow
 * buffers, so nothing ever needs extensions, files or the network.
 */
function lockdown(memoryLimitMb: number): string {
  return [
    "SET autoload_known_extensions = false",
    "SET autoinstall_known_extensions = false",
    "SET allow_community_extensions = false",
    "SET enable_external_access = false",
    `SET memory_limit = '${Math.max(16, Math.floor(memoryLimitMb))}MB'`,
    "SET lock_configuration = true",
  ].join("; ");
}

// Objects that outlive a query would be seen by the next one: there must be none. The check
// fails (DuckDB's `error()`) rather than returning a count, so its answer needs no decoding.
const NO_OTHER_DATABASE = "(SELECT count(*) FROM duckdb_databases() " +
  "WHERE NOT internal AND database_name <> 'memory')";
const fails = (count: string) =>
  `SELECT CASE WHEN ${count} > 0 THEN error('objects outlived their query') END AS leftovers`;
/**
 * After each query: its database is gone, and no other was attached. A row per database left
 * raises the error: half the cost of a scalar subquery under `CASE` (planned on every query).
 */
const DATABASES_CHECK = "SELECT error('objects outlived their query') AS leftovers " +
  "FROM duckdb_databases() WHERE NOT internal AND database_name <> 'memory'";
/** Every {@link FULL_CHECK_EVERY} queries: nothing at all outside the query's database either. */
const FULL_CHECK = fails(`(
  (SELECT count(*) FROM duckdb_tables() WHERE NOT internal) +
  (SELECT count(*) FROM duckdb_views() WHERE NOT internal) +
  (SELECT count(*) FROM duckdb_sequences()) +
  (SELECT count(*) FROM duckdb_schemas() WHERE NOT internal AND schema_name <> 'main') +
  ${NO_OTHER_DATABASE}
)`);
/**
 * How often the full catalog scan runs. It costs about as much CPU as the rest of a seed join
 * (`duckdb_views()` alone renders every internal view), and what it looks for outside the query's
 * own database can only come from a statement the read-only gate refuses.
 */
const FULL_CHECK_EVERY = 32;

/**
 * A DuckDB-WASM instance serving one query at a time.
 *
 * @example
 * ```ts ignore
 * // Only inside an engine process: the blocking build computes on the calling thread.
 * const instance = await DuckInstance.open({ memoryLimitMb: 512 });
 * ```
 */
export class DuckInstance {
  readonly #conn: DuckConnection;
  /** The running query's database, until it is detached. */
  #database?: string;
  /**
   * The next query's database, attached (and made the default) while the instance waits: an
   * attach is a third of the fixed cost of a query. Queries are read-only, so the one before can
   * put nothing in it.
   */
  #next: string;
  #queries = 0;
  readonly #gate = new ReadOnlyGate();
  /** The running query's tables once created (by a load or the query), as one text. */
  #created?: string;
  /** Indexes of the running query's tables whose rows are in. */
  readonly #loaded = new Set<number>();

  private constructor(conn: DuckConnection, next: string) {
    this.#conn = conn;
    this.#next = next;
  }

  /**
   * Instantiates DuckDB-WASM (about 0.8 s) with its heap capped at `heapLimitMb`, and locks it
   * down with DuckDB's own `memory_limit`.
   */
  static async open(
    options: { memoryLimitMb: number; heapLimitMb: number },
  ): Promise<DuckInstance> {
    capWasmMemory(options.heapLimitMb);
    const db = await instantiateDuckDB();
    const conn = db.connect();
    const next = databaseName();
    conn.query(`${lockdown(options.memoryLimitMb)}; ${attach(next)}`);
    return new DuckInstance(conn, next);
  }

  /**
   * Loads some of a coming query's tables into its database, ahead of the query: the time the
   * last source is still being fetched. Throws `OmniError` (`INTERNAL`, `RESOURCE_EXHAUSTED`);
   * the query's database is then to be cleaned up.
   */
  load(load: InstanceLoad, blobs: readonly Uint8Array[]): { ingest_ms: number } {
    const started = performance.now();
    this.#ingest(load.tables, load.after, load.load, blobs);
    if (load.sql !== undefined) {
      try {
        this.#gate.check(this.#conn, load.sql);
      } catch {
        // The query's own frame checks again and answers the refusal.
      }
    }
    return { ingest_ms: performance.now() - started };
  }

  /**
   * Runs a small ingest and query, so that DuckDB's code is hot when the query's rows come: a
   * core that did other work for a few hundred milliseconds (the apps' answers are awaited) runs
   * DuckDB's inserts about twice as slowly (`docs/bench/profile-engine.md` §17). The table is
   * gone when this returns, whatever happened.
   */
  warm(warm: InstanceWarm, blob: Uint8Array): void {
    const { table } = warm;
    const name = `${quoteIdent(table.schema)}.${quoteIdent(table.name)}`;
    const columns = table.columns.map((c) => `${quoteIdent(c.name)} ${c.duckType}`);
    try {
      queryIPC(this.#conn, `CREATE OR REPLACE TABLE ${name} (${columns.join(", ")})`);
      this.#conn.insertArrowFromIPCStream(blob, {
        schema: table.schema,
        name: table.name,
        create: false,
      });
      queryIPC(this.#conn, warm.sql);
    } finally {
      queryIPC(this.#conn, `DROP TABLE IF EXISTS ${name}`);
    }
  }

  /**
   * Loads the tables not loaded yet, checks the SQL is one read-only statement, runs it and
   * serialises the result. Throws `OmniError`: `PLAN_FAILED` for SQL DuckDB rejects,
   * `INVALID_REQUEST` for anything but one read-only query, `RESOURCE_EXHAUSTED` when DuckDB runs
   * out of memory.
   */
  run(query: InstanceQuery, blobs: readonly Uint8Array[]): InstanceResult {
    const ingestStart = performance.now();
    const database = this.#next;
    const ahead = new Set(query.after);
    const indexes = query.tables.map((_, i) => i).filter((i) => !ahead.has(i));
    this.#ingest(query.tables, query.after, indexes, indexes.map((i) => blobs[i]));
    const ingest_ms = performance.now() - ingestStart;

    const queryStart = performance.now();
    this.#gate.check(this.#conn, query.sql);
    let ipc: Uint8Array;
    try {
      ipc = queryIPC(this.#conn, query.sql);
    } catch (err) {
      throw engineError(err, "PLAN_FAILED", "", { sql: query.sql, hide: database });
    }
    if (ipc.byteLength > query.maxResultBytes) {
      throw new OmniError(
        "RESOURCE_EXHAUSTED",
        `the result is ${Math.ceil(ipc.byteLength / 2 ** 20)} MiB, more than the ` +
          `${Math.floor(query.maxResultBytes / 2 ** 20)} MiB an answer may carry`,
      );
    }
    return { ipc, ingest_ms, query_ms: performance.now() - queryStart };
  }

  /**
   * Creates the query's tables on its first frame (checks, on a later one, that the frames
   * before it made and loaded them: `after`), then inserts the rows of `indexes`, whose blobs
   * come in that order (an empty blob: no rows).
   */
  #ingest(
    tables: readonly TableShape[],
    after: readonly number[] | undefined,
    indexes: readonly number[],
    blobs: readonly Uint8Array[],
  ) {
    const database = this.#next;
    this.#database = database;
    try {
      const shapes = JSON.stringify(tables);
      if (after === undefined) {
        if (this.#created !== undefined) {
          throw new OmniError("INTERNAL", "another query's tables are still loaded");
        }
        this.#createTables(tables);
        this.#created = shapes;
      } else if (this.#created !== shapes) {
        throw new OmniError("INTERNAL", "the tables loaded ahead for this query are missing");
      } else if (after.length !== this.#loaded.size || after.some((i) => !this.#loaded.has(i))) {
        throw new OmniError("INTERNAL", "the tables loaded ahead for this query are not all in");
      }
      indexes.forEach((index, at) => {
        const table = tables[index];
        if (!table || this.#loaded.has(index)) {
          throw new OmniError("INTERNAL", `table #${index} cannot be loaded here`);
        }
        this.#loaded.add(index);
        if (blobs[at]?.byteLength) {
          const { schema, name } = table;
          this.#conn.insertArrowFromIPCStream(blobs[at], { schema, name, create: false });
        }
      });
    } catch (err) {
      throw engineError(err, "INTERNAL", "loading tables failed: ", { hide: database });
    }
  }

  /**
   * Detaches the last query's database (its tables and anything else made in it go with it), so
   * the next query sees none of it, and attaches the next one's. Returns false when the instance
   * cannot prove it is clean (its process should then be replaced).
   */
  cleanUp(): boolean {
    const database = this.#database;
    this.#database = undefined;
    this.#created = undefined;
    this.#loaded.clear();
    const full = ++this.#queries % FULL_CHECK_EVERY === 0;
    const next = databaseName();
    try {
      // One call: back to the empty default database, the detach, the check (an error stops
      // the rest), a fresh random seed (what one query set must not steer the next one's
      // `random()`), then the next query's database.
      queryIPC(
        this.#conn,
        [
          "USE memory",
          ...(database ? [`DETACH DATABASE IF EXISTS ${quoteIdent(database)}`] : []),
          full ? FULL_CHECK : DATABASES_CHECK,
          `SELECT setseed(${freshSeed()})`,
          attach(next),
        ].join("; "),
      );
      this.#next = next;
      return true;
    } catch {
      return false;
    }
  }

  /** Creates the tables' schemas and tables in the query's database (the default one). */
  #createTables(tables: readonly TableShape[]): void {
    const statements: string[] = [];
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
        schemas.add(table.schema.toLowerCase());
        statements.push(`CREATE SCHEMA ${schema}`);
      }
      const columns = table.columns.map((c) => `${quoteIdent(c.name)} ${c.duckType}`);
      statements.push(`CREATE TABLE ${schema}.${quoteIdent(table.name)} (${columns.join(", ")})`);
    }
    // One call for all of them: DuckDB-WASM costs about 0.5 ms per call, whatever the statement;
    // the (empty) answer is left as Arrow bytes, never decoded.
    if (statements.length > 0) queryIPC(this.#conn, statements.join("; "));
  }
}

/** A seed for DuckDB's `setseed`, in [-1, 1], from the system's randomness. */
function freshSeed(): string {
  return (crypto.getRandomValues(new Uint32Array(1))[0] / 2 ** 31 - 1).toFixed(9);
}

/** A query's database: an unguessable name, so no other query can name it. */
function databaseName(): string {
  return "q_" + Array.from(
    crypto.getRandomValues(new Uint8Array(16)),
    (b) => b.toString(16).padStart(2, "0"),
  ).join("");
}

/**
 * Attaches an empty in-memory database and makes it the default, so `schema.table` names
 * resolve in it.
 */
function attach(database: string): string {
  return `ATTACH ':memory:' AS ${quoteIdent(database)}; USE ${quoteIdent(database)}`;
}

/**
 * Caps every wasm memory this process creates from now on. DuckDB's `memory_limit` covers its
 * buffers, not every allocation (a 2 GB `repeat()` goes around it); with the heap capped, such an
 * allocation fails at once inside DuckDB ("Out of Memory Error") instead of growing the process
 * for seconds. Emscripten creates the heap from JS with a 4 GiB maximum, which this lowers.
 */
function capWasmMemory(heapLimitMb: number): void {
  const maxPages = Math.max(256, Math.floor(heapLimitMb * 16)); // 64 KiB pages
  const Original = WebAssembly.Memory;
  class CappedMemory extends Original {
    constructor(descriptor: WebAssembly.MemoryDescriptor) {
      const maximum = Math.min(descriptor.maximum ?? maxPages, maxPages);
      super({ ...descriptor, initial: Math.min(descriptor.initial, maximum), maximum });
    }
  }
  (WebAssembly as { Memory: typeof WebAssembly.Memory }).Memory = CappedMemory;
}

/** DuckDB's out-of-memory errors are the caller's limit, not a bad plan. */
function engineError(
  err: unknown,
  code: "INTERNAL" | "PLAN_FAILED",
  prefix: string,
  where: { sql?: string; hide?: string } = {},
): OmniError {
  if (err instanceof OmniError) return err;
  const message = cleanMessage(duckMessage(err), where);
  if (/^Out of Memory Error|malloc of size \d+ failed/i.test(message)) {
    return new OmniError("RESOURCE_EXHAUSTED", message, { cause: err });
  }
  return new OmniError(code, prefix + message, { cause: err });
}
