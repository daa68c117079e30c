/**
 * The worker that hosts the catalog views' PGlite databases. PGlite's initdb and queries run
 * wasm on the calling thread (initdb blocks for seconds), so they live here, off the thread
 * that serves HTTP and the wire protocol.
 *
 * Messages in: `{ id, op: "warm" }`, `{ id, op: "open", view, ddl }`,
 * `{ id, op: "exchange", view, bytes }`, `{ id, op: "close", view }`.
 * Messages out: `{ id, ok: true, bytes? }` or `{ id, ok: false, error }`.
 *
 * @module
 */
/// <reference lib="deno.worker" />
import { PGlite } from "@electric-sql/pglite";

/** The database name the door serves (see `catalog_view.ts`). */
const DATABASE = "omnisql";

type Request =
  | { id: number; op: "warm" }
  | { id: number; op: "open"; view: string; ddl: string }
  | { id: number; op: "exchange"; view: string; bytes: Uint8Array }
  | { id: number; op: "close"; view: string };

let template: Promise<Blob> | undefined;
const views = new Map<string, Promise<PGlite>>();

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

async function handle(req: Request): Promise<Uint8Array | undefined> {
  switch (req.op) {
    case "warm":
      await snapshot();
      return;
    case "open": {
      const opening = (async () => {
        const pg = await PGlite.create({ loadDataDir: await snapshot(), database: DATABASE });
        await pg.exec(req.ddl);
        return pg;
      })();
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
      return await pg.runExclusive(() => pg.execProtocolRaw(req.bytes));
    }
    case "close": {
      const pg = await views.get(req.view)?.catch(() => undefined);
      views.delete(req.view);
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
