/**
 * The user's catalog view: a PGlite database (real Postgres, in-process) holding, as empty
 * tables with their Postgres types and descriptions, exactly the tables and columns
 * `GET /v1/catalog` lists for the user — and nothing else. Tools' introspection SQL
 * (`pg_catalog`, `information_schema`, `version()`, …) runs there unchanged, so psql's `\d`,
 * DBeaver, Grafana and Metabase see faithful answers about what this user may query; and data
 * statements are described there (parameter and column types) before the pipeline runs them.
 *
 * A view starts in ~0.6 s from a snapshot of an initialised database (made once per process,
 * ~2–10 s) and holds ~150 MB, so views are shared by every session whose user sees the same
 * catalog, at most `maxViews` live, closed when idle. They run in one worker (`_view_host.ts`):
 * PGlite's wasm blocks its thread, and the door's thread also serves HTTP.
 *
 * @module
 */
import type { CatalogTable } from "../gateway.ts";
import { concat, frontend, splitMessages } from "./protocol.ts";
import { pgTypeOf } from "./types.ts";
import { sha256Hex } from "../../crypto/sha256.ts";
import { processLog } from "../../telemetry/log.ts";
import { catalogRefusal, CatalogViewError } from "./view_guard.ts";

/** The database name the door serves and the view answers `current_database()` with. */
export const DATABASE = "omnisql";
/** The role catalog statements run as (the view host sets it; see `_view_host.ts`). */
const READER = "omnisql_reader";

/** Options of {@link CatalogViews}. */
export interface CatalogViewsOptions {
  /** Live views at most; an idle one is closed to make room. @default 3 */
  maxViews?: number;
  /** A view nobody used for this long is closed, ms. @default 120_000 */
  idleMs?: number;
  /**
   * A catalog statement running longer is stopped (SQLSTATE 57014). PGlite ignores
   * `statement_timeout` (it has no timer signals), so the door ends the worker running it;
   * the views come back on their next statement. @default 5_000
   */
  statementTimeoutMs?: number;
  /**
   * A view whose wasm memory grew past this (a statement allocated much) is replaced by a fresh
   * one after the statement; a fresh view holds ~190 MiB. @default 320 MiB
   */
  maxViewHeapBytes?: number;
}

/** The worker restarted under a statement: it did not run, and may be sent again. */
class Restarted extends Error {}

/**
 * Talks to the worker hosting the views. A statement that outruns the timeout ends the worker
 * (nothing else interrupts PGlite's wasm, and ending it also returns what the statement
 * allocated); views are opened again, from their DDL, on a fresh worker when next used.
 */
class ViewHost {
  #worker?: Worker;
  readonly #pending = new Map<number, {
    resolve(b?: Uint8Array): void;
    reject(e: Error): void;
    timeoutMs?: number;
    timer?: ReturnType<typeof setTimeout>;
  }>();
  readonly #ddl = new Map<string, string>();
  /** Views opened in the current worker. */
  #opened = new Map<string, Promise<unknown>>();
  #next = 0;

  constructor(readonly timeoutMs: number, readonly maxHeapBytes: number) {}

  #workerOf(): Worker {
    if (this.#worker) return this.#worker;
    const worker = new Worker(new URL("./_view_host.ts", import.meta.url), { type: "module" });
    worker.onmessage = (
      event: MessageEvent<
        { id: number; ok: boolean; started?: boolean; bytes?: Uint8Array; error?: string }
      >,
    ) => {
      const { id, ok, started, bytes, error } = event.data;
      const waiter = this.#pending.get(id);
      if (started) {
        // The clock runs from when the statement starts, not while it queues behind others.
        if (waiter?.timeoutMs) waiter.timer = setTimeout(() => this.#expire(id), waiter.timeoutMs);
        return;
      }
      clearTimeout(waiter?.timer);
      this.#pending.delete(id);
      if (ok) waiter?.resolve(bytes);
      else waiter?.reject(new Error(error ?? "catalog view failed"));
    };
    this.#worker = worker;
    this.#opened = new Map();
    return worker;
  }

  #call(message: Record<string, unknown>, timeoutMs?: number): Promise<Uint8Array | undefined> {
    const worker = this.#workerOf();
    const id = this.#next++;
    return new Promise((resolve, reject) => {
      this.#pending.set(id, { resolve, reject, timeoutMs });
      worker.postMessage({ ...message, id });
    });
  }

  #expire(id: number): void {
    const waiter = this.#pending.get(id);
    if (!waiter) return;
    this.#pending.delete(id);
    this.#stop(new Restarted("the catalog view restarted"));
    waiter.reject(
      new CatalogViewError({
        severity: "ERROR",
        code: "57014",
        message: "canceling statement due to statement timeout (catalog statements may run " +
          `${this.timeoutMs} ms)`,
      }),
    );
  }

  #stop(reason: Error): void {
    this.#worker?.terminate();
    this.#worker = undefined;
    for (const waiter of this.#pending.values()) {
      clearTimeout(waiter.timer);
      waiter.reject(reason);
    }
    this.#pending.clear();
  }

  warm(): Promise<unknown> {
    return this.#call({ op: "warm" });
  }

  open(view: string, ddl: string): Promise<unknown> {
    this.#ddl.set(view, ddl);
    return this.#ensureOpen(view);
  }

  #ensureOpen(view: string): Promise<unknown> {
    this.#workerOf();
    let opening = this.#opened.get(view);
    if (!opening) {
      const ddl = this.#ddl.get(view);
      if (ddl === undefined) return Promise.reject(new Error(`no catalog view ${view}`));
      opening = this.#call({ op: "open", view, ddl, maxHeapBytes: this.maxHeapBytes });
      const opened = this.#opened;
      opening.catch(() => opened.get(view) === opening && opened.delete(view));
      this.#opened.set(view, opening);
    }
    return opening;
  }

  /** Runs `bytes` in `view`; sent once more if the worker restarted under someone else's. */
  async exchange(view: string, bytes: Uint8Array): Promise<Uint8Array | undefined> {
    for (let attempt = 0;; attempt++) {
      try {
        await this.#ensureOpen(view);
        return await this.#call({ op: "exchange", view, bytes }, this.timeoutMs);
      } catch (err) {
        if (!(err instanceof Restarted) || attempt > 0) throw err;
      }
    }
  }

  async close(view: string): Promise<void> {
    this.#ddl.delete(view);
    const opened = this.#opened.get(view);
    this.#opened.delete(view);
    if (opened && this.#worker) await this.#call({ op: "close", view }).catch(() => undefined);
  }

  terminate(): void {
    this.#stop(new Error("catalog views closed"));
  }
}

