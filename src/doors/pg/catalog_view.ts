/**
 * The user's catalog view: a PGlite database (real Postgres, in-process) holding, as empty
 * tables with their Postgres types and descriptions, exactly the tables and columns
 * `GET /v1/catalog` lists for the user — and nothing else. Tools' introspection SQL
 * (`pg_catalog`, `information_schema`, `version()`, …) runs there unchanged, so psql's `\d`,
 * DBeaver, Grafana and Metabase see faithful answers about what this user may query; and data
 * statements are described there (parameter and column types) before the pipeline runs them.
 *
 * A view starts in ~1–2 s from a snapshot of an initialised database (made once per machine,
 * ~8 s, and cached: `pglite_cache.ts`) and its process holds ~400 MiB, so views are
 * shared by every session of a tenant whose user sees the same catalog, at most `maxViews`
 * live, closed when idle; a tenant runs one catalog statement at a time, so it keeps at most one
 * view's process busy. Each view runs in a process of its own (`_view_host.ts`): PGlite's
 * wasm blocks its thread (and the door's thread also serves HTTP), and a statement that
 * outruns its timeout is stopped by killing its process — which must end no other tenant's view,
 * nor make another tenant's statements wait.
 *
 * @module
 */
import type { CatalogTable } from "../gateway.ts";
import { concat, frontend, splitMessages } from "./protocol.ts";
import { pgTypeOf } from "./types.ts";
import { sha256Hex } from "../../crypto/sha256.ts";
import { hmacHex } from "../../crypto/hmac.ts";
import { processLog } from "../../telemetry/log.ts";
import { catalogRefusal, CatalogViewError } from "./view_guard.ts";
import type { ViewReply, ViewRequest } from "./_view_host.ts";
import { encodeFrame, spawnFramed } from "../../frames.ts";
import { cachedDataDir } from "../../catalog/pglite_cache.ts";

/** The key of refused statements' log digests: random per process, never stored. */
const DIGEST_KEY = Array.from(crypto.getRandomValues(new Uint8Array(32)), (b) => b.toString(16))
  .join("");

/** The database name the door serves and the view answers `current_database()` with. */
export const DATABASE = "omnisql";
/** The role catalog statements run as (the view host sets it; see `_view_host.ts`). */
const READER = "omnisql_reader";

/** Options of {@link CatalogViews}. */
export interface CatalogViewsOptions {
  /**
   * Live views at most: each has a process of its own (~450 MiB resident: PGlite's ~190 MiB wasm
   * heap, plus what a fresh isolate costs). To open another, the least recently used view that
   * runs no statement ends its process — even one a session holds: it reopens (~1–2 s) for its
   * next statement; a view of the tenant holding the most live views goes first, so a tenant's
   * views push out their own before another tenant's. Only when every live view is busy is one
   * more opened; a tenant keeps at most one view busy, so the excess is bounded by the tenants
   * with a statement running, each by the statement timeout.
   * @default 3
   */
  maxViews?: number;
  /** A view nobody used for this long is closed, ms. @default 120_000 */
  idleMs?: number;
  /**
   * A catalog statement runs at most this long, counted from when it starts running in its
   * view (not while it waits its turn); it then fails with SQLSTATE 57014. PGlite ignores
   * `statement_timeout` (it has no timer signals), so the door kills the process of that one
   * view, which reopens (~1–2 s) for its next statement. A tenant's catalog statements (and
   * view openings) run one at a time, whichever of its views they are for, its users taking
   * turns: a statement waits only for its tenant's, never for another tenant's; one that waited
   * behind a stopped statement never started, and runs on the reopened view. A cancel request
   * stops a statement waiting or running (57014). @default 5_000
   */
  statementTimeoutMs?: number;
  /**
   * A catalog statement waits at most this long for its turn, then fails with SQLSTATE 57014.
   * @default twice `statementTimeoutMs`
   */
  maxWaitMs?: number;
  /**
   * A view whose process's resident memory grew past this (a statement allocated much) is
   * replaced by a fresh one after the statement; a fresh view's process holds ~400 MiB.
   * @default 640 MiB
   */
  maxViewRssBytes?: number;
}

/** What a view's process answers a call with. */
type CallReply = { bytes?: Uint8Array; rssBytes?: number };

interface Call {
  resolve(reply: CallReply): void;
  reject(e: Error): void;
  started?(): void;
}

