/**
 * An embedded PGlite hosted on a worker thread of its own, behind the part of PGlite's interface
 * the catalog uses: Drizzle's `query` and `transaction`, and the wire-protocol pass-through the
 * admin socket serves (`execProtocolRaw` under `runExclusive` / `_runExclusiveTransaction`).
 *
 * PGlite's own `PGliteWorker` speaks to its worker over `BroadcastChannel` and splits each query
 * into several round trips (lock, blob hand-off, protocol, clean-up). Under a cached load each
 * `BroadcastChannel` send cost the answering thread 0.2–0.3 ms, a fifth of its busy time. Here one
 * statement is one `postMessage` each way, and PGlite runs whole in the worker.
 *
 * @module
 */
import type { PGliteOptions, Results, Transaction } from "@electric-sql/pglite";

/** What the main thread asks of the worker. */
export type HostRequest =
  & { id: number }
  & (
    | { op: "open"; options: HostOpenOptions }
    | {
      op: "query";
      sql: string;
      params: unknown[];
      rowMode: "array" | "object";
      /** Types returned as Postgres text (Drizzle keeps dates and intervals as strings). */
      rawTypes: number[];
      tx?: number;
    }
    | { op: "exec"; sql: string; tx?: number }
    | { op: "begin" }
    | { op: "end"; tx: number; commit: boolean }
    | { op: "lock"; kind: "query" | "transaction" }
    | { op: "unlock"; lock: number }
    | { op: "raw"; bytes: Uint8Array }
    | { op: "dump" }
    | { op: "close" }
  );

/** PGlite's options that cross to the worker. */
export interface HostOpenOptions {
  dataDir?: string;
  /** A `dumpDataDir()` tarball to start from. */
  loadDataDir?: Uint8Array<ArrayBuffer>;
}

/** The worker's answer to one request. */
export type HostReply =
  | { id: number; ok: true; value?: unknown }
  | { id: number; ok: false; error: SerializedError };

/** An error as it crosses threads: its message and Postgres's fields (`code`, `detail`, …). */
export interface SerializedError {
  name: string;
  message: string;
  fields: Record<string, string | number | undefined>;
}

const identity = (value: unknown) => value;

/** How long a statement, a transaction's start or a lock may wait for the worker by default. */
export const DEFAULT_CALL_TIMEOUT_MS = 15_000;
/** Opening, dumping and closing copy whole data directories: they get longer. */
const BULK_TIMEOUT_MS = 120_000;

/** Options of {@link ThreadedPglite.create} beyond PGlite's own. */
export interface ThreadedPgliteOptions {
  /**
   * How long one call waits for the worker before its caller gets an error, so that a hung
   * embedded catalog holds no request without bound. Defaults to {@link DEFAULT_CALL_TIMEOUT_MS}.
   */
  callTimeoutMs?: number;
}

/**
 * PGlite on a worker thread.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { ThreadedPglite } from "./pglite_thread.ts";
 * const db = await ThreadedPglite.create({});
 * const { rows } = await db.query<{ n: number }>("SELECT 1 + 1 AS n");
 * assert.deepEqual(rows, [{ n: 2 }]);
 * await db.close();
 * ```
 */
export class ThreadedPglite {
  readonly #worker: Worker;
  readonly #pending = new Map<number, Waiter>();
  /** Calls whose caller gave up: a transaction or lock they obtain late is released at once. */
  readonly #abandoned = new Map<number, "begin" | "lock" | "other">();
  readonly #callTimeoutMs: number;
  #nextId = 1;
  #closed = false;
  #failure?: Error;

