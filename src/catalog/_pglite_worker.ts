/**
 * The worker thread that hosts an embedded PGlite for `ThreadedPglite` (`openCatalog({ pgliteInWorker: true })`): Postgres-in-WebAssembly runs each statement
 * synchronously, so on the thread that answers HTTP every catalog write (an audit batch, above
 * all) would stall every request meanwhile.
 *
 * One request, one reply. A transaction or a lock is held by a promise that the main thread's
 * `end` or `unlock` settles; PGlite's own locks order everything else behind it.
 *
 * @module
 */
/// <reference lib="deno.worker" />
import { PGlite, type Transaction } from "@electric-sql/pglite";
import { type HostReply, type HostRequest, serializeError, textParsers } from "./pglite_thread.ts";

let db: PGlite | undefined;
let nextHandle = 1;
const transactions = new Map<
  number,
  { tx: Transaction; end(commit: boolean): void; done: Promise<void> }
>();
const locks = new Map<number, () => void>();
/** Thrown inside a transaction the main thread rolls back. */
const ROLLBACK = new Error("rolled back by its caller");

function open(): PGlite {
  if (!db) throw new Error("the catalog's PGlite is not open");
  return db;
}

function executor(tx: number | undefined): PGlite | Transaction {
  if (tx === undefined) return open();
  const held = transactions.get(tx);
  if (!held) throw new Error(`transaction ${tx} is over`);
  return held.tx;
}

/** Starts a transaction and resolves with its handle once its callback runs. */
function begin(): Promise<number> {
  return new Promise((started, failed) => {
    const handle = nextHandle++;
    let entered = false;
    const done = open().transaction((tx) =>
      new Promise<void>((commit, rollback) => {
        entered = true;
        transactions.set(handle, {
          tx,
          end: (ok) => ok ? commit() : rollback(ROLLBACK),
          done: done.catch((err) => {
            if (err !== ROLLBACK) throw err;
          }),
        });
        started(handle);
      })
    );
    done.catch((err) => {
      if (!entered) failed(err);
    });
  });
}

/** Ends a transaction; resolves once PGlite committed or rolled back. */
async function end(handle: number, commit: boolean): Promise<void> {
  const held = transactions.get(handle);
  if (!held) throw new Error(`transaction ${handle} is over`);
  transactions.delete(handle);
  held.end(commit);
  await held.done;
}

function lock(kind: "query" | "transaction"): Promise<number> {
  return new Promise((held) => {
    const handle = nextHandle++;
    const hold = () =>
      new Promise<void>((release) => {
        locks.set(handle, release);
        held(handle);
      });
    void (kind === "query" ? open().runExclusive(hold) : open()._runExclusiveTransaction(hold));
  });
}

async function handle(request: HostRequest): Promise<unknown> {
  switch (request.op) {
    case "open": {
      const { dataDir, loadDataDir } = request.options;
      db = await PGlite.create({
        dataDir,
        loadDataDir: loadDataDir ? new Blob([loadDataDir]) : undefined,
      });
      return undefined;
    }
    case "query":
      return await executor(request.tx).query(request.sql, request.params, {
        rowMode: request.rowMode,
        parsers: textParsers(request.rawTypes),
      });
    case "exec":
      return await executor(request.tx).exec(request.sql);
    case "begin":
      return await begin();
    case "end":
      return await end(request.tx, request.commit);
    case "lock":
      return await lock(request.kind);
    case "unlock":
      locks.get(request.lock)?.();
      locks.delete(request.lock);
      return undefined;
    case "raw":
      return await open().execProtocolRaw(request.bytes);
    case "dump":
      return new Uint8Array(await (await open().dumpDataDir("none")).arrayBuffer());
    case "close":
      if (db && !db.closed) await db.close();
      return undefined;
  }
}

self.onmessage = async (event: MessageEvent<HostRequest>) => {
  const request = event.data;
  let reply: HostReply;
  try {
    reply = { id: request.id, ok: true, value: await handle(request) };
  } catch (err) {
    reply = { id: request.id, ok: false, error: serializeError(err) };
  }
  self.postMessage(reply);
};