/** Work a {@link Lane} runs for a view: a statement, or opening the view. */
interface Job {
  host: ViewHost;
  /** Whose work it is: the lane takes turns between users ("" for a view's opening). */
  party: string;
  run(): Promise<void>;
  reject(e: Error): void;
  signal?: AbortSignal;
}

/** A cancel request (or the session's end) stopped the statement, queued or running. */
const cancelled = () =>
  new CatalogViewError({
    severity: "ERROR",
    code: "57014",
    message: "canceling statement due to user request",
  });

/** The process of a view ended under a call for a reason other than its statement's timeout. */
class ProcessEnded extends Error {}

/** The catalog views are closing (the door shuts down). */
const closing = () =>
  new CatalogViewError({
    severity: "ERROR",
    code: "57P01",
    message: "terminating catalog statement: the catalog views are closing",
  });

const VIEW_ENTRY = new URL("./_view_host.ts", import.meta.url);

/**
 * The process hosting a view (`_view_host.ts`): requests in, replies out as frames. `kill` ends
 * it for sure, whatever its wasm is doing (a worker's `terminate()` does not stop a busy loop).
 */
class ViewProcess {
  readonly #child: Deno.ChildProcess;
  readonly #stdin: WritableStreamDefaultWriter<Uint8Array>;
  #killed = false;