/** A user's catalog view (see the module doc). */
export class CatalogView {
  readonly #host: ViewHost;
  readonly #id: string;
  /** The schemas of the user's tables: the search path the door reports. */
  readonly schemas: string[];

  constructor(host: ViewHost, id: string, schemas: string[]) {
    this.#host = host;
    this.#id = id;
    this.schemas = schemas;
  }

  /** Runs complete frontend messages ending with Sync; returns the backend messages. */
  async #exchange(messages: Uint8Array[]): Promise<[string, Uint8Array][]> {
    const reply = await this.#host.exchange(this.#id, concat(messages));
    return splitMessages(reply ?? new Uint8Array(0));
  }

  /**
   * Runs one statement. It goes as Parse/Bind/Execute, never as a simple query, so Postgres
   * itself refuses a second statement hidden in it.
   */
  query(sql: string): Promise<[string, Uint8Array][]> {
    return this.portal(sql, [], [], [], [], "E");
  }

  /** Parse + Describe (statement): the parameter description and row description or error. */
  describe(sql: string, paramTypes: number[]): Promise<[string, Uint8Array][]> {
    return this.#exchange([
      frontend.parse(sql, paramTypes),
      frontend.describe("S"),
      frontend.sync(),
    ]);
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
  ): Promise<[string, Uint8Array][]> {
    const refusal = catalogRefusal(sql);
    if (refusal) {
      // Logged, not audited: nothing ran, and the digest names the statement without its text.
      processLog.warn("postgres door: catalog statement refused", {
        sqlstate: refusal.code,
        sql_digest: (await sha256Hex(sql)).slice(0, 16),
      });
      throw new CatalogViewError(refusal);
    }
    return await this.#exchange([
      frontend.parse(sql, paramTypes),
      frontend.bind(params, paramFormats, resultFormats),
      ...(step === "P" ? [frontend.describe("P")] : [frontend.describe("P"), frontend.execute()]),
      frontend.sync(),
    ]);
  }

  async close(): Promise<void> {
    await this.#host.close(this.#id);
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
  readonly #maxViews: number;
  readonly #idleMs: number;
  readonly #timeoutMs: number;
  readonly #maxHeapBytes: number;
  #host?: ViewHost;

  constructor(options: CatalogViewsOptions = {}) {
    this.#maxViews = options.maxViews ?? 3;
    this.#idleMs = options.idleMs ?? 120_000;
    this.#timeoutMs = options.statementTimeoutMs ?? 5_000;
    this.#maxHeapBytes = options.maxViewHeapBytes ?? 320 * 2 ** 20;
  }

  /** Prepares the initialised-database snapshot now, so the first connection need not wait. */
  async warm(): Promise<void> {
    await this.#hostOf().warm();
  }

  #hostOf(): ViewHost {
    this.#host ??= new ViewHost(this.#timeoutMs, this.#maxHeapBytes);
    return this.#host;
  }

  /**
   * The view of `tables` for `tenant`, shared with the tenant's sessions that see the same
   * ones — never with another tenant's, so nothing in a view can cross tenants.
   */
  async acquire(tenant: string, tables: CatalogTable[]): Promise<CatalogViewLease> {
    const key = await sha256Hex(JSON.stringify([tenant, tables]));
    let entry = this.#entries.get(key);
    if (!entry) {
      await this.#makeRoom();
      const view = this.#open(key, tables);
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
        view,
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

  async #makeRoom(): Promise<void> {
    if (this.#entries.size < this.#maxViews) return;
    for (const [key, entry] of this.#entries) {
      if (entry.refs === 0) {
        await this.#drop(key);
        if (this.#entries.size < this.#maxViews) return;
      }
    }
    // Every view is in use: one more is allowed rather than refusing a session.
  }

  async #drop(key: string): Promise<void> {
    const entry = this.#entries.get(key);
    if (!entry || entry.refs > 0) return;
    this.#entries.delete(key);
    clearTimeout(entry.idleTimer);
    await (await entry.view.catch(() => undefined))?.close();
  }

  async #open(key: string, tables: CatalogTable[]): Promise<CatalogView> {
    const { sql, schemas } = viewDdl(tables);
    await this.#hostOf().open(key, sql);
    return new CatalogView(this.#hostOf(), key, schemas);
  }

  /** Closes every view. */
  async close(): Promise<void> {
    const keys = [...this.#entries.keys()];
    for (const key of keys) {
      const entry = this.#entries.get(key)!;
      entry.refs = 0;
      await this.#drop(key);
    }
    this.#host?.terminate();
    this.#host = undefined;
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
