/**
 * Serving an embedded PGlite catalog over the Postgres wire protocol, so that another process
 * (the admin CLI) can reach the local stack's in-memory catalog with a plain `DATABASE_URL`.
 *
 * @module
 */
import type { PGlite } from "@electric-sql/pglite";
import { PGLiteSocketServer } from "@electric-sql/pglite-socket";

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
  pglite: PGlite,
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
function sessionGuard(pglite: PGlite): PGlite {
  let release: (() => void) | null = null;
  let acquiring: Promise<void> | null = null;
  let atBoundary = true;

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
    if (!release || !atBoundary || pglite.isInTransaction()) return;
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
    isInTransaction: () => pglite.isInTransaction(),
    runExclusive: guarded,
    execProtocolRawStream: (...args: Parameters<PGlite["execProtocolRawStream"]>) => {
      atBoundary = isBoundary(args[0]);
      return pglite.execProtocolRawStream(...args);
    },
    // pglite-socket calls exec("ROLLBACK") when a client disconnects inside a transaction; the
    // guard holds the transaction lock then, so run it as a raw simple query, not PGlite.exec.
    exec: (query: string) =>
      guarded(() => {
        atBoundary = true;
        return pglite.execProtocolRaw(simpleQuery(query));
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