  /** `onReply` gets each reply; `onExit` is called if the process ends before `kill`. */
  constructor(
    onReply: (reply: ViewReply, blob?: Uint8Array) => void,
    onExit: () => void,
  ) {
    const child = spawnFramed<ViewReply>(VIEW_ENTRY);
    this.#child = child.process;
    this.#stdin = child.input;
    const replies = child.output;
    (async () => {
      try {
        for (let frame; (frame = await replies.next());) onReply(frame.header, frame.blobs[0]);
      } catch {
        // killed inside a frame
      }
      if (!this.#killed) onExit();
    })();
  }

  get pid(): number {
    return this.#child.pid;
  }

  send(request: ViewRequest, blob?: Uint8Array): void {
    // A write to a process that died fails; its end reaches `onExit`.
    this.#stdin.write(encodeFrame(request, blob ? [blob] : [])).catch(() => {});
  }

  kill(): void {
    if (this.#killed) return;
    this.#killed = true;
    try {
      this.#child.kill("SIGKILL");
    } catch {
      // already gone
    }
  }
}

/**
 * A tenant's catalog work, one job at a time, whichever of the tenant's views it is for: so a
 * tenant keeps at most one view process busy (running a statement or opening a view) however
 * many views or sessions it has, and can never take the CPU, or the room for live views, from
 * another tenant. Users take turns: the next job is the oldest of the user served least
 * recently, so a user sending many slow statements delays another's by one of them at most.
 * A statement that waited `maxWaitMs` for its turn fails (57014) instead of waiting on.
 */
class Lane {
  readonly #queue: Job[] = [];
  /** When each party was last served (a running count). */
  readonly #served = new Map<string, number>();
  #turns = 0;
  #current?: Job;
  #pumping = false;

  constructor(readonly maxWaitMs: number) {}

  /** Whether `host` runs the tenant's current job (a statement, or its opening). */
  running(host: ViewHost): boolean {
    return this.#current?.host === host;
  }

  /** Whether a job for `host` waits its turn. */
  waiting(host: ViewHost): boolean {
    return this.#queue.some((job) => job.host === host);
  }

  /**
   * Runs `work` for `host` in `party`'s turn. `signal` stops it: taken out of the queue, or,
   * running, by killing `host`'s process; `bounded` work fails after waiting `maxWaitMs`.
   */
  run<T>(
    host: ViewHost,
    work: () => Promise<T>,
    options: { party?: string; signal?: AbortSignal; bounded?: boolean } = {},
  ): Promise<T> {
    const { party = "", signal, bounded = false } = options;
    if (signal?.aborted) return Promise.reject(cancelled());
    return new Promise<T>((resolve, reject) => {
      const unqueue = (reason: Error) => {
        const at = this.#queue.indexOf(job);
        if (at < 0) return false;
        this.#queue.splice(at, 1);
        job.reject(reason);
        return true;
      };
      const onAbort = () => {
        if (!unqueue(cancelled()) && this.#current === job) host.stop(cancelled());
      };
      const waited = bounded
        ? setTimeout(() => unqueue(this.#waitedTooLong()), this.maxWaitMs)
        : undefined;
      const done = () => {
        clearTimeout(waited);
        signal?.removeEventListener("abort", onAbort);
      };
      const job: Job = {
        host,
        party,
        signal,
        run: () => {
          clearTimeout(waited);
          return work().then((v) => (done(), resolve(v)), (e) => (done(), reject(e)));
        },
        reject: (e) => (done(), reject(e)),
      };
      signal?.addEventListener("abort", onAbort);
      this.#queue.push(job);
      void this.#pump();
    });
  }

  #waitedTooLong(): CatalogViewError {
    return new CatalogViewError({
      severity: "ERROR",
      code: "57014",
      message: `canceling statement: it waited ${this.maxWaitMs} ms for its turn (a tenant's ` +
        "catalog statements run one at a time)",
      hint: "try again when the tenant's slow catalog statements have ended",
    });
  }

  /** The next job: the oldest of the party served least recently. */
  #next(): Job | undefined {
    const turn = (job: Job) => this.#served.get(job.party) ?? -1;
    let best: Job | undefined;
    for (const job of this.#queue) if (!best || turn(job) < turn(best)) best = job;
    if (best) this.#queue.splice(this.#queue.indexOf(best), 1);
    return best;
  }

  /** Jobs of `host` still waiting fail with `reason`. */
  drop(host: ViewHost, reason: Error): void {
    for (const job of this.#queue.filter((j) => j.host === host)) {
      this.#queue.splice(this.#queue.indexOf(job), 1);
      job.reject(reason);
    }
  }

  async #pump(): Promise<void> {
    if (this.#pumping) return;
    this.#pumping = true;
    try {
      for (let job = this.#next(); job; job = this.#next()) {
        this.#current = job;
        this.#served.set(job.party, this.#turns++);
        await job.run();
      }
    } finally {
      this.#current = undefined;
      this.#pumping = false;
    }
  }
}

/**
 * The door's live view processes, least recently used first, kept to `max` (see
 * {@link CatalogViewsOptions.maxViews}). To make room, a view that is not busy ends its
 * process: one of the tenant holding the most live views (counting the one opening), one no
 * statement waits for before one some statement does, the least recently used first — so a
 * tenant's views push out their own before another tenant's, and a tenant with few views keeps
 * them. Each tenant keeps at most one view busy ({@link Lane}), so the views live at once are
 * at most `max`, or the number of tenants with work running when that is more.
 */
class LiveViews {
  readonly #live = new Set<ViewHost>();

  constructor(readonly max: number) {}

  get size(): number {
    return this.#live.size;
  }

  /** `host` starts a process: others end theirs to make room (see the class doc). */
  admit(host: ViewHost): void {
    this.#live.delete(host);
    while (this.#live.size >= this.max) {
      const held = new Map<string, number>([[host.tenant, 1]]);
      for (const view of this.#live) held.set(view.tenant, (held.get(view.tenant) ?? 0) + 1);
      const rank = (view: ViewHost) => 2 * held.get(view.tenant)! + (view.awaited ? 0 : 1);
      let victim: ViewHost | undefined;
      for (const view of this.#live) {
        if (view.idle && (!victim || rank(view) > rank(victim))) victim = view;
      }
      if (!victim) break;
      victim.suspend();
    }
    this.#live.add(host);
  }

  used(host: ViewHost): void {
    if (this.#live.delete(host)) this.#live.add(host);
  }

  gone(host: ViewHost): void {
    this.#live.delete(host);
  }
}

/** Options of a {@link ViewHost}. */
interface ViewHostOptions {
  tenant: string;
  /** The tenant's lane: every job of the view runs there. */
  lane: Lane;
  ddl: string;
  /** The initialised data directory views open from. */
  template: () => Promise<Uint8Array>;
  timeoutMs: number;
  maxRssBytes: number;
  live: LiveViews;
}

/**
 * One view and the process that hosts it. Its statements and openings run in its tenant's
 * {@link Lane}, queued there rather than in the process, so a statement stopped by its timeout
 * (the process killed: nothing else interrupts PGlite's wasm, and killing it also returns what
 * the statement allocated) takes only itself down: those queued behind it never reached the
 * process and run on a fresh one, opened from the view's DDL.
 */
class ViewHost {
  #process?: ViewProcess;

  /** The id of the view's process while it runs. */
  get pid(): number | undefined {
    return this.#process?.pid;
  }
  /** Calls in flight to `#process`. */
  #calls = new Map<number, Call>();
  /** The view opened in `#process`. */
  #ready?: Promise<void>;
  #opening = false;
  #closed = false;
  #next = 0;

  constructor(readonly o: ViewHostOptions) {}

  get tenant(): string {
    return this.o.tenant;
  }

  /** Has a process that runs nothing and is not opening. */
  get idle(): boolean {
    return this.#process !== undefined && !this.#opening && !this.o.lane.running(this);
  }

  /** A statement of the view waits its turn in the tenant's lane. */
  get awaited(): boolean {
    return this.o.lane.waiting(this);
  }

  /** Ends the process to make room for another view's; the next statement reopens it. */
  suspend(): void {
    this.#end(new ProcessEnded("the catalog view is suspended"));
  }

  /** Kills the process under the running statement, which fails with `reason`. */
  stop(reason: Error): void {
    this.#end(reason);
  }

  #call(
    request: { op: "open"; ddl: string } | { op: "exchange" },
    blob: Uint8Array,
    started?: () => void,
  ): Promise<CallReply> {
    let child = this.#process;
    if (!child) {
      const calls = new Map<number, Call>();
      const spawned: ViewProcess = new ViewProcess((reply, bytes) => {
        const call = calls.get(reply.id);
        if (reply.started) return call?.started?.();
        calls.delete(reply.id);
        if (reply.ok) call?.resolve({ bytes, rssBytes: reply.rssBytes });
        else call?.reject(new Error(reply.error ?? "catalog view failed"));
      }, () => {
        if (this.#process === spawned) {
          this.#end(new ProcessEnded("the catalog view's process ended"));
        }
      });
      child = this.#process = spawned;
      this.#calls = calls;
    }
    const id = this.#next++;
    return new Promise((resolve, reject) => {
      this.#calls.set(id, { resolve, reject, started });
      child.send({ ...request, id }, blob);
    });
  }

  /** Kills the process: its calls in flight fail with `reason`; the next use opens a fresh one. */
  #end(reason: Error): void {
    this.o.live.gone(this);
    this.#process?.kill();
    this.#process = undefined;
    this.#ready = undefined;
    this.#opening = false;
    const calls = this.#calls;
    this.#calls = new Map();
    for (const call of calls.values()) call.reject(reason);
  }

  /** Opens the view in a process, in its turn in the tenant's lane, unless it is open. */
  open(): Promise<void> {
    return this.o.lane.run(this, () => this.#open());
  }

  /** Opens the view in a process now, unless it is open. */
  #open(): Promise<void> {
    if (this.#closed) return Promise.reject(closing());
    if (!this.#ready) {
      this.o.live.admit(this);
      this.#opening = true;
      const ready = this.o.template().then((dataDir) =>
        this.#call({ op: "open", ddl: this.o.ddl }, dataDir)
      ).then(() => undefined);
      this.#ready = ready;
      // A view that failed to open is tried afresh on its next statement.
      ready.catch((err) => this.#ready === ready && this.#end(err))
        .finally(() => this.#ready === ready && (this.#opening = false));
    }
    return this.#ready;
  }

  /**
   * Runs `bytes` (frontend messages ending with Sync) in the view, in `party`'s turn in the
   * tenant's lane. `signal` stops it: taken out of the queue, or, running, by killing the process.
   */
  exchange(
    bytes: Uint8Array,
    party: string,
    signal?: AbortSignal,
  ): Promise<Uint8Array | undefined> {
    if (this.#closed) return Promise.reject(closing());
    return this.o.lane.run(this, () => this.#run(bytes, signal), {
      party,
      signal,
      bounded: true,
    });
  }

  async #run(bytes: Uint8Array, signal?: AbortSignal): Promise<Uint8Array | undefined> {
    this.o.live.used(this);
    for (let attempt = 0;; attempt++) {
      let started = false;
      let timer: ReturnType<typeof setTimeout> | undefined;
      try {
        await this.#open();
        if (signal?.aborted) throw cancelled();
        const reply = await this.#call({ op: "exchange" }, bytes, () => {
          started = true;
          timer = setTimeout(() => this.#end(this.#timedOut()), this.o.timeoutMs);
        });
        // Its memory seldom shrinks: a view that grew too large is replaced by a fresh one now.
        // The fresh one opens in the lane, after the statements already waiting.
        if ((reply.rssBytes ?? 0) > this.o.maxRssBytes) {
          this.#end(new ProcessEnded("the catalog view is replaced"));
          this.open().catch(() => {});
        }
        return reply.bytes;
      } catch (err) {
        // The process ended before the statement started: it never ran, so it may run again.
        if (err instanceof ProcessEnded && !started && attempt === 0 && !this.#closed) continue;
        throw this.#closed ? closing() : this.#vocabulary(err as Error, started);
      } finally {
        clearTimeout(timer);
      }
    }
  }

  #timedOut(): CatalogViewError {
    return new CatalogViewError({
      severity: "ERROR",
      code: "57014",
      message: "canceling statement due to statement timeout (catalog statements may run " +
        `${this.o.timeoutMs} ms)`,
    });
  }

  /** An error of the view as the door answers it: never INTERNAL, never another view's. */
  #vocabulary(err: Error, started: boolean): Error {
    if (err instanceof CatalogViewError) return err;
    return new CatalogViewError({
      severity: "ERROR",
      code: "58000",
      message: started
        ? "the catalog view failed while running the statement; it reopens for the next one"
        : "the catalog view could not be opened; try again",
    });
  }

  /** Ends the view: statements still queued fail with 57P01. */
  close(): void {
    this.#closed = true;
    this.o.lane.drop(this, closing());
    this.#end(closing());
  }
}

/** Names the data directory views open from (`_view_host.ts` makes it). */
const TEMPLATE_RECIPE = `catalog view: initdb, CREATE DATABASE ${DATABASE}`;

/**
 * The initialised data directory views open from: from the machine's cache, else made in a
 * process of its own (initdb runs wasm for seconds); `terminate` ends the making early.
 */
function makeTemplate(): { template: Promise<Uint8Array>; terminate(): void } {
  let maker: ViewProcess | undefined;
  let fail = (_: Error) => {};
  const make = () =>
    new Promise<Uint8Array>((resolve, reject) => {
      fail = reject;
      maker = new ViewProcess((reply, blob) => {
        maker?.kill();
        if (reply.ok && blob) resolve(blob);
        else reject(new Error(reply.error ?? "catalog view template failed"));
      }, () => reject(new Error("catalog view template failed: its process ended")));
      maker.send({ id: 0, op: "template" });
    });
  return {
    template: cachedDataDir(TEMPLATE_RECIPE, make),
    terminate() {
      maker?.kill();
      fail(closing());
    },
  };
}

/**
 * The process's template once made: it never changes, so every door of the process (and every
 * door a test starts) opens from the same one.
 */
let madeTemplate: Promise<Uint8Array> | undefined;

/** A user's catalog view (see the module doc). */
export class CatalogView {
  readonly #host: ViewHost;
  /** The schemas of the user's tables: the search path the door reports. */
  readonly schemas: string[];
  /** Whose statements these are: users of a tenant take turns. */
  readonly #user: string;

  constructor(host: ViewHost, schemas: string[], user = "") {
    this.#host = host;
    this.schemas = schemas;
    this.#user = user;
  }

  /** The id of the view's process while it runs (for operators' tools and tests). */
  get processId(): number | undefined {
    return this.#host.pid;
  }

  /** The same view, running `user`'s statements in that user's turns. */
  for(user: string): CatalogView {
    return new CatalogView(this.#host, this.schemas, user);
  }

  /** Runs complete frontend messages ending with Sync; returns the backend messages. */
  async #exchange(
    messages: Uint8Array[],
    signal?: AbortSignal,
  ): Promise<[string, Uint8Array][]> {
    const reply = await this.#host.exchange(concat(messages), this.#user, signal);
    return splitMessages(reply ?? new Uint8Array(0));
  }

  /**
   * Runs one statement. It goes as Parse/Bind/Execute, never as a simple query, so Postgres
   * itself refuses a second statement hidden in it. `signal` stops it (SQLSTATE 57014).
   */
  query(sql: string, signal?: AbortSignal): Promise<[string, Uint8Array][]> {
    return this.portal(sql, [], [], [], [], "E", signal);
  }

  /** Parse + Describe (statement): the parameter description and row description or error. */
  describe(
    sql: string,
    paramTypes: number[],
    signal?: AbortSignal,
  ): Promise<[string, Uint8Array][]> {
    return this.#exchange([
      frontend.parse(sql, paramTypes),
      frontend.describe("S"),
      frontend.sync(),
    ], signal);
  }

  /**
   * Binds `sql` and describes the portal (`"P"`) or runs it (`"E"`): refused first when it
   * could change the view or is denied (see `view_guard.ts`).
   */
  async portal(
    sql: string,
    paramTypes: number[],
    params: (Uint8Array | null)[],
    paramFormats: number[],
    resultFormats: number[],
    step: "P" | "E",
    signal?: AbortSignal,
  ): Promise<[string, Uint8Array][]> {
    const refusal = catalogRefusal(sql);
    if (refusal) {
      // Logged, not audited: nothing ran. The digest tells repeats of one statement apart in
      // this process's log without its text; keyed per process, so a guess cannot be confirmed.
      processLog.warn("postgres door: catalog statement refused", {
        sqlstate: refusal.code,
        sql_digest: (await hmacHex(DIGEST_KEY, sql)).slice(0, 16),
      });
      throw new CatalogViewError(refusal);
    }
    return await this.#exchange([
      frontend.parse(sql, paramTypes),
      frontend.bind(params, paramFormats, resultFormats),
      ...(step === "P" ? [frontend.describe("P")] : [frontend.describe("P"), frontend.execute()]),
      frontend.sync(),
    ], signal);
  }

