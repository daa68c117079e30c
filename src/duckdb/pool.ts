/**
 * The engine pool: DuckDB-WASM runs in OS processes of its own (`engine_process.ts`), never on
 * the thread that plans, fetches and answers. An engine that passes its query's deadline or its
 * memory cap is killed (SIGKILL: the only stop that is sure for a thread busy in wasm) and
 * replaced from a warm spare, so a runaway query costs its own caller only.
 *
 * Fair share with borrowing: a query takes any free engine, so one tenant alone uses the whole
 * pool. A freed engine goes to the waiting query whose tenant holds the fewest engines, then whose
 * user holds the fewest of that tenant's, then the longest waiting. Each tenant's share is
 * `max(1, size − 1)` engines and each user's `max(1, share − 1)` of the tenant's: when a query
 * waits while its tenant (or its user) is under its share and another tenant (or another user of
 * the same tenant) holds more than its share, the latest such query that has run for
 * {@link PREEMPT_AFTER_MS} is preempted: its engine is killed (a warm spare takes over at once)
 * and the query waits again, now only within its share, and reruns from the start. So another
 * tenant, or another user of a tenant, always finds an engine within that time. A query borrows
 * beyond both its tenant's and its user's share only while a ready spare remains beyond it, so
 * borrowed engines killed at their deadlines never leave the next query waiting for a start-up.
 *
 * The wait for an engine counts against the query's deadline, and a full queue is refused at
 * once (503 with `Retry-After`), never waited on forever.
 *
 * @module
 */
import { setPriority } from "node:os";
import { tableFromIPC } from "apache-arrow";
import { type ErrorCode, OmniError } from "../errors.ts";
import type { ArrowTableLike } from "./_bindings.ts";
import { type ConvertedRows, streamToRows, tableToRows } from "./_convert.ts";
import { joinArrowStreams, readArrowStream } from "./_arrow_stream.ts";
import { DUCK_TYPES, encodeRows } from "./_ingest.ts";
import type { TableShape } from "./_instance.ts";
import { encodeFrame, type Frame, type FrameReader, spawnFramed } from "../frames.ts";
import { type EngineReply, type EngineRequest, MEMORY_LIMIT_ENV } from "./engine_process.ts";
import {
  DEFAULT_MAX_ROWS,
  type MaterializedTable,
  type QueryEngine,
  type QueryResult,
  type RunInput,
} from "./engine.ts";
import type { ColumnDef, Row } from "../../connectors/sdk/table.ts";

/** How a pool is sized and bounded. */
export interface EnginePoolOptions {
  /** Queries run at once (one engine each). @default the number of CPU cores */
  size?: number;
  /** Engines kept started beyond the busy ones, so a replacement never waits. @default 1 */
  spares?: number;
  /** DuckDB's `memory_limit` in every pooled engine, MiB. @default 1024 */
  memoryLimitMb?: number;
  /**
   * Queries waiting for an engine at most; more are refused with 503 — the newest waiting query
   * of the tenant with the most waiting, when that is another tenant with more than the
   * newcomer's: a tenant flooding the queue is refused, not the others. @default 64
   */
  queueLimit?: number;
  /**
   * How long a fresh pooled engine runs warm-up queries before it serves, ms: V8 tiers DuckDB's
   * hot wasm paths up as they run, and the first queries of a cold engine are 10–30× slower.
   * 0 turns it off (tests: it costs about 2 s of CPU per engine started). @default 2000
   */
  warmUpMs?: number;
  /**
   * While an engine lent to a query waits for the query's rows, it runs a warm-up this often,
   * ms (each 4–6 ms of the engine's core, so about a tenth of a core per waiting query):
   * DuckDB's inserts and query then run at their back-to-back speed when the rows come. 0 turns
   * it off. @default 40
   */
  keepWarmMs?: number;
}

/** Per-query options of {@link EnginePool.run}. */
export interface PoolRunOptions {
  /** Who runs it: fair share counts engines per tenant. */
  tenantId: string;
  /** The user running it, within the tenant: a user's share is counted inside the tenant's. */
  userId?: string;
  /**
   * Stops the query wherever it is: waiting (it leaves the queue) or running (its engine is
   * killed and replaced). The rejection is the signal's reason when it is an `OmniError`,
   * else a `QUERY_TIMEOUT`.
   */
  signal?: AbortSignal;
  /**
   * The query's memory limit, MiB. At most the pool's: enforced on the engine's resident memory.
   * Above it (async jobs): the query gets a one-off engine with that DuckDB `memory_limit`.
   */
  memoryLimitMb?: number;
}

/** A pool's figures at one moment. */
export interface PoolStats {
  size: number;
  busy: number;
  queued: number;
  processes: number;
  /** Started engines waiting for a query (the warm spares among them). */
  idle: number;
  timeouts: number;
  memoryKills: number;
  replacements: number;
  /** Queries whose engine was taken back for a tenant or user under its share. */
  preemptions: number;
  /** Idle engines lent to queries loading the tables that arrived while others are fetched. */
  lent: number;
  /** Warm-ups lent engines ran while their queries' rows were on their way. */
  warmUps: number;
}

const PAGE = 4096;
const statmDecoder = new TextDecoder();
// Mild on purpose: enough for the answering process to win a contended core, not so much that
// engines starve behind unrelated work on a shared machine.
const ENGINE_NICE = 5;
// Whatever `maxRows` keeps, a result this large is refused in the engine, not shipped here.
const MAX_RESULT_BYTES = 256 * 2 ** 20;
/**
 * How long tables that arrived wait for the others before an engine is lent to load them, when
 * none could be lent as the query started: tables from the source cache arrive together, and a
 * load of their own would only add a round trip to the engine.
 */
const LOAD_AFTER_MS = 3;
// The watchdog's look at the busy engines' resident memory.
const WATCH_MS = 25;
/**
 * How long a query holding more than its share runs before a query under its share may take its
 * engine. Killing an engine costs a restart (about 1 s of a core) and the query's work so far, so
 * a short query is left to finish; a long one never stalls another tenant longer than this.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { PREEMPT_AFTER_MS } from "./pool.ts";
 * assert.deepEqual(PREEMPT_AFTER_MS, 25);
 * ```
 */
export const PREEMPT_AFTER_MS = 25;
// An engine whose resident memory stays this far above where it started is retired: the wasm
// heap never gives memory back.
const RETIRE_GROWTH_MB = 256;

/**
 * A pool of engine processes.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { EnginePool } from "./pool.ts";
 * const pool = new EnginePool({ size: 2, spares: 0, warmUpMs: 0 });
 * try {
 *   const result = await pool.run({ tables: [], sql: "SELECT 42 AS x" }, { tenantId: "acme" });
 *   assert.deepEqual(result.rows, [{ x: 42 }]);
 * } finally {
 *   await pool.close();
 * }
 * ```
 */