  private constructor(callTimeoutMs: number) {
    this.#callTimeoutMs = callTimeoutMs;
    this.#worker = new Worker(new URL("./_pglite_worker.ts", import.meta.url), {
      type: "module",
    });
    this.#worker.onmessage = (event: MessageEvent<HostReply>) => {
      const reply = event.data;
      const waiter = this.#pending.get(reply.id);
      if (!waiter) {
        this.#releaseAbandoned(reply);
        return;
      }
      this.#pending.delete(reply.id);
      clearTimeout(waiter.timer);
      if (reply.ok) waiter.resolve(reply.value);
      else waiter.reject(revive(reply.error));
    };
    this.#worker.onerror = (event: ErrorEvent) => {
      event.preventDefault();
      this.#fail(new Error(`the catalog's PGlite worker failed: ${event.message}`));
    };
  }

  /** Starts the worker and opens PGlite in it. */
  static async create(
    options: PGliteOptions & ThreadedPgliteOptions,
  ): Promise<ThreadedPglite> {
    const db = new ThreadedPglite(options.callTimeoutMs ?? DEFAULT_CALL_TIMEOUT_MS);
    const loadDataDir = options.loadDataDir
      ? new Uint8Array(await options.loadDataDir.arrayBuffer())
      : undefined;
    try {
      await db.#call({ op: "open", options: { dataDir: options.dataDir, loadDataDir } });
    } catch (err) {
      db.#worker.terminate();
      throw err;
    }
    return db;
  }

  /** Whether {@link close} was called (or the worker failed). */
  get closed(): boolean {
    return this.#closed;
  }

  /** Resolves once PGlite is open (it is, once {@link create} returned). */
  get waitReady(): Promise<void> {
    return Promise.resolve();
  }

  /**
   * Runs one statement. `options.parsers` may only keep types as text (Drizzle's do): a parser
   * is a function, and functions do not cross threads.
   */
  async query<T>(
    sql: string,
    params: unknown[] = [],
    options: { rowMode?: "array" | "object"; parsers?: Record<number, unknown> } = {},
    tx?: number,
  ): Promise<Results<T>> {
    return await this.#call({
      op: "query",
      sql,
      params,
      rowMode: options.rowMode ?? "object",
      rawTypes: rawTypesOf(options.parsers),
      tx,
    }) as Results<T>;
  }

  /** Runs statements without parameters. */
  async exec(sql: string, tx?: number): Promise<Results[]> {
    return await this.#call({ op: "exec", sql, tx }) as Results[];
  }

  /**
   * Runs `fn` in a transaction: committed when it returns, rolled back when it throws. Other
   * statements wait for it, as on PGlite itself.
   */
  async transaction<T>(fn: (tx: Transaction) => Promise<T>): Promise<T> {
    const id = await this.#call({ op: "begin" }) as number;
    let closed = false;
    const tx = {
      query: <R>(sql: string, params?: unknown[], options?: Record<string, unknown>) =>
        this.query<R>(sql, params, options, id),
      exec: (sql: string) => this.exec(sql, id),
      rollback: async () => {
        await this.exec("ROLLBACK", id);
        closed = true;
      },
      get closed() {
        return closed;
      },
    } as unknown as Transaction;
    let result: T;
    try {
      result = await fn(tx);
    } catch (err) {
      await this.#call({ op: "end", tx: id, commit: false }).catch(() => {});
      throw err;
    }
    await this.#call({ op: "end", tx: id, commit: !closed });
    return result;
  }

  /** Runs `fn` holding PGlite's query lock (as `PGlite.runExclusive`). */
  async runExclusive<T>(fn: () => Promise<T>): Promise<T> {
    return await this.#holding("query", fn);
  }

  /** Runs `fn` holding PGlite's transaction lock: no Drizzle statement runs meanwhile. */
  async _runExclusiveTransaction<T>(fn: () => Promise<T>): Promise<T> {
    return await this.#holding("transaction", fn);
  }

  /** Passes wire-protocol messages to PGlite and returns its whole answer. */
  async execProtocolRaw(bytes: Uint8Array): Promise<Uint8Array> {
    return await this.#call({ op: "raw", bytes }) as Uint8Array;
  }

  /** A tarball of the data directory (`PGlite.dumpDataDir("none")`). */
  async dumpDataDir(): Promise<Blob> {
    return new Blob([await this.#call({ op: "dump" }) as Uint8Array<ArrayBuffer>]);
  }

  /** Closes PGlite and ends the worker. */
  async close(): Promise<void> {
    if (this.#closed) return;
    await this.#call({ op: "close" }).catch(() => {});
    this.#fail(new Error("the catalog's PGlite is closed"));
  }

  async #holding<T>(kind: "query" | "transaction", fn: () => Promise<T>): Promise<T> {
    const lock = await this.#call({ op: "lock", kind }) as number;
    try {
      return await fn();
    } finally {
      await this.#call({ op: "unlock", lock }).catch(() => {});
    }
  }

  #call(request: DistributiveOmit<HostRequest, "id">): Promise<unknown> {
    if (this.#failure) return Promise.reject(this.#failure);
    const id = this.#nextId++;
    const bulk = request.op === "open" || request.op === "dump" || request.op === "close";
    const timeoutMs = bulk ? Math.max(BULK_TIMEOUT_MS, this.#callTimeoutMs) : this.#callTimeoutMs;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#pending.delete(id);
        this.#abandoned.set(
          id,
          request.op === "begin" || request.op === "lock" ? request.op : "other",
        );
        reject(
          new Error(`the catalog's PGlite did not answer within ${timeoutMs} ms (${request.op})`),
        );
      }, timeoutMs);
      this.#pending.set(id, { resolve, reject, timer });
      this.#worker.postMessage({ ...request, id });
    });
  }

  /** A late answer to a call nobody waits for: give back the transaction or lock it holds. */
  #releaseAbandoned(reply: HostReply): void {
    const op = this.#abandoned.get(reply.id);
    if (op === undefined) return;
    this.#abandoned.delete(reply.id);
    if (!reply.ok || typeof reply.value !== "number") return;
    if (op === "begin") {
      this.#call({ op: "end", tx: reply.value, commit: false }).catch(() => {});
    } else if (op === "lock") this.#call({ op: "unlock", lock: reply.value }).catch(() => {});
  }

  #fail(error: Error): void {
    this.#closed = true;
    this.#failure ??= error;
    this.#worker.terminate();
    for (const waiter of this.#pending.values()) {
      clearTimeout(waiter.timer);
      waiter.reject(this.#failure);
    }
    this.#pending.clear();
    this.#abandoned.clear();
  }
}