  close(): void {
    this.#host.close();
  }
}

/** A view in use; release it when the session ends. */
export interface CatalogViewLease {
  view: CatalogView;
  release(): void;
}

interface Entry {
  view: Promise<CatalogView>;
  refs: number;
  idleTimer?: ReturnType<typeof setTimeout>;
}

/**
 * The catalog views of one door, keyed by the exact catalog a user sees.
 *
 * @example
 * ```ts ignore
 * const views = new CatalogViews();
 * const lease = await views.acquire("acme", tables);
 * const reply = await lease.view.query("SELECT table_name FROM information_schema.tables");
 * lease.release();
 * await views.close();
 * ```
 */
export class CatalogViews {
  readonly #entries = new Map<string, Entry>();
  readonly #live: LiveViews;
  /** Each tenant's lane; tenants are few (configured), so lanes are kept. */
  readonly #lanes = new Map<string, Lane>();
  readonly #idleMs: number;
  readonly #timeoutMs: number;
  readonly #maxWaitMs: number;
  readonly #maxRssBytes: number;
  #template?: { template: Promise<Uint8Array>; terminate(): void };

  constructor(options: CatalogViewsOptions = {}) {
    this.#live = new LiveViews(options.maxViews ?? 3);
    this.#idleMs = options.idleMs ?? 120_000;
    this.#timeoutMs = options.statementTimeoutMs ?? 5_000;
    this.#maxWaitMs = options.maxWaitMs ?? 2 * this.#timeoutMs;
    this.#maxRssBytes = options.maxViewRssBytes ?? 640 * 2 ** 20;
  }

