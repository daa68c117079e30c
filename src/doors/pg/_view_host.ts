/**
 * The worker that hosts the catalog views' PGlite databases. PGlite's initdb and queries run
 * wasm on the calling thread (initdb blocks for seconds), so they live here, off the thread
 * that serves HTTP and the wire protocol.
 *
 * Messages in: `{ id, op: "warm" }`, `{ id, op: "open", view, ddl, maxHeapBytes }`,
 * `{ id, op: "exchange", view, bytes }`, `{ id, op: "close", view }`.
 * Messages out: `{ id, ok: true, started: true }` when an exchange starts running, then
 * `{ id, ok: true, bytes? }` or `{ id, ok: false, error }`.
 *
 * @module
 */
/// <reference lib="deno.worker" />
import { PGlite } from "@electric-sql/pglite";

/** The database name the door serves (see `catalog_view.ts`). */
const DATABASE = "omnisql";
/** The role statements run as (created by `viewDdl` in `catalog_view.ts`). */
const READER = "omnisql_reader";

type Request =
  | { id: number; op: "warm" }
  | { id: number; op: "open"; view: string; ddl: string; maxHeapBytes: number }
  | { id: number; op: "exchange"; view: string; bytes: Uint8Array }
  | { id: number; op: "close"; view: string };

let template: Promise<Blob> | undefined;
const views = new Map<string, Promise<PGlite>>();
const specs = new Map<string, { ddl: string; maxHeapBytes: number }>();

function start(ddl: string): Promise<PGlite> {
  return (async () => {
    const pg = await PGlite.create({ loadDataDir: await snapshot(), database: DATABASE });
    await pg.exec(ddl);
    return pg;
  })();
}

/**
 * Wasm memory only grows: a statement that allocated a lot leaves its view that large. A view
 * grown past its limit is replaced by a fresh one (~0.6 s), which returns the memory.
 */
function recycleIfGrown(view: string, pg: PGlite): void {
  const spec = specs.get(view);
  const heap = (pg.Module as unknown as { HEAPU8: Uint8Array }).HEAPU8.byteLength;
  if (!spec || heap <= spec.maxHeapBytes) return;
  const fresh = pg.close().catch(() => undefined).then(() => start(spec.ddl));
  views.set(view, fresh);
  fresh.catch(() => views.get(view) === fresh && views.delete(view));
}

function snapshot(): Promise<Blob> {
  template ??= (async () => {
    const pg = await PGlite.create();
    try {
      await pg.exec(`CREATE DATABASE ${DATABASE}`);
      return await pg.dumpDataDir("none");
    } finally {
      await pg.close();
    }
  })();
  return template;
}

/** Runs a simple query with raw messages; throws if Postgres answered an error. */
async function simple(pg: PGlite, sql: string): Promise<void> {
  const text = new TextEncoder().encode(sql + "\0");
  const msg = new Uint8Array(text.length + 5);
  msg[0] = 81; // 'Q'
  new DataView(msg.buffer).setInt32(1, text.length + 4);
  msg.set(text, 5);
  const reply = await pg.execProtocolRaw(msg);
  const view = new DataView(reply.buffer, reply.byteOffset, reply.byteLength);
  for (let at = 0; at < reply.length; at += 1 + view.getInt32(at + 1)) {
    if (reply[at] === 69) throw new Error(`catalog view: ${sql} failed`); // 'E'
  }
}

async function handle(req: Request): Promise<Uint8Array | undefined> {
  switch (req.op) {
    case "warm":
      await snapshot();
      return;
    case "open": {
      specs.set(req.view, { ddl: req.ddl, maxHeapBytes: req.maxHeapBytes });
      const opening = start(req.ddl);
      views.set(req.view, opening);
      await opening.catch((err) => {
        views.delete(req.view);
        throw err;
      });
      return;
    }
    case "exchange": {
      const pg = await views.get(req.view);
      if (!pg) throw new Error(`no catalog view ${req.view}`);
      const reply = await pg.runExclusive(async () => {
        // The door times the statement from here (it may have queued behind others).
        self.postMessage({ id: req.id, ok: true, started: true });
        // The statement can never change the view: a read-only transaction (the SELECT takes
        // the snapshot, after which read-write mode cannot be set) as a role that may only
        // read, always rolled back. Raw messages: `exec` would wait for this very lock.
        await simple(pg, `BEGIN TRANSACTION READ ONLY; SET LOCAL ROLE ${READER}; SELECT 1`);
        try {
          return await pg.execProtocolRaw(req.bytes);
        } finally {
          await simple(pg, "ROLLBACK");
        }
      });
      recycleIfGrown(req.view, pg);
      return reply;
    }
    case "close": {
      const pg = await views.get(req.view)?.catch(() => undefined);
      views.delete(req.view);
      specs.delete(req.view);
      await pg?.close();
      return;
    }
  }
}

self.onmessage = async (event: MessageEvent<Request>) => {
  const { id } = event.data;
  try {
    const bytes = await handle(event.data);
    // Copied, not transferred: PGlite's reply may be a view of its wasm memory.
    self.postMessage({ id, ok: true, ...(bytes ? { bytes: bytes.slice() } : {}) });
  } catch (err) {
    self.postMessage({ id, ok: false, error: String(err) });
  }
};
