/**
 * The process hosting ONE catalog view's PGlite database (see `catalog_view.ts`). PGlite's
 * initdb and queries run wasm on the calling thread, so they live off the door's process; one
 * view per process means a statement stopped by killing its process ends nothing else, and no
 * statement ever waits behind another view's. A process, not a worker: a worker busy in wasm
 * keeps running (and a core busy) after `terminate()`; a killed process is gone.
 *
 * Frames (`../../frames.ts`) in, one at a time: `{ id, op: "template" }` (answers an initialised
 * data directory with the door's database created, as its blob), `{ id, op: "open", ddl }` with
 * the data directory as its blob, `{ id, op: "exchange" }` with the statement's messages as its
 * blob. Frames out: `{ id, ok: true, started: true }` when an exchange starts running, then
 * `{ id, ok: true, rssBytes? }` (with the reply's messages or the data directory as its blob)
 * or `{ id, ok: false, error }`.
 *
 * @module
 */
import { PGlite } from "@electric-sql/pglite";
import { encodeFrame, FrameReader } from "../../frames.ts";

/** The database name the door serves (see `catalog_view.ts`). */
const DATABASE = "omnisql";
/** The role statements run as (created by `viewDdl` in `catalog_view.ts`). */
const READER = "omnisql_reader";
/**
 * The largest reply a statement may send back: the views hold only the user's empty tables, so
 * more is a statement making data up (`'x'::char(10485760)`), not introspection.
 */
export const MAX_REPLY_BYTES = 8 * 2 ** 20;

/** A request to a view's process. */
export type ViewRequest =
  | { id: number; op: "template" }
  | { id: number; op: "open"; ddl: string }
  | { id: number; op: "exchange" };

/** A reply of a view's process. */
export interface ViewReply {
  id: number;
  ok: boolean;
  started?: boolean;
  /** The process's resident memory after an exchange. */
  rssBytes?: number;
  error?: string;
}

let view: PGlite | undefined;

/** An initialised database with the door's database created, dumped. */
async function template(): Promise<Uint8Array> {
  const pg = await PGlite.create();
  try {
    await pg.exec(`CREATE DATABASE ${DATABASE}`);
    return new Uint8Array(await (await pg.dumpDataDir("gzip")).arrayBuffer());
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

async function handle(
  req: ViewRequest,
  blob: Uint8Array | undefined,
  send: (reply: ViewReply, blob?: Uint8Array) => Promise<void>,
): Promise<{ rssBytes?: number; blob?: Uint8Array }> {
  switch (req.op) {
    case "template":
      return { blob: await template() };
    case "open": {
      const pg = await PGlite.create({
        loadDataDir: new Blob([blob as Uint8Array<ArrayBuffer>]),
        database: DATABASE,
      });
      await pg.exec(req.ddl);
      await view?.close();
      view = pg;
      return {};
    }
    case "exchange": {
      const pg = view;
      if (!pg || !blob) throw new Error("the catalog view is not open");
      // The door times the statement from here.
      await send({ id: req.id, ok: true, started: true });
      // The statement can never change the view: a read-only transaction (the SELECT takes the
      // snapshot, after which read-write mode cannot be set) as a role that may only read,
      // always rolled back. Raw messages, as the statement's own are.
      await simple(pg, `BEGIN TRANSACTION READ ONLY; SET LOCAL ROLE ${READER}; SELECT 1`);
      let bytes: Uint8Array;
      try {
        bytes = await pg.execProtocolRaw(blob);
      } finally {
        await simple(pg, "ROLLBACK");
      }
      // Wasm memory only grows, and the JS heap rarely gives back what a large reply took: the
      // door replaces a view whose resident memory grew too large.
      const rssBytes = Deno.memoryUsage().rss;
      if (bytes.byteLength > MAX_REPLY_BYTES) {
        return { blob: tooLarge(bytes.byteLength), rssBytes };
      }
      return { blob: bytes, rssBytes };
    }
  }
}

/** An ErrorResponse (54000) and ReadyForQuery in place of a reply too large to send. */
function tooLarge(size: number): Uint8Array {
  const text = new TextEncoder().encode(
    "SERROR\0VERROR\0C54000\0M" +
      `the catalog statement's answer (${size} bytes) exceeds ${MAX_REPLY_BYTES} bytes\0\0`,
  );
  const out = new Uint8Array(5 + text.length + 6);
  const data = new DataView(out.buffer);
  out[0] = 69; // 'E'
  data.setInt32(1, 4 + text.length);
  out.set(text, 5);
  out[5 + text.length] = 90; // 'Z'
  data.setInt32(6 + text.length, 5);
  out[10 + text.length] = 73; // 'I'
  return out;
}

async function serve(): Promise<void> {
  const out = Deno.stdout;
  const send = async (reply: ViewReply, blob?: Uint8Array) => {
    const bytes = encodeFrame(reply, blob ? [blob] : []);
    let written = 0;
    while (written < bytes.byteLength) written += await out.write(bytes.subarray(written));
  };
  const requests = new FrameReader<ViewRequest>(Deno.stdin.readable);
  for (;;) {
    const frame = await requests.next();
    if (!frame) return; // the door closed our stdin: leave quietly
    const { id } = frame.header;
    try {
      const { blob, rssBytes } = await handle(frame.header, frame.blobs[0], send);
      await send({ id, ok: true, ...(rssBytes === undefined ? {} : { rssBytes }) }, blob);
    } catch (err) {
      await send({ id, ok: false, error: String(err) });
    }
  }
}

if (import.meta.main) await serve();