  /** How many views have a process now (see {@link CatalogViewsOptions.maxViews}). */
  get liveViews(): number {
    return this.#live.size;
  }

  /** Prepares the initialised-database snapshot now, so the first connection need not wait. */
  async warm(): Promise<void> {
    await this.#templateOf();
  }

  #templateOf(): Promise<Uint8Array> {
    if (madeTemplate) return madeTemplate;
    if (!this.#template) {
      const made = makeTemplate();
      this.#template = made;
      made.template.then(
        () => madeTemplate ??= made.template,
        // A failed snapshot is made afresh for the next view.
        () => this.#template === made && (this.#template = undefined),
      );
    }
    return this.#template.template;
  }

  /**
   * The view of `tables` for `tenant`, shared with the tenant's sessions that see the same
   * ones — never with another tenant's, so nothing in a view can cross tenants.
   */
  async acquire(
    tenant: string,
    tables: CatalogTable[],
    user = "",
  ): Promise<CatalogViewLease> {
    const key = await sha256Hex(JSON.stringify([tenant, tables]));
    let entry = this.#entries.get(key);
    if (!entry) {
      const view = this.#open(tenant, tables);
      entry = { view, refs: 0 };
      this.#entries.set(key, entry);
      view.catch(() => this.#entries.delete(key));
    }
    const e = entry;
    e.refs++;
    clearTimeout(e.idleTimer);
    let released = false;
    try {
      const view = await e.view;
      return {
        view: view.for(user),
        release: () => {
          if (released) return;
          released = true;
          if (--e.refs === 0) e.idleTimer = setTimeout(() => this.#drop(key), this.#idleMs);
        },
      };
    } catch (err) {
      e.refs--;
      throw err;
    }
  }

  async #drop(key: string): Promise<void> {
    const entry = this.#entries.get(key);
    if (!entry || entry.refs > 0) return;
    this.#entries.delete(key);
    clearTimeout(entry.idleTimer);
    (await entry.view.catch(() => undefined))?.close();
  }

  async #open(tenant: string, tables: CatalogTable[]): Promise<CatalogView> {
    const { sql, schemas } = viewDdl(tables);
    let lane = this.#lanes.get(tenant);
    if (!lane) this.#lanes.set(tenant, lane = new Lane(this.#maxWaitMs));
    const host = new ViewHost({
      tenant,
      lane,
      ddl: sql,
      template: () => this.#templateOf(),
      timeoutMs: this.#timeoutMs,
      maxRssBytes: this.#maxRssBytes,
      live: this.#live,
    });
    try {
      await host.open();
    } catch (err) {
      host.close();
      throw err;
    }
    return new CatalogView(host, schemas);
  }

  /** Closes every view. */
  async close(): Promise<void> {
    const keys = [...this.#entries.keys()];
    for (const key of keys) {
      const entry = this.#entries.get(key)!;
      entry.refs = 0;
      await this.#drop(key);
    }
    this.#template?.terminate();
    this.#template = undefined;
  }
}