export class EnginePool implements QueryEngine {
  readonly size: number;
  readonly #spares: number;
  readonly #memoryLimitMb: number;
  readonly #queueLimit: number;
  readonly #warmUpMs: number;
  readonly #keepWarmMs: number;
  readonly #engines = new Set<EngineProcess>();
  /** Engines started for one query that needs more memory than the pool's (async jobs). */
  readonly #oneOffs = new Set<EngineProcess>();
  readonly #idle: EngineProcess[] = [];
  /** Idle engines lent to queries whose other tables are still being fetched, oldest first. */
  readonly #loans: Loan[] = [];
  readonly #engineWaiters: (() => void)[] = [];
  readonly #queue: Waiter[] = [];
  readonly #busyByTenant = new Map<string, number>();
  readonly #busyByUser = new Map<string, number>();
  /** Queries holding a slot (waiting for an engine or running). */
  readonly #holders = new Set<Slot>();
  /** Busy engines under the memory watchdog, with their cap and what stops them. */
  readonly #watched = new Map<EngineProcess, { capBytes: number; over(): void }>();
  #watchTimer?: ReturnType<typeof setInterval>;
  #preemptTimer?: ReturnType<typeof setTimeout>;
  #busy = 0;
  #closed = false;
  #timeouts = 0;
  #memoryKills = 0;
  #replacements = 0;
  #preemptions = 0;
  #warmUps = 0;
  #startFailures = 0;
  #restartAt = 0;
  #restartTimer?: ReturnType<typeof setTimeout>;
  #warmTimer?: ReturnType<typeof setInterval>;

  constructor(options: EnginePoolOptions = {}) {
    this.size = Math.max(1, Math.floor(options.size ?? navigator.hardwareConcurrency ?? 2));
    this.#spares = Math.max(0, Math.floor(options.spares ?? 1));
    this.#memoryLimitMb = options.memoryLimitMb ?? 1024;
    this.#queueLimit = options.queueLimit ?? 64;
    this.#warmUpMs = options.warmUpMs ?? WARMUP_MS;
    this.#keepWarmMs = options.keepWarmMs ?? KEEP_WARM_MS;
  }

  /** The engines one tenant keeps while another tenant waits (it may borrow more when not). */
  get perTenant(): number {
    return Math.max(1, this.size - 1);
  }

  /** The engines of its tenant's share one user keeps while another user of the tenant waits. */
  get perUser(): number {
    return Math.max(1, this.perTenant - 1);
  }

  /**
   * Starts engines ahead of the first query (`count`, default one plus the spares; `"all"`: the
   * whole pool, `size` plus the spares); resolves when they are ready. A server warms them ahead
   * of its queries: an engine started under load costs seconds of CPU (instantiating, then its
   * warm-up) while the queries it is started for wait.
   */
  async warm(count: number | "all" = 1 + this.#spares): Promise<void> {
    const wanted = count === "all" ? this.size + this.#spares : count;
    const starting: Promise<void>[] = [];
    while (this.#engines.size < Math.min(wanted, this.size + this.#spares)) {
      starting.push(this.#spawn().ready.then(() => {}, () => {}));
    }
    await Promise.all(starting);
  }

  /** The OS process ids of the pool's engines now (an operator's `ps`, a test's orphan check). */
  processIds(): number[] {
    return [...this.#engines, ...this.#oneOffs].map((engine) => engine.pid);
  }

  /** The pool's figures now. */
  stats(): PoolStats {
    return {
      size: this.size,
      busy: this.#busy,
      queued: this.#queue.length,
      processes: this.#engines.size,
      idle: this.#idle.length,
      timeouts: this.#timeouts,
      memoryKills: this.#memoryKills,
      replacements: this.#replacements,
      preemptions: this.#preemptions,
      lent: this.#loans.length,
      warmUps: this.#warmUps,
    };
  }

  /**
   * Runs one query on an engine of its own; see {@link PoolRunOptions} for how it stops. Tables
   * whose rows are still promised are encoded as they arrive, and those arriving before the last
   * one are loaded meanwhile into an idle engine lent to the query, when the pool can spare one
   * (see `#lend`); that engine then runs the query.
   */
  async run(input: RunInput, options: PoolRunOptions): Promise<QueryResult> {
    const maxRows = input.maxRows ?? DEFAULT_MAX_ROWS;
    if (!Number.isInteger(maxRows) || maxRows < 0) {
      throw new OmniError("INTERNAL", `maxRows must be a non-negative integer, got ${maxRows}`);
    }
    const signal = options.signal;
    if (signal?.aborted) throw stopReason(signal);
    const limit = options.memoryLimitMb ?? this.#memoryLimitMb;
    const who = {
      tenantId: options.tenantId,
      userKey: `${options.tenantId}\n${options.userId ?? ""}`,
    };
    const shapes = tableShapes(input.tables);
    const { blobs, encode_ms, loan } = await this.#arrive(
      input.sql,
      input.tables,
      shapes,
      who,
      limit,
      signal,
    );
    let claimed = loan ? this.#claim(loan, who) : undefined;
    for (let preempted = false;;) {
      const waitStart = performance.now();
      const slot = claimed ?? await this.#acquireSlot(who, preempted, signal);
      const onLoan = claimed !== undefined;
      claimed = undefined;
      try {
        if (limit > this.#memoryLimitMb) {
          slot.engaged = true;
          const oneOff = this.#spawn(limit, false);
          this.#oneOffs.add(oneOff);
          try {
            return await this.#runOn(
              oneOff,
              queryRequest(input.sql, shapes, blobs),
              maxRows,
              limit,
              signal,
            );
          } finally {
            oneOff.kill();
            await oneOff.exited;
            this.#oneOffs.delete(oneOff);
          }
        }
        if (onLoan && loan) {
          const request = queryRequest(input.sql, shapes, blobs, loan.sent);
          const result = await this.#runLent(loan, request, maxRows, limit, signal, slot);
          if (result) {
            const timing = { encode_ms, wait_ms: 0, loaded_ahead_ms: loan.ingestMs };
            return { ...result, timing: { ...result.timing, ...timing } };
          }
        }
        const engine = await this.#takeEngine(signal);
        slot.engaged = true;
        const wait_ms = performance.now() - waitStart;
        const request = queryRequest(input.sql, shapes, blobs);
        const result = await this.#runOn(engine, request, maxRows, limit, signal, slot);
        return { ...result, timing: { ...result.timing, encode_ms, wait_ms } };
      } catch (err) {
        if (err !== PREEMPTED) throw err;
        preempted = true;
      } finally {
        this.#releaseSlot(slot);
      }
    }
  }

