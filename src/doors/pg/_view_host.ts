/**
 * A worker hosting ONE catalog view's PGlite database (see `catalog_view.ts`). PGlite's initdb
 * and queries run wasm on the calling thread, so they live off the thread that serves HTTP and
 * the wire protocol; and one view per worker means a statement stopped by ending its worker
 * ends nothing else, and no statement ever waits behind another view's.
 *
 * Messages in: `{ id, op: "template" }` (answers `template`: an initialised data directory and
 * PGlite's compiled wasm, which every view's worker then shares rather than compiling its own),
 * `{ id, op: "open", ddl, template }`, `{ id, op: "exchange", bytes }`.
 * Messages out: `{ id, ok: true, started: true }` when an exchange starts running, then
 * `{ id, ok: true, bytes?, heapBytes?, template? }` or `{ id, ok: false, error }`.
 *
 * @module
 */
/// <reference lib="deno.worker" />
import { PGlite } from "@electric-sql/pglite";

/** The database name the door serves (see `catalog_view.ts`). */
const DATABASE = "omnisql";
/** The role statements run as (created by `viewDdl` in `catalog_view.ts`). */
const READER = "omnisql_reader";

/** What a view opens from (`catalog_view.ts` holds one per door). */
export interface ViewTemplate {
  dataDir: Uint8Array;
  /** Compiled once: a module posted to a worker shares its machine code. */
  pgliteWasmModule?: WebAssembly.Module;
  initdbWasmModule?: WebAssembly.Module;
}

type Request =
  | { id: number; op: "template" }
  | { id: number; op: "open"; ddl: string; template: ViewTemplate }
  | { id: number; op: "exchange"; bytes: Uint8Array };

type Reply = { bytes?: Uint8Array; heapBytes?: number; template?: ViewTemplate };

let view: PGlite | undefined;

/** PGlite's wasm, compiled; none when the package is not on disk (PGlite then loads its own). */
async function compiled(): Promise<Omit<ViewTemplate, "dataDir">> {
  const base = import.meta.resolve("@electric-sql/pglite");
  if (!base.startsWith("file:")) return {};
  const compile = async (name: string) =>
    await WebAssembly.compile(await Deno.readFile(new URL(`./${name}`, base)));
  const [pgliteWasmModule, initdbWasmModule] = await Promise.all([
    compile("pglite.wasm"),
    compile("initdb.wasm"),
  ]);
  return { pgliteWasmModule, initdbWasmModule };
}

/** An initialised database with the door's database created, and the wasm it ran. */
async function template(): Promise<ViewTemplate> {
  const modules = await compiled();
  const pg = await PGlite.create({ ...modules });
  try {
    await pg.exec(`CREATE DATABASE ${DATABASE}`);
    return {
      ...modules,
      dataDir: new Uint8Array(await (await pg.dumpDataDir("none")).arrayBuffer()),
    };
  } finally {
    await pg.close();
  }
}

/** Runs a simple query with raw messages; throws if Postgres answered an error. */
async function simple(pg: PGlite, sql: string): Promise<void> {
  const text = new TextEncoder().encode(sql + "\0");
  const msg = new Uint8Array(text.length + 5);
  msg[0] = 81; // 'Q'
  new DataView(msg.buffer).setInt32(1, text.length + 4);
  msg.set(text, 5);
  const reply = await pg.execProtocolRaw(msg);
  const data = new DataView(reply.buffer, reply.byteOffset, reply.byteLength);
  for (let at = 0; at < reply.length; at += 1 + data.getInt32(at + 1)) {
    if (reply[at] === 69) throw new Error(`catalog view: ${sql} failed`); // 'E'
  }
}

async function handle(req: Request): Promise<Reply> {
  switch (req.op) {
    case "template":
      return { template: await template() };
    case "open": {
      const { dataDir, ...modules } = req.template;
      const pg = await PGlite.create({
        ...modules,
        loadDataDir: new Blob([dataDir as Uint8Array<ArrayBuffer>]),
        database: DATABASE,
      });
      await pg.exec(req.ddl);
      await view?.close();
      view = pg;
      return {};
    }
    case "exchange": {
      const pg = view;
      if (!pg) throw new Error("the catalog view is not open");
      // The door times the statement from here.
      self.postMessage({ id: req.id, ok: true, started: true });
      // The statement can never change the view: a read-only transaction (the SELECT takes the
      // snapshot, after which read-write mode cannot be set) as a role that may only read,
      // always rolled back. Raw messages, as the statement's own are.
      await simple(pg, `BEGIN TRANSACTION READ ONLY; SET LOCAL ROLE ${READER}; SELECT 1`);
      let bytes: Uint8Array;
      try {
        bytes = await pg.execProtocolRaw(req.bytes);
      } finally {
        await simple(pg, "ROLLBACK");
      }
      // Wasm memory only grows: the door replaces a view that grew too large.
      const heap = (pg.Module as unknown as { HEAPU8: Uint8Array }).HEAPU8.byteLength;
      return { bytes, heapBytes: heap };
    }
  }
}

self.onmessage = async (event: MessageEvent<Request>) => {
  const { id } = event.data;
  try {
    const { bytes, ...rest } = await handle(event.data);
    // Copied, not transferred: PGlite's reply may be a view of its wasm memory.
    self.postMessage({ id, ok: true, ...(bytes ? { bytes: bytes.slice() } : {}), ...rest });
  } catch (err) {
    self.postMessage({ id, ok: false, error: String(err) });
  }
};