const ident = (name: string) => `"${name.replaceAll('"', '""')}"`;
const text = (value: string) => `'${value.replaceAll("'", "''")}'`;

/**
 * The DDL of a view: one schema per source, one table per catalog table, descriptions as
 * comments, the sources' schemas on the search path (so psql's `\dt` lists them), no `public`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { viewDdl } from "./catalog_view.ts";
 * const { sql, schemas } = viewDdl([{ table: "github.pull_requests", connector: "github",
 *   columns: [{ name: "pr_id", type: "integer" }] }]);
 * assert.deepEqual(schemas, ["github"]);
 * assert.match(sql, /CREATE TABLE "github"\."pull_requests" \("pr_id" bigint\)/);
 * ```
 */
export function viewDdl(tables: CatalogTable[]): { sql: string; schemas: string[] } {
  const schemas = [...new Set(tables.map((t) => t.table.split(".")[0]))].sort();
  const lines = ["DROP SCHEMA IF EXISTS public CASCADE;"];
  for (const schema of schemas) lines.push(`CREATE SCHEMA ${ident(schema)};`);
  for (const t of tables) {
    const [schema, ...rest] = t.table.split(".");
    const name = `${ident(schema)}.${ident(rest.join("."))}`;
    const columns = t.columns.map((c) => `${ident(c.name)} ${pgTypeOf(c.type)}`).join(", ");
    lines.push(`CREATE TABLE ${name} (${columns});`);
    if (t.description) lines.push(`COMMENT ON TABLE ${name} IS ${text(t.description)};`);
    for (const c of t.columns) {
      const note = [c.description, c.masked ? "(masked for you)" : ""].filter(Boolean).join(" ");
      if (note) lines.push(`COMMENT ON COLUMN ${name}.${ident(c.name)} IS ${text(note)};`);
    }
  }
  // Statements run as this role (`_view_host.ts`): it may read the view and change nothing.
  lines.push(`CREATE ROLE ${READER} NOLOGIN;`);
  for (const schema of schemas) {
    lines.push(
      `GRANT USAGE ON SCHEMA ${ident(schema)} TO ${READER};`,
      `GRANT SELECT ON ALL TABLES IN SCHEMA ${ident(schema)} TO ${READER};`,
    );
  }
  const path = schemas.length ? schemas.map(ident).join(", ") : "pg_catalog";
  lines.push(`ALTER DATABASE ${DATABASE} SET search_path = ${path};`, `SET search_path = ${path};`);
  return { sql: lines.join("\n"), schemas };
}
