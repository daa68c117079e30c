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

/** The database name the door serves and the view answers `current_database()` with. */
export const DATABASE = "omnisql";

/** Options of {@link CatalogViews}. */
export interface CatalogViewsOptions {
  /** Live views at most; an idle one is closed to make room. @default 3 */
  maxViews?: number;
  /** A view nobody used for this long is closed, ms. @default 120_000 */
  idleMs?: number;
}

/** Talks to the worker hosting the views. */
class ViewHost {
  readonly #worker: Worker;
  readonly #pending = new Map<number, { resolve(b?: Uint8Array): void; reject(e: Error): void }>();
  #next = 0;

  constructor() {
    this.#worker = new Worker(new URL("./_view_host.ts", import.meta.url), { type: "module" });
    this.#worker.onmessage = (
      event: MessageEvent<{ id: number; ok: boolean; bytes?: Uint8Array; error?: string }>,
    ) => {
      const { id, ok, bytes, error } = event.data;
      const waiter = this.#pending.get(id);
      this.#pending.delete(id);
      if (ok) waiter?.resolve(bytes);
      else waiter?.reject(new Error(error ?? "catalog view failed"));
    };
  }

  call(message: Record<string, unknown>): Promise<Uint8Array | undefined> {
    const id = this.#next++;
    return new Promise((resolve, reject) => {
      this.#pending.set(id, { resolve, reject });
      this.#worker.postMessage({ ...message, id });
    });
  }

  terminate(): void {
    this.#worker.terminate();
    for (const waiter of this.#pending.values()) waiter.reject(new Error("catalog views closed"));
    this.#pending.clear();
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
  async exchange(messages: Uint8Array[]): Promise<[string, Uint8Array][]> {
    const bytes = concat(messages);
    const reply = await this.#host.call({ op: "exchange", view: this.#id, bytes });
    return splitMessages(reply ?? new Uint8Array(0));
  }

  /** Runs a simple-protocol query string. */
  simpleQuery(sql: string): Promise<[string, Uint8Array][]> {
    const bytes = new TextEncoder().encode(sql);
    const msg = new Uint8Array(bytes.length + 6);
    msg[0] = 81; // 'Q'
    new DataView(msg.buffer).setInt32(1, bytes.length + 5);
    msg.set(bytes, 5);
    return this.exchange([msg]);
  }

  /** Parse + Describe (statement): the parameter description and row description or error. */
  describe(sql: string, paramTypes: number[]): Promise<[string, Uint8Array][]> {
    return this.exchange([
      frontend.parse(sql, paramTypes),
      frontend.describe("S"),
      frontend.sync(),
    ]);
  }

  async close(): Promise<void> {
    await this.#host.call({ op: "close", view: this.#id });
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
 * const lease = await views.acquire(tables);
 * const reply = await lease.view.simpleQuery("SELECT table_name FROM information_schema.tables");
 * lease.release();
 * await views.close();
 * ```
 */
export class CatalogViews {
  readonly #entries = new Map<string, Entry>();
  readonly #maxViews: number;
  readonly #idleMs: number;
  #host?: ViewHost;

  constructor(options: CatalogViewsOptions = {}) {
    this.#maxViews = options.maxViews ?? 3;
    this.#idleMs = options.idleMs ?? 120_000;
  }

  /** Prepares the initialised-database snapshot now, so the first connection need not wait. */
  async warm(): Promise<void> {
    await this.#hostOf().call({ op: "warm" });
  }

  #hostOf(): ViewHost {
    this.#host ??= new ViewHost();
    return this.#host;
  }

  /** The view of `tables`, shared with every session that sees the same ones. */
  async acquire(tables: CatalogTable[]): Promise<CatalogViewLease> {
    const key = await sha256Hex(JSON.stringify(tables));
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
    await this.#hostOf().call({ op: "open", view: key, ddl: sql });
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
  const path = schemas.length ? schemas.map(ident).join(", ") : "pg_catalog";
  lines.push(`ALTER DATABASE ${DATABASE} SET search_path = ${path};`, `SET search_path = ${path};`);
  return { sql: lines.join("\n"), schemas };
}
