/**
 * Serving an embedded PGlite catalog over the Postgres wire protocol, so that another process
 * (the admin CLI) can reach the local stack's in-memory catalog with a plain `DATABASE_URL`.
 *
 * @module
 */
import type { PGlite } from "@electric-sql/pglite";
import { PGLiteSocketServer } from "@electric-sql/pglite-socket";
import type { EmbeddedPglite } from "./db.ts";

/** Options of {@link serveCatalog}. */
export interface ServeCatalogOptions {
  /**
   * TCP port to listen on; `0` picks a free one (read it back from `url`).
   * @default 0
   */
  port?: number;
  /**
   * Interface to bind to.
   * @default "127.0.0.1"
   */
  host?: string;
}

/** A running catalog server. */
export interface CatalogServer {
  /** `postgres://postgres@<host>:<port>/postgres`: the `DATABASE_URL` other processes use. */
  url: string;
  /** The port it listens on. */
  port: number;
  /** Stops listening and drops client connections (the PGlite stays open). */
  stop(): Promise<void>;
}

/**
 * Serves a PGlite over TCP with `@electric-sql/pglite-socket`, while the in-process Drizzle keeps
 * using the same PGlite.
 *
 * PGlite has one session. pglite-socket serialises its clients' messages, but a client's
 * transaction spans several messages and PGlite's own `transaction()` spans several queries; so
 * that neither can slip statements into the other's transaction, socket messages are run under
 * PGlite's transaction lock, which is held from a client's `BEGIN` until its transaction ends.
 * A client idle inside a transaction therefore blocks the in-process catalog until it commits,
 * rolls back or disconnects (a disconnect rolls back). One client connection is accepted at a
 * time: open the catalog with `maxConnections: 1` on the client side.
 *
 * @example
 * ```ts ignore
 * import { openCatalog } from "./db.ts";
 * import { serveCatalog } from "./serve.ts";
 * const catalogDb = await openCatalog({});
 * const server = await serveCatalog(catalogDb.pglite!, { port: 0 });
 * console.log(`DATABASE_URL=${server.url}`);
 * await server.stop();
 * await catalogDb.close();
 * ```
 */
export async function serveCatalog(
  pglite: EmbeddedPglite,
  options: ServeCatalogOptions = {},
): Promise<CatalogServer> {
  const host = options.host ?? "127.0.0.1";
  const server = new PGLiteSocketServer({
    db: sessionGuard(pglite),
    port: options.port ?? 0,
    host,
    // pglite-socket interleaves the messages of concurrent clients, which breaks the extended
    // query protocol: one client connection at a time (clients should use a pool of 1).
    maxConnections: 1,
  });
  let port = options.port ?? 0;
  server.addEventListener("listening", (event) => {
    const detail = (event as CustomEvent<{ port?: number }>).detail;
    if (detail?.port) port = detail.port;
  });
  await server.start();
  return {
    url: `postgres://postgres@${host}:${port}/postgres`,
    port,
    stop: () => server.stop(),
  };
}

/**
 * The part of PGlite that pglite-socket uses, wrapped so that a socket client's messages run
 * under PGlite's transaction lock, held until the client is back at a protocol boundary (after a
 * `Sync` or a simple `Query`) and outside a transaction. Without it, the in-process Drizzle could
 * run statements between a client's `Parse` and `Execute`, or inside its transaction.
 */
function sessionGuard(pglite: EmbeddedPglite): PGlite {
  let release: (() => void) | null = null;
  let acquiring: Promise<void> | null = null;
  let atBoundary = true;
  // The client's transaction status, from the last ReadyForQuery the server sent it (a worker's
  // PGlite does not report its own).
  let inTransaction = false;
  const watchStatus = (data: Uint8Array) => {
    const at = data.length - 6;
    if (at >= 0 && data[at] === 0x5a /* Z */ && data[at + 4] === 5) {
      inTransaction = data[at + 5] !== 0x49; /* I: idle */
    }
  };

  const hold = async () => {
    while (!release) {
      acquiring ??= new Promise<void>((acquired) => {
        void pglite._runExclusiveTransaction(() =>
          new Promise<void>((done) => {
            release = done;
            acquiring = null;
            acquired();
          })
        );
      });
      await acquiring;
    }
  };
  const letGo = () => {
    if (!release || !atBoundary || inTransaction) return;
    const done = release;
    release = null;
    done();
  };
  const guarded = async <T>(fn: () => Promise<T>): Promise<T> => {
    await hold();
    try {
      return await pglite.runExclusive(fn);
    } finally {
      letGo();
    }
  };
  const guard = {
    get waitReady() {
      return pglite.waitReady;
    },
    isInTransaction: () => inTransaction,
    runExclusive: guarded,
    // The answer is passed on whole: a worker's PGlite cannot call back across threads.
    execProtocolRawStream: async (
      message: Uint8Array,
      options: { onRawData: (data: Uint8Array) => void },
    ) => {
      atBoundary = isBoundary(message);
      const answer = await pglite.execProtocolRaw(message);
      watchStatus(answer);
      options.onRawData(answer);
    },
    // pglite-socket calls exec("ROLLBACK") when a client disconnects inside a transaction; the
    // guard holds the transaction lock then, so run it as a raw simple query, not PGlite.exec.
    exec: (query: string) =>
      guarded(async () => {
        atBoundary = true;
        const answer = await pglite.execProtocolRaw(simpleQuery(query));
        watchStatus(answer);
        return answer;
      }),
  };
  return guard as unknown as PGlite;
}

/**
 * Whether the server is ready for a new query after this client message: a `Sync`, a simple
 * `Query`, a `Terminate`, or an untyped startup/SSL message (its first byte is a length byte, 0).
 */
function isBoundary(message: Uint8Array): boolean {
  const type = message[0];
  return type === 0x53 /* S */ || type === 0x51 /* Q */ || type === 0x58 /* X */ || type === 0;
}

/** A wire-protocol simple Query message. */
function simpleQuery(query: string): Uint8Array {
  const text = new TextEncoder().encode(query);
  const message = new Uint8Array(1 + 4 + text.length + 1);
  message[0] = 0x51; // 'Q'
  new DataView(message.buffer).setInt32(1, 4 + text.length + 1);
  message.set(text, 5);
  return message;
}