  /**
   * Waits for every table's rows, encoding each as it arrives. While some are still promised,
   * an engine is lent to the query if the pool can spare one: at once, to create the tables and
   * check the SQL before any rows are in, or else once a table has waited for the others
   * ({@link LOAD_AFTER_MS}). The tables that arrive before the last one are loaded into it.
   */
  async #arrive(
    sql: string,
    tables: readonly MaterializedTable[],
    shapes: TableShape[],
    who: { tenantId: string; userKey: string },
    limitMb: number,
    signal: AbortSignal | undefined,
  ): Promise<{ blobs: Uint8Array[]; encode_ms: number; loan?: Loan }> {
    const blobs: Uint8Array[] = new Array(tables.length);
    let encode_ms = 0;
    let loan: Loan | undefined;
    let waiting = tables.length;
    let failed = false;
    // A one-off engine (more memory than the pool's) cannot be lent ahead.
    const lendable = limitMb <= this.#memoryLimitMb && tables.some((t) => !Array.isArray(t.rows));
    // Arrived tables not loaded yet, and the timer that loads them (lending an engine first).
    let arrived: number[] = [];
    let loadTimer: ReturnType<typeof setTimeout> | undefined;
    const loadArrived = () => {
      loadTimer = undefined;
      if (failed || waiting === 0) return;
      const first = !loan;
      loan ??= this.#lend(who);
      if (!loan) return;
      this.#load(loan, shapes, arrived, blobs, limitMb, first ? sql : undefined);
      arrived = [];
    };
    // Lent before any rows are in, the engine creates the tables and puts the SQL to its gate
    // while the sources are fetched, off the answer's path.
    if (lendable) loadArrived();
    const arrivals = tables.map(async (table, index) => {
      const pieces = table.pieces && new EncodedPieces(table, () => failed);
      const rows = await table.rows;
      if (failed) return;
      const started = performance.now();
      blobs[index] = pieces?.of(rows) ?? encodeTable(table, rows);
      encode_ms += performance.now() - started + (pieces?.ms ?? 0);
      if (--waiting === 0 || !lendable) return;
      arrived.push(index);
      // An engine lent from the start is idle meanwhile: the table goes to it at once. Otherwise
      // tables that come together (from the source cache) are not worth lending one for.
      if (loan) return loadArrived();
      loadTimer ??= setTimeout(loadArrived, LOAD_AFTER_MS);
    });
    try {
      await untilAborted(Promise.all(arrivals), signal);
    } catch (err) {
      failed = true;
      // A load running is let finish (an ingest of rows already here, under the memory
      // watchdog): killing the engine would cost a start-up of seconds.
      if (loan) this.#giveBack(loan);
      throw err;
    } finally {
      clearTimeout(loadTimer);
    }
    return { blobs, encode_ms, ...(loan ? { loan } : {}) };
  }

  /**
   * Lends the most recently idle engine to a query whose other tables are still fetched: only
   * while no query waits, a slot stays free for it and a spare stays idle beyond it, within its
   * tenant's share. The pool takes it back (`#giveBack`) as soon as it needs the engine.
   */
  #lend(who: { tenantId: string; userKey: string }): Loan | undefined {
    if (this.#closed || this.#queue.length > 0) return undefined;
    if (this.#busy + this.#loans.length >= this.size || this.#idle.length <= this.#spares) {
      return undefined;
    }
    const tenantLent = this.#loans.filter((l) => l.tenantId === who.tenantId).length;
    if ((this.#busyByTenant.get(who.tenantId) ?? 0) + tenantLent >= this.perTenant) {
      return undefined;
    }
    const loan: Loan = {
      engine: this.#idle.pop()!,
      tenantId: who.tenantId,
      done: Promise.resolve(),
      frames: 0,
      sent: [],
      loading: 0,
      ingestMs: 0,
      failed: false,
      claimed: false,
      returned: false,
      warming: false,
    };
    this.#loans.push(loan);
    this.#keepLentWarm();
    return loan;
  }

  /**
   * While lent engines wait for their queries' rows, each runs a small ingest and query every
   * `keepWarmMs`: after a few hundred milliseconds of other work on its core, DuckDB's
   * inserts run about twice as slowly, and the rows' inserts and the query are what is left of
   * the engine step once the last source is in. An engine stops as soon as its query takes it or
   * the pool takes it back (it is no longer lent); a warm-up never waits for a load, nor a load
   * for more than one warm-up. One timer for the pool, running while any engine is lent.
   *
   * Rows that arrive during a warm-up wait for its end: at a random phase, 5² / 2·40 ≈ 0.3 ms on
   * average for a 5 ms warm-up every 40 ms. Intervals that vary measured about 1 ms worse on the
   * bench, whose apps answer at a phase that suits the fixed timer (§18 of
   * `docs/bench/profile-engine.md`).
   */
  #keepLentWarm(): void {
    if (this.#keepWarmMs <= 0 || this.#warmTimer !== undefined) return;
    this.#warmTimer = setInterval(() => {
      if (this.#loans.length === 0) {
        clearInterval(this.#warmTimer);
        this.#warmTimer = undefined;
        return;
      }
      for (const loan of this.#loans) {
        if (loan.loading > 0 || loan.warming || loan.engine.dead) continue;
        loan.warming = true;
        loan.engine.warm().then(
          (reply) => void (reply.header.type === "warmed" && this.#warmUps++),
          () => {}, // the engine exited: the loan's load or query finds out
        ).finally(() => loan.warming = false);
      }
    }, this.#keepWarmMs);
  }

  /**
   * Loads tables into a lent engine: the frame is written at once, behind the loan's earlier
   * frames, whose answers it does not wait for (it names what they loaded: `after`). A failure
   * gives the engine back, unless its query has claimed it (the query then runs afresh).
   */
  #load(
    loan: Loan,
    shapes: TableShape[],
    indexes: number[],
    blobs: readonly Uint8Array[],
    limitMb: number,
    sql?: string,
  ): void {
    if (loan.returned || loan.claimed) return;
    const request: EngineRequest = {
      type: "load",
      tables: shapes,
      load: indexes,
      ...(loan.frames++ > 0 ? { after: [...loan.sent] } : {}),
      ...(sql === undefined ? {} : { sql }),
    };
    for (const i of indexes) loan.sent.push(i);
    const engine = loan.engine;
    if (loan.loading++ === 0) {
      this.#watch(engine, engine.baselineRss + limitMb * 1024 * 1024 * 1.25, () => engine.kill());
    }
    const reply = engine.load(encodeFrame(request, indexes.map((i) => blobs[i])));
    reply.catch(() => {}); // read in turn below
    loan.done = loan.done.then(async () => {
      let ok = false;
      try {
        const answer = await reply;
        if (answer.header.type === "loaded") {
          loan.ingestMs += answer.header.ingest_ms;
          ok = true;
        }
      } catch {
        // the engine exited: the pool replaces it
      }
      // A query that claimed the engine watches it from then on.
      if (--loan.loading === 0 && !loan.claimed) this.#unwatch(engine);
      if (ok) return;
      loan.failed = true;
      // A failed load's engine has cleaned up already (it says `idle` after the error).
      if (!loan.claimed) this.#giveBack(loan, { cleanedUp: true });
    });
  }

  /**
   * Takes the lent engine's slot for its query, if the query may take one now; otherwise the
   * engine goes back to the pool and the query waits like any other.
   */
  #claim(loan: Loan, who: { tenantId: string; userKey: string }): Slot | undefined {
    const at = this.#loans.indexOf(loan);
    if (at < 0) return undefined;
    if (!this.#mayTake(who, false) || this.#queue.some((w) => this.#eligible(w))) {
      this.#giveBack(loan);
      return undefined;
    }
    this.#loans.splice(at, 1);
    loan.claimed = true;
    const slot = this.#take(who);
    slot.engaged = true;
    return slot;
  }

  /**
   * Runs a query on the engine lent to it, its frame written behind the loads still running
   * rather than after their answers. Undefined when one of those loads failed: the engine refused
   * the query too (its `after` names tables no longer there) and is back to idle, and the query
   * is to run afresh on another engine, every table in its frame.
   */
  async #runLent(
    loan: Loan,
    request: EncodedRequest,
    maxRows: number,
    limitMb: number,
    signal: AbortSignal | undefined,
    slot: Slot,
  ): Promise<QueryResult | undefined> {
    try {
      const result = await this.#runOn(loan.engine, request, maxRows, limitMb, signal, slot);
      await loan.done; // answered before the query: the loads' time is in
      return result;
    } catch (err) {
      if (err === PREEMPTED || signal?.aborted) throw err;
      await loan.done;
      if (!loan.failed) throw err;
      return undefined;
    }
  }

  /**
   * Returns a lent engine to the pool once its loads are answered: its tables are dropped, unless
   * a failed load `cleanedUp` already.
   */
  #giveBack(loan: Loan, how: { cleanedUp?: boolean } = {}): void {
    if (loan.returned) return;
    loan.returned = true;
    const at = this.#loans.indexOf(loan);
    if (at >= 0) this.#loans.splice(at, 1);
    loan.done = loan.done.then(async () => {
      const engine = loan.engine;
      if (engine.dead || this.#closed) return;
      if (!how.cleanedUp) await engine.drop().catch(() => {});
      this.#afterQuery(engine);
    });
  }

  /** Kills every engine and refuses what waits; resolves when every process has exited. */
  async close(): Promise<void> {
    this.#closed = true;
    clearTimeout(this.#restartTimer);
    clearTimeout(this.#preemptTimer);
    clearInterval(this.#watchTimer);
    this.#watchTimer = undefined;
    this.#watched.clear();
    for (const waiter of this.#queue.splice(0)) {
      waiter.reject(new OmniError("REGION_UNAVAILABLE", "the zone is shutting down"));
    }
    const exits = [...this.#engines, ...this.#oneOffs].map((engine) => {
      engine.kill();
      return engine.exited;
    });
    this.#engines.clear();
    this.#idle.length = 0;
    this.#loans.length = 0;
    clearInterval(this.#warmTimer);
    this.#warmTimer = undefined;
    for (const wake of this.#engineWaiters.splice(0)) wake();
    await Promise.all(exits);
  }

  async #runOn(
    engine: EngineProcess,
    request: EncodedRequest,
    maxRows: number,
    limitMb: number,
    signal: AbortSignal | undefined,
    slot?: Slot,
  ): Promise<QueryResult> {
    await engine.ready;
    const capBytes = engine.baselineRss + limitMb * 1024 * 1024 * 1.25;
    let stoppedBy: OmniError | typeof PREEMPTED | undefined;
    const stop = (
      reason: OmniError | typeof PREEMPTED,
      cause: "timeout" | "memory" | "preempt",
    ) => {
      if (stoppedBy) return;
      stoppedBy = reason;
      if (cause === "timeout") this.#timeouts++;
      else if (cause === "memory") this.#memoryKills++;
      else this.#preemptions++;
      engine.kill();
    };
    const onAbort = () => stop(stopReason(signal!), "timeout");
    signal?.addEventListener("abort", onAbort, { once: true });
    this.#watch(engine, capBytes, () => stop(memoryExhausted(limitMb), "memory"));
    if (slot) {
      slot.startedAt = performance.now();
      slot.preempt = () => stop(PREEMPTED, "preempt");
      this.#schedulePreemption();
    }
    try {
      const sent = performance.now();
      const reply = await engine.query(request);
      const received = performance.now();
      if (stoppedBy) throw stoppedBy;
      if (reply.header.type === "error") {
        const { code, message, details } = reply.header;
        if (code === "RESOURCE_EXHAUSTED") throw memoryExhausted(limitMb, message);
        throw new OmniError(code as ErrorCode, message, { details });
      }
      if (reply.header.type !== "result") throw new Error(`unexpected ${reply.header.type}`);
      const converted = resultRows(reply.blobs[0], maxRows);
      return {
        ...converted,
        timing: {
          ingest_ms: reply.header.ingest_ms,
          query_ms: reply.header.query_ms,
          round_trip_ms: received - sent,
          decode_ms: performance.now() - received,
        },
      };
    } catch (err) {
      if (stoppedBy) throw stoppedBy;
      if (err instanceof OmniError) throw err;
      throw new OmniError("INTERNAL", "the query engine stopped while running this query", {
        cause: err,
      });
    } finally {
      if (slot) slot.preempt = undefined;
      this.#unwatch(engine);
      signal?.removeEventListener("abort", onAbort);
      if (engine.pooled) this.#afterQuery(engine);
    }
  }

  /** An engine back from a query: idle again once it says so, or replaced. */
  #afterQuery(engine: EngineProcess): void {
    if (engine.dead || this.#closed) return;
    engine.idle.then((clean) => {
      if (this.#closed || engine.dead) return;
      const grownMb = (engine.rss() - engine.baselineRss) / (1024 * 1024);
      if (!clean || grownMb > RETIRE_GROWTH_MB) {
        engine.kill();
        return;
      }
      this.#idle.push(engine);
      this.#engineWaiters.shift()?.();
      this.#dispatch(); // a ready spare may let a waiting query borrow
    });
  }

  async #takeEngine(signal: AbortSignal | undefined): Promise<EngineProcess> {
    for (;;) {
      if (this.#closed) throw new OmniError("REGION_UNAVAILABLE", "the zone is shutting down");
      // The engine idle the shortest time: one idle for seconds runs its next query about twice
      // as slowly (cold caches), so a light load keeps reusing the same engine.
      const engine = this.#idle.pop();
      // A lent engine comes back (in a millisecond or two) when the idle ones run short.
      if (this.#idle.length < this.#spares || !engine) {
        const loan = this.#loans.at(-1);
        if (loan) this.#giveBack(loan);
      }
      this.#topUp();
      if (engine) return engine;
      await new Promise<void>((resolve, reject) => {
        const wake = () => {
          signal?.removeEventListener("abort", onAbort);
          resolve();
        };
        const onAbort = waitIn(this.#engineWaiters, wake, signal, reject);
      });
    }
  }

  /**
   * Keeps `spares` engines started beyond the busy ones and those waiting queries could use,
   * within `size + spares` in all.
   */
  #topUp(): void {
    if (this.#closed) return;
    if (this.#restartAt > Date.now()) return;
    const waiting = Math.min(this.#queue.length, this.size - this.#busy);
    const wanted = Math.min(this.size + this.#spares, this.#busy + waiting + this.#spares);
    while (this.#engines.size < wanted) this.#spawn();
  }

  #spawn(memoryLimitMb = this.#memoryLimitMb, pooled = true): EngineProcess {
    const engine = new EngineProcess(memoryLimitMb, pooled ? this.#warmUpMs : undefined);
    if (!pooled) return engine;
    this.#engines.add(engine);
    engine.ready.then(() => {
      if (this.#closed || engine.dead) return;
      this.#idle.push(engine);
      this.#engineWaiters.shift()?.();
      this.#dispatch(); // a ready spare may let a waiting query borrow
    }, () => {});
    engine.exited.then(() => {
      const known = this.#engines.delete(engine);
      const at = this.#idle.indexOf(engine);
      if (at >= 0) this.#idle.splice(at, 1);
      if (!known || this.#closed) return;
      this.#replacements++;
      // An engine that died before it was ready (a broken install): back off, never spin.
      this.#startFailures = engine.started ? 0 : this.#startFailures + 1;
      const delay = Math.min(5_000, 100 * 2 ** this.#startFailures) * Number(!engine.started);
      this.#restartAt = Date.now() + delay;
      if (delay === 0) this.#topUp();
      else this.#restartTimer = setTimeout(() => this.#topUp(), delay);
    });
    return engine;
  }

  /**
   * Waits for a slot: at once when one is free and no query waits, else in the queue. A query
   * preempted before (`withinShare`) takes a slot only while its tenant and user are under share.
   */
  #acquireSlot(
    who: { tenantId: string; userKey: string },
    withinShare: boolean,
    signal: AbortSignal | undefined,
  ): Promise<Slot> {
    if (this.#closed) {
      return Promise.reject(new OmniError("REGION_UNAVAILABLE", "the zone is shutting down"));
    }
    if (this.#mayTake(who, withinShare) && !this.#queue.some((w) => this.#eligible(w))) {
      return Promise.resolve(this.#take(who));
    }
    if (this.#queue.length >= this.#queueLimit) {
      const heaviest = this.#heaviestWaiter(who.tenantId);
      if (!heaviest) return Promise.reject(this.#queueFull());
      this.#queue.splice(this.#queue.indexOf(heaviest), 1);
      heaviest.refuse(this.#queueFull());
    }
    return new Promise<Slot>((resolve, reject) => {
      const waiter: Waiter = {
        ...who,
        withinShare,
        resolve: (slot) => {
          signal?.removeEventListener("abort", onAbort);
          resolve(slot);
        },
        refuse: (err) => {
          signal?.removeEventListener("abort", onAbort);
          reject(err);
        },
        reject,
      };
      const onAbort = waitIn(this.#queue, waiter, signal, reject);
      this.#topUp(); // a query that may borrow waits for a ready spare beyond the one it takes
      this.#schedulePreemption();
    });
  }

  #queueFull(): OmniError {
    return new OmniError(
      "REGION_UNAVAILABLE",
      `every query engine of this zone is busy and ${this.#queueLimit} queries are waiting; ` +
        "retry shortly",
      { retryAfterMs: 1000, details: { reason: "engine_queue_full" } },
    );
  }

  /**
   * The newest waiter of the tenant with the most waiting, if that tenant waits with more
   * queries than `tenantId` would once its newcomer is in: the one a full queue refuses instead.
   */
  #heaviestWaiter(tenantId: string): Waiter | undefined {
    const waiting = new Map<string, number>();
    for (const w of this.#queue) waiting.set(w.tenantId, (waiting.get(w.tenantId) ?? 0) + 1);
    let heaviest: string | undefined;
    for (const [tenant, count] of waiting) {
      if (!heaviest || count > waiting.get(heaviest)!) heaviest = tenant;
    }
    if (!heaviest || waiting.get(heaviest)! <= (waiting.get(tenantId) ?? 0) + 1) return undefined;
    return this.#queue.findLast((w) => w.tenantId === heaviest);
  }

  #underShare(who: { tenantId: string; userKey: string }): boolean {
    return (this.#busyByTenant.get(who.tenantId) ?? 0) < this.perTenant &&
      (this.#busyByUser.get(who.userKey) ?? 0) < this.perUser;
  }

  #eligible(waiter: Waiter): boolean {
    return this.#mayTake(waiter, waiter.withinShare);
  }

  /**
   * Whether a query may take a slot now. Beyond its tenant's share and its user's (borrowing) only
   * while a ready engine stays spare after every granted slot has its engine: a borrowed engine
   * killed at its deadline must never leave the next query waiting for an engine to start.
   */
  #mayTake(who: { tenantId: string; userKey: string }, withinShare: boolean): boolean {
    if (this.#busy >= this.size) return false;
    if (withinShare && !this.#underShare(who)) return false;
    if (
      (this.#busyByTenant.get(who.tenantId) ?? 0) < this.perTenant ||
      (this.#busyByUser.get(who.userKey) ?? 0) < this.perUser
    ) return true;
    let pending = 0;
    for (const h of this.#holders) if (!h.engaged) pending++;
    return this.#idle.length - pending >= 1 + this.#spares;
  }

  #take(who: { tenantId: string; userKey: string }): Slot {
    this.#busy++;
    this.#busyByTenant.set(who.tenantId, (this.#busyByTenant.get(who.tenantId) ?? 0) + 1);
    this.#busyByUser.set(who.userKey, (this.#busyByUser.get(who.userKey) ?? 0) + 1);
    const slot: Slot = { ...who, startedAt: performance.now() };
    this.#holders.add(slot);
    return slot;
  }

  #releaseSlot(slot: Slot): void {
    if (!this.#holders.delete(slot)) return;
    this.#busy--;
    for (
      const [map, key] of [[this.#busyByTenant, slot.tenantId], [
        this.#busyByUser,
        slot.userKey,
      ]] as const
    ) {
      const held = (map.get(key) ?? 1) - 1;
      if (held > 0) map.set(key, held);
      else map.delete(key);
    }
    this.#dispatch();
  }

  /**
   * Hands free slots to waiters: the one whose tenant holds fewest, then whose user holds fewest,
   * then the longest waiting.
   */
  #dispatch(): void {
    for (;;) {
      let best: Waiter | undefined;
      let bestRank: [number, number] = [Infinity, Infinity];
      for (const waiter of this.#queue) {
        if (!this.#eligible(waiter)) continue;
        const rank: [number, number] = [
          this.#busyByTenant.get(waiter.tenantId) ?? 0,
          this.#busyByUser.get(waiter.userKey) ?? 0,
        ];
        if (rank[0] < bestRank[0] || (rank[0] === bestRank[0] && rank[1] < bestRank[1])) {
          best = waiter;
          bestRank = rank;
        }
      }
      if (!best) break;
      this.#queue.splice(this.#queue.indexOf(best), 1);
      best.resolve(this.#take(best));
    }
    this.#schedulePreemption();
  }

  /**
   * Preempts, for the first waiter under its share, the latest query that holds more than its
   * own share against that waiter (another tenant over its share, or another user of the same
   * tenant over theirs) once it has run {@link PREEMPT_AFTER_MS}; re-checks when the next one
   * would be due. One preemption at a time: the freed slot then goes to the neediest waiter.
   */
  #schedulePreemption(): void {
    clearTimeout(this.#preemptTimer);
    this.#preemptTimer = undefined;
    if (this.#closed || this.#queue.length === 0) return;
    if ([...this.#holders].some((h) => h.preempting)) return;
    const tenantHeld = (t: string) => this.#busyByTenant.get(t) ?? 0;
    const userHeld = (u: string) => this.#busyByUser.get(u) ?? 0;
    for (const waiter of this.#queue) {
      let victim: Slot | undefined;
      for (const h of this.#holders) {
        if (!h.preempt) continue;
        const overTenant = h.tenantId !== waiter.tenantId &&
          tenantHeld(h.tenantId) > this.perTenant && tenantHeld(waiter.tenantId) < this.perTenant;
        const overUser = h.tenantId === waiter.tenantId && h.userKey !== waiter.userKey &&
          userHeld(h.userKey) > this.perUser && userHeld(waiter.userKey) < this.perUser;
        if ((overTenant || overUser) && (!victim || h.startedAt > victim.startedAt)) victim = h;
      }
      if (!victim) continue;
      const due = victim.startedAt + PREEMPT_AFTER_MS - performance.now();
      if (due <= 0) {
        victim.preempting = true;
        victim.preempt!();
      } else {
        this.#preemptTimer = setTimeout(() => this.#schedulePreemption(), Math.ceil(due));
      }
      return;
    }
  }

  /** Puts a busy engine under the pool's one memory watchdog. */
  #watch(engine: EngineProcess, capBytes: number, over: () => void): void {
    this.#watched.set(engine, { capBytes, over });
    this.#watchTimer ??= setInterval(() => this.#watchTick(), WATCH_MS);
  }

  #unwatch(engine: EngineProcess): void {
    this.#watched.delete(engine);
    if (this.#watched.size === 0) {
      clearInterval(this.#watchTimer);
      this.#watchTimer = undefined;
    }
  }

  /** Stops the busy engines above their memory cap. */
  #watchTick(): void {
    for (const [engine, watch] of this.#watched) {
      if (engine.rss() > watch.capBytes) watch.over();
    }
  }
}

/** A slot held by a query: who holds it, and how to take it back while it runs. */
interface Slot {
  tenantId: string;
  userKey: string;
  startedAt: number;
  /** Set once the query has its engine (it no longer counts against the ready spares). */
  engaged?: boolean;
  /** Set while the query runs on a pooled engine. */
  preempt?: () => void;
  preempting?: boolean;
}

/** An idle engine lent to a query whose other tables are still being fetched. */
interface Loan {
  readonly engine: EngineProcess;
  readonly tenantId: string;
  /** Settles once the loads written so far are answered (and the engine's return, once given back). */
  done: Promise<void>;
  /** Frames written to the engine for the query. */
  frames: number;
  /** Indexes of the tables whose rows those frames carried, in order. */
  readonly sent: number[];
  /** Loads written and not answered yet. */
  loading: number;
  /** The engine's time loading them, ms. */
  ingestMs: number;
  /** A load failed: the engine cleaned up, and refuses the frames written behind it. */
  failed: boolean;
  /** Taken by its query, whose frame follows the loads. */
  claimed: boolean;
  /** Back in the pool (taken back, or a load failed): its query sends every table. */
  returned: boolean;
  /** A warm-up written and not answered yet (`#keepLentWarm`). */
  warming: boolean;
}

/** What a preempted run throws inside the pool: the query waits again and reruns. */
const PREEMPTED = Symbol("preempted");

interface Waiter {
  tenantId: string;
  userKey: string;
  /** Preempted before: waits until its tenant and user are under their shares. */
  withinShare: boolean;
  resolve(slot: Slot): void;
  /** Refuses it, out of the queue already (a full queue made room for another tenant). */
  refuse(err: unknown): void;
  reject(err: unknown): void;
}

interface EncodedRequest {
  bytes: Uint8Array;
}

/** The tables' SQL names and DuckDB column types, as the engine creates them. */
function tableShapes(tables: readonly MaterializedTable[]): TableShape[] {
  return tables.map((t) => ({
    schema: t.schema,
    name: t.name,
    columns: t.columns.map((c) => ({ name: c.name, duckType: DUCK_TYPES[c.type] })),
  }));
}

/** A table's rows as one Arrow IPC stream (empty: no rows to insert). */
function encodeTable(table: MaterializedTable, rows: readonly Row[]): Uint8Array {
  return rows.length === 0 || table.columns.length === 0
    ? new Uint8Array(0)
    : encodeRows(table.columns, rows);
}

/**
 * A table's pieces encoded as they arrive (`MaterializedTable.pieces`), so that only the last is
 * left to encode once the table is in.
 */
class EncodedPieces {
  readonly #rows: Row[] = [];
  readonly #blobs: Uint8Array[] = [];
  /** Time spent encoding, ms. */
  ms = 0;

  constructor(table: MaterializedTable, stopped: () => boolean) {
    table.pieces?.listen((piece) => {
      if (stopped()) return;
      const started = performance.now();
      for (const row of piece) this.#rows.push(row);
      const blob = encodeTable(table, piece);
      if (blob.length > 0) this.#blobs.push(blob);
      this.ms += performance.now() - started;
    });
  }

  /** The table's blob from its pieces, when `rows` are exactly their rows; else undefined. */
  of(rows: readonly Row[]): Uint8Array | undefined {
    if (rows.length !== this.#rows.length) return undefined;
    for (let i = 0; i < rows.length; i++) if (rows[i] !== this.#rows[i]) return undefined;
    return this.#blobs.length === 0 ? new Uint8Array(0) : joinArrowStreams(this.#blobs);
  }
}

/**
 * The engine's result as rows: read straight from its buffers when every column is of a type
 * `readArrowStream` reads, else through Arrow JS.
 */
function resultRows(ipc: Uint8Array, maxRows: number): ConvertedRows {
  const stream = readArrowStream(ipc);
  const direct = stream && streamToRows(stream, maxRows);
  return direct ?? tableToRows(tableFromIPC(ipc) as unknown as ArrowTableLike, maxRows);
}

/** The query's frame: every table's shape, and the rows of those not loaded ahead (`after`). */
function queryRequest(
  sql: string,
  tables: TableShape[],
  blobs: readonly Uint8Array[],
  after?: readonly number[],
): EncodedRequest {
  const request: EngineRequest = {
    type: "query",
    sql,
    maxResultBytes: MAX_RESULT_BYTES,
    tables,
    ...(after ? { after: [...after] } : {}),
  };
  const ahead = new Set(after);
  return { bytes: encodeFrame(request, blobs.map((b, i) => ahead.has(i) ? new Uint8Array(0) : b)) };
}

function encodeRequest(input: { sql: string; tables: (MaterializedTable & { rows: Row[] })[] }) {
  return queryRequest(
    input.sql,
    tableShapes(input.tables),
    input.tables.map((t) => encodeTable(t, t.rows)),
  );
}

/** `promise`, or the signal's stop reason as soon as it aborts. */
function untilAborted<T>(promise: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (!signal) return promise;
  if (signal.aborted) return Promise.reject(stopReason(signal));
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(stopReason(signal));
    signal.addEventListener("abort", onAbort, { once: true });
    promise.then(resolve, reject).finally(() => signal.removeEventListener("abort", onAbort));
  });
}

/** The answer to a query above its memory limit: which limit, and what to do instead. */
function memoryExhausted(limitMb: number, engineSaid?: string): OmniError {
  return new OmniError(
    "RESOURCE_EXHAUSTED",
    `the query needed more than its memory limit of ${limitMb} MiB and was stopped` +
      (engineSaid ? ` (${engineSaid})` : "") + "; narrow it (filters, fewer columns, LIMIT) or " +
      "run it as a job with metadata.async = true, which may use more memory",
    { details: { memory_limit_mb: limitMb, async_available: true } },
  );
}

function stopReason(signal: AbortSignal): OmniError {
  const reason: unknown = signal.reason;
  if (reason instanceof OmniError) return reason;
  return new OmniError("QUERY_TIMEOUT", "the query passed its deadline and was stopped");
}

// Rounds of warm-up queries, capped in time for a busy machine (a slow machine only warms less).
// With the lowered tiering budget (`TIERING_BUDGET`) about a hundred rounds leave the hot wasm
// functions optimised (measured: a seed join's step 15–19 ms after 30 rounds at V8's default
// budget, 7–9 ms after 100 at this one).
const WARMUP_ROUNDS = 120;
const WARMUP_MS = 6_000;
/**
 * V8's budget before a wasm function is optimised (its default is 1,800,000): DuckDB's hot
 * functions are optimised during the warm-up instead of over an engine's first few hundred
 * queries, which ran 1.5–2× slower meanwhile.
 */
const TIERING_BUDGET = 300_000;
let warmUpCache: EncodedRequest[] | undefined;
let warmUpTurns: Promise<unknown> = Promise.resolve();

/**
 * Runs engine warm-ups one at a time in this process: engines started together (a server's pools,
 * a replacement beside a spare) would otherwise share the cores and each reach its time cap after
 * a fraction of its rounds (measured: 15–21 of 120 rounds for six engines started at once).
 */
function inTurn(warmUp: () => Promise<void>): Promise<void> {
  const turn = warmUpTurns.then(warmUp);
  warmUpTurns = turn.catch(() => {});
  return turn;
}

/**
 * Queries over two tables of every column type, covering the operators federated queries use
 * most: hash joins on text and integer keys, filters, projections of every type, grouping,
 * top-N, distinct, outer joins, windows. Each is sent as its own request, so the Arrow ingest of
 * every type is warmed too.
 */
function warmUpRequests(): EncodedRequest[] {
  if (warmUpCache) return warmUpCache;
  const columns: ColumnDef[] =
    (["integer", "text", "double", "boolean", "timestamp", "json"] as const)
      .map((type) => ({ name: type, type, description: "" }));
  const rows = (n: number) =>
    Array.from({ length: n }, (_, i) => ({
      integer: i % 700,
      text: `key-${i % 300}`,
      double: i / 7,
      boolean: i % 3 === 0,
      timestamp: new Date(Date.UTC(2024, 0, 1) + i * 3_600_000).toISOString(),
      json: { labels: [`l${i % 5}`] },
    }));
  const tables = [
    { schema: "warm", name: "a", columns, rows: rows(1000) },
    { schema: "warm", name: "b", columns, rows: rows(1000) },
  ];
  warmUpCache = [
    `SELECT a.text, count(*) AS n, sum(b.double) AS s, max(a.timestamp) AS last,
      min(b.json) AS j FROM warm.a a JOIN warm.b b ON a.text = b.text
      WHERE a.boolean AND b.integer <> 3 GROUP BY a.text ORDER BY n DESC, a.text LIMIT 100`,
    `SELECT a.integer, a.text, b.text AS other, b.timestamp FROM warm.a a
      JOIN warm.b b ON a.text = b.text WHERE b.text <> 'key-7' AND a.boolean`,
    `SELECT b.text, b.double, (a.integer + b.integer) AS total FROM warm.b b
      JOIN warm.a a ON b.integer = a.integer ORDER BY total DESC LIMIT 10`,
    `SELECT * FROM warm.a WHERE text = 'key-1' OR timestamp > TIMESTAMP '2024-01-20'`,
    `SELECT DISTINCT a.text, lower(a.text) LIKE '%1%' AS one, CASE WHEN b.integer IS NULL
      THEN 0 ELSE row_number() OVER (PARTITION BY a.text ORDER BY a.double) END AS rank
      FROM warm.a a LEFT JOIN warm.b b ON a.integer = b.integer + 1000`,
  ].map((sql) => encodeRequest({ tables, sql }));
  return warmUpCache;
}

const ENTRY = new URL("./engine_process.ts", import.meta.url);
const DROP_FRAME = encodeFrame<EngineRequest>({ type: "drop" });

/**
 * How often a lent engine waiting for its query's rows runs a warm-up. Measured in one
 * DuckDB-WASM instance over the seed joins' tables after 200 ms of waiting: inserts at their
 * back-to-back speed with a warm-up every 25 or 50 ms, twice as slow without (§17 of
 * `docs/bench/profile-engine.md`). A warm-up costs the waiting engine 4–6 ms (§18).
 */
const KEEP_WARM_MS = 40;

/**
 * A lent engine's warm-up: a few rows of the types apps' tables use most, inserted as Arrow IPC
 * (the path the query's rows take), joined, grouped and sorted, in the `main` schema of the
 * query's database, which no query names, and dropped at once.
 */
const WARM_FRAME = (() => {
  const columns: ColumnDef[] = (["integer", "text", "double", "boolean", "timestamp"] as const)
    .map((type) => ({ name: type, type, description: "" }));
  const rows = Array.from({ length: 16 }, (_, i) => ({
    integer: i % 5,
    text: `key-${i % 3}`,
    double: i / 4,
    boolean: i % 2 === 0,
    timestamp: new Date(Date.UTC(2024, 0, 1) + i * 3_600_000).toISOString(),
  }));
  const table = { schema: "main", name: "omnisql_warm", columns, rows };
  const request: EngineRequest = {
    type: "warm",
    table: tableShapes([table])[0],
    sql: `SELECT a.text, count(*) AS n, sum(b.double) AS s, max(a.timestamp) AS last
      FROM main.omnisql_warm a JOIN main.omnisql_warm b ON a.integer = b.integer
      WHERE a.boolean GROUP BY a.text ORDER BY n DESC, a.text`,
  };
  return encodeFrame(request, [encodeTable(table, rows)]);
})();

/** One engine process and the frames it sends. */
class EngineProcess {
  readonly pooled: boolean;
  readonly ready: Promise<void>;
  readonly exited: Promise<void>;
  baselineRss = 0;
  started = false;
  /** Killed, or gone: never handed out again, whatever it still says. */
  dead = false;
  /** Resolves when the last query's database is detached (`true`), or the process is gone. */
  idle: Promise<boolean> = Promise.resolve(true);
  readonly #child: Deno.ChildProcess;
  readonly #stdin: WritableStreamDefaultWriter<Uint8Array>;

  get pid(): number {
    return this.#child.pid;
  }

  readonly #frames: FrameReader<EngineReply>;
  /** Settles once the replies to every frame written so far are read (an `idle` after one too). */
  #replies: Promise<void> = Promise.resolve();
  readonly #statm: string;
  #statmFile?: Deno.FsFile;
  readonly #statmBuffer = new Uint8Array(128);

  /** `warmUpMs` undefined: a one-off engine (one query, then killed), never warmed up. */
  constructor(memoryLimitMb: number, warmUpMs: number | undefined) {
    this.pooled = warmUpMs !== undefined;
    const child = spawnFramed<EngineReply>(ENTRY, {
      flags: [
        "--allow-sys=cpus",
        // The JS heap holds only frames and results; the wasm heap is bounded by memory_limit.
        `--v8-flags=--max-old-space-size=${Math.max(256, memoryLimitMb)}` +
        `,--wasm-tiering-budget=${TIERING_BUDGET}`,
      ],
      env: { [MEMORY_LIMIT_ENV]: String(memoryLimitMb) },
    });
    this.#child = child.process;
    this.#statm = `/proc/${this.#child.pid}/statm`;
    this.#stdin = child.input;
    this.#frames = child.output;
    this.exited = this.#child.status.then(() => {
      this.dead = true;
      this.#statmFile?.close();
      this.#statmFile = undefined;
    });
    this.ready = this.#frames.next().then(async (frame) => {
      if (frame?.header.type !== "ready") throw new Error("the engine did not start");
      if (warmUpMs) await inTurn(() => this.#warmUp(warmUpMs));
      this.baselineRss = this.rss();
      // Queries run at a lower priority than the process that answers: a runaway may use its
      // core, never the time `/healthz` and other tenants' answers need. Start-up is not
      // lowered, so a replacement is ready as soon as possible.
      lowerPriority(this.#child.pid);
      this.started = true;
    });
    this.ready.catch(() => this.kill());
  }

  /**
   * Runs the warm-up query until V8 has optimised the hot paths (wasm tiers up from its baseline
   * compiler per function as it runs; the first queries of a fresh engine are 10–30× slower), so
   * no user query pays for it. Bounded in rounds and time: a slow machine only warms less.
   */
  async #warmUp(warmUpMs: number): Promise<void> {
    const until = performance.now() + warmUpMs;
    const requests = warmUpRequests();
    for (let round = 0; round < WARMUP_ROUNDS && performance.now() < until; round++) {
      const reply = await this.query(requests[round % requests.length]);
      if (reply.header.type !== "result" || !await this.idle) {
        throw new Error(`the engine failed its warm-up: ${JSON.stringify(reply.header)}`);
      }
    }
  }

  /** Sends one query and resolves with its `result` or `error` frame; `idle` follows. */
  query(request: EncodedRequest): Promise<Frame<EngineReply>> {
    return this.#send(request.bytes, () => true);
  }

  /**
   * Sends a load of some of a coming query's tables and resolves with its `loaded` frame, or its
   * `error` (the engine then cleans up: `idle` follows).
   */
  load(bytes: Uint8Array): Promise<Frame<EngineReply>> {
    return this.#send(bytes, (reply) => reply.type !== "loaded");
  }

  /** Runs a warm-up ({@link WARM_FRAME}) while the engine waits for a query's rows. */
  warm(): Promise<Frame<EngineReply>> {
    return this.#send(WARM_FRAME, () => false);
  }

  /** Drops what was loaded for a query that will not come; resolves when the engine is idle. */
  async drop(): Promise<void> {
    await this.#send(DROP_FRAME, () => false);
  }

  /**
   * Writes a frame at once, behind any written before it, and resolves with the engine's reply to
   * it: replies come in the order of the frames, each followed by `idle` when `idleFollows` it.
   * `idle` settles with the last frame's: when the engine says it is idle (in the reply, a
   * drop's, or the frame after it), or (false) when the process is gone. A successful load leaves
   * it pending: its tables wait for their query.
   */
  #send(
    bytes: Uint8Array,
    idleFollows: (reply: EngineReply) => boolean,
  ): Promise<Frame<EngineReply>> {
    let settleIdle!: (clean: boolean) => void;
    this.idle = new Promise<boolean>((resolve) => settleIdle = resolve);
    const exited = this.exited.then(() => {
      settleIdle(false);
      throw new Error("the engine exited");
    });
    exited.catch(() => {}); // raced below, perhaps only once the earlier replies are read
    const written = Promise.race([this.#stdin.write(bytes), exited]);
    const earlier = this.#replies;
    const reply = (async () => {
      await written;
      await earlier;
      const frame = await Promise.race([this.#frames.next(), exited]);
      if (!frame) {
        settleIdle(false);
        throw new Error("the engine closed its output");
      }
      return frame;
    })();
    this.#replies = reply.then(async (frame) => {
      if (frame.header.type === "idle") settleIdle(true);
      else if (idleFollows(frame.header)) {
        const next = await Promise.race([this.#frames.next(), exited]).catch(() => undefined);
        settleIdle(next?.header.type === "idle");
      }
    }).catch(() => {});
    return reply;
  }

  /**
   * Resident memory of the process, bytes (0 when it cannot be read). Read from a `statm` kept
   * open, re-read from its start: the kernel writes it on each read, without any disk, so a
   * synchronous read never waits, where an async file read per look cost the answering process
   * about 7% of its time under a warm-join load.
   */
  rss(): number {
    if (this.dead) return 0;
    try {
      this.#statmFile ??= Deno.openSync(this.#statm);
      this.#statmFile.seekSync(0, Deno.SeekMode.Start);
      const n = this.#statmFile.readSync(this.#statmBuffer) ?? 0;
      const text = statmDecoder.decode(this.#statmBuffer.subarray(0, n));
      return Number(text.split(" ")[1]) * PAGE;
    } catch {
      return 0;
    }
  }

  kill(): void {
    if (this.dead) return;
    // At once, not when the process is reaped: a killed engine may have written its answer and
    // its `idle` before the signal landed, and the pool must not take that `idle` for a clean
    // engine and hand it to the next query (which then met a broken pipe: a 500).
    this.dead = true;
    try {
      this.#child.kill("SIGKILL");
    } catch {
      // already gone
    }
  }
}

function lowerPriority(pid: number): void {
  try {
    // A system call, not a `renice` process per engine start.
    setPriority(pid, ENGINE_NICE);
  } catch {
    // not permitted here: the engine keeps the default priority
  }
}

/**
 * Puts `entry` at the end of `queue`; if `signal` aborts before it is served, takes it out and
 * rejects with the abort's reason. Returns the abort listener, to remove once served.
 */
function waitIn<T>(
  queue: T[],
  entry: T,
  signal: AbortSignal | undefined,
  reject: (reason: unknown) => void,
): () => void {
  const onAbort = () => {
    const at = queue.indexOf(entry);
    if (at >= 0) queue.splice(at, 1);
    reject(stopReason(signal!));
  };
  signal?.addEventListener("abort", onAbort, { once: true });
  queue.push(entry);
  return onAbort;
}