interface Waiter {
  resolve(value: unknown): void;
  reject(error: Error): void;
  timer: ReturnType<typeof setTimeout>;
}

type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;

/** The types a query's parsers keep as text; any other parser is refused. */
function rawTypesOf(parsers: Record<number, unknown> | undefined): number[] {
  if (!parsers) return [];
  return Object.entries(parsers).map(([oid, parse]) => {
    if (typeof parse !== "function" || parse("0") !== "0") {
      throw new Error(`parser for type ${oid} does not cross threads: only text is kept`);
    }
    return Number(oid);
  });
}

/** The error the worker sent, with Postgres's fields back on it. */
function revive(error: SerializedError): Error {
  const revived = new Error(error.message);
  revived.name = error.name;
  Object.assign(revived, error.fields);
  return revived;
}

/** Serialises an error for {@link HostReply} (the worker's side). */
export function serializeError(err: unknown): SerializedError {
  if (!(err instanceof Error)) return { name: "Error", message: String(err), fields: {} };
  const fields: SerializedError["fields"] = {};
  for (const [key, value] of Object.entries(err)) {
    if (typeof value === "string" || typeof value === "number") fields[key] = value;
  }
  return { name: err.name, message: err.message, fields };
}

/** The identity parsers that keep each of these types as text (the worker's side). */
export function textParsers(types: number[]): Record<number, (value: unknown) => unknown> {
  return Object.fromEntries(types.map((oid) => [oid, identity]));
}
