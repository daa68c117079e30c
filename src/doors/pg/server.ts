/**
 * The Postgres wire-protocol door: a TCP server BI tools, `psql` and drivers connect to.
 * `pg-gateway` does start-up and password authentication on a `node:net` socket (it runs under
 * Deno only there); this module adds what it lacks or gets wrong under Deno: the SSLRequest
 * upgrade (its own upgrade hangs under Deno 2.9; a `tls.Server` fed the socket works), cancel
 * requests, a message loop that slices pipelined messages correctly, and a start-up that sends
 * every ParameterStatus and the cancel key before ReadyForQuery, in one write.
 *
 * User name = the user's e-mail, password = their token: verified by the pipeline itself
 * (`GET /v1/whoami` and `GET /v1/catalog` in-process with the token as bearer); a wrong or
 * expired token, or one naming another user, is SQLSTATE 28P01 and never a session.
 *
 * @module
 */
import { createServer, type Server, type Socket } from "node:net";
import { createServer as createTlsServer, type TLSSocket } from "node:tls";
import { Buffer } from "node:buffer";
import { PostgresConnection } from "pg-gateway";
import { type CatalogTable, type Gateway, userCatalog } from "../gateway.ts";
import { CatalogViews } from "./catalog_view.ts";
import { BackendBatch } from "./protocol.ts";
import { PgSession } from "./session.ts";
import { ConnectionSlots, type Slot } from "./slots.ts";
import { processLog } from "../../telemetry/log.ts";
import { MAX_BODY_BYTES } from "../../query/request.ts";

/** Options of {@link startPgDoor}. */
export interface PgDoorOptions {
  gateway: Gateway;
  /** 0 picks a free port. */
  port: number;
  /** @default "127.0.0.1" */
  hostname?: string;
  /** PEM key and certificate: clients may (and, unless `plaintext` allows, must) use TLS. */
  tls?: { key: string; cert: string };
  /**
   * Who may connect without TLS: `loopback` (the local stack), or `never` (production).
   * @default "never" with a certificate, "loopback" without one
   */
  plaintext?: "loopback" | "never";
  /** The users' catalog views. @default a fresh set */
  views?: CatalogViews;
  /**
   * Connections at once (as Postgres's `max_connections`). When all are taken, a new one closes
   * the oldest still signing in, or is refused with SQLSTATE 53300 if every one is signed in.
   * @default 256
   */
  maxConnections?: number;
  /** Signed-in sessions of one tenant at once (53300 beyond). @default half of maxConnections */
  maxConnectionsPerTenant?: number;
  /** Signed-in sessions of one user at once (53300 beyond). @default a quarter of maxConnections */
  maxConnectionsPerUser?: number;
  /**
   * A client has this long from connecting to be signed in (TLS handshake, start-up, password),
   * then the connection is closed (as Postgres's `authentication_timeout`). @default 60_000
   */
  loginTimeoutMs?: number;
}

/** A running door. */
export interface PgDoor {
  port: number;
  views: CatalogViews;
  close(): Promise<void>;
}

const SSL_REQUEST = 80877103;
const CANCEL_REQUEST = 80877102;
const GSSENC_REQUEST = 80877104;
const TERMINATE = "X".charCodeAt(0);
const PASSWORD = "p".charCodeAt(0);

/** Postgres's own bound on a start-up packet (`MAX_STARTUP_PACKET_LENGTH`). */
const MAX_STARTUP_BYTES = 10_000;
/** Before login the only message is the password: a token. */
const MAX_LOGIN_MESSAGE_BYTES = 64 * 1024;
/** After login: a statement with its parameters, bounded as the HTTP door bounds a body. */
const MAX_MESSAGE_BYTES = MAX_BODY_BYTES;
/** Bytes received but not yet handled past which the door stops reading (TCP pushes back). */
const MAX_UNREAD_BYTES = 2 * MAX_MESSAGE_BYTES;
/**
 * Replies not yet taken by a client past which the door handles its next message only once they
 * are: a client that sends without reading is held back, as a Postgres backend blocks on send.
 */
const MAX_UNSENT_BYTES = 1_000_000;

/**
 * Starts the door.
 *
 * @example
 * ```ts ignore
 * const door = await startPgDoor({ gateway: appGateway(edgeApp.fetch), port: 5433 });
 * // psql "host=127.0.0.1 port=5433 user=dev@acme dbname=omnisql" with the token as password
 * await door.close();
 * ```
 */
export async function startPgDoor(options: PgDoorOptions): Promise<PgDoor> {
  const plaintext = options.plaintext ?? (options.tls ? "never" : "loopback");
  const views = options.views ?? new CatalogViews();
  const sessions = new Map<number, { secret: number; session: PgSession }>();
  const sockets = new Set<Socket>();
  const maxConnections = options.maxConnections ?? 256;
  const slots = new ConnectionSlots({
    total: maxConnections,
    perTenant: options.maxConnectionsPerTenant ?? Math.ceil(maxConnections / 2),
    perUser: options.maxConnectionsPerUser ?? Math.ceil(maxConnections / 4),
  });
  /** The slot of each TCP connection (a TLS socket's is its parent's). */
  const slotOf = new WeakMap<Socket, Slot>();
  const loginTimeoutMs = options.loginTimeoutMs ?? 60_000;
  const tlsServer = options.tls
    ? createTlsServer({
      key: options.tls.key,
      cert: options.tls.cert,
      handshakeTimeout: loginTimeoutMs,
    })
    : undefined;

  const accept = (socket: Socket | TLSSocket, slot: Slot, secure: boolean, first?: Buffer) => {
    const remote = socket.remoteAddress ?? "";
    if (!secure && plaintext === "never" || !secure && !isLoopback(remote)) {
      refuse(socket, "28000", "this server requires TLS (connect with sslmode=require)");
      return;
    }
    const connection = new DoorConnection(
      socket as Socket,
      secure,
      options.gateway,
      views,
      sessions,
      loginTimeoutMs,
      slot,
    );
    if (first) void connection.handleData(first);
  };

  const server: Server = createServer((socket) => {
    socket.on("error", () => socket.destroy());
    const slot = slots.connect(() => socket.destroy(), socket.remoteAddress ?? "");
    if (!slot) {
      refuse(socket, "53300", "sorry, too many clients already");
      return;
    }
    slotOf.set(socket, slot);
    sockets.add(socket);
    socket.on("close", () => {
      sockets.delete(socket);
      slot.release();
    });
    socket.setNoDelay(true);
    // Until the first message tells plaintext from TLS; then the connection's own deadline, or
    // the TLS handshake's, takes over.
    const silent = setTimeout(() => socket.destroy(), loginTimeoutMs);
    socket.once("close", () => clearTimeout(silent));
    const opening = (first: Buffer) => {
      const code = first.length >= 8 ? first.readInt32BE(4) : 0;
      if (code === CANCEL_REQUEST && first.length >= 16) {
        const entry = sessions.get(first.readInt32BE(8));
        if (entry && entry.secret === first.readInt32BE(12)) entry.session.cancel();
        socket.end();
      } else if (code === SSL_REQUEST && tlsServer) {
        clearTimeout(silent);
        socket.write("S");
        tlsServer.emit("connection", socket);
      } else if (code === SSL_REQUEST || code === GSSENC_REQUEST) {
        socket.write("N");
        socket.once("data", opening);
      } else {
        clearTimeout(silent);
        accept(socket, slot, false, first);
      }
    };
    socket.once("data", opening);
  });
  // Node closes a socket whose handshake failed or outran `handshakeTimeout`; Deno only reports it.
  tlsServer?.on("tlsClientError", (_err: Error, tlsSocket: TLSSocket) => tlsSocket.destroy());
  tlsServer?.on("secureConnection", (tlsSocket: TLSSocket) => {
    tlsSocket.on("error", () => tlsSocket.destroy());
    // Node's (and Deno's) TLS socket keeps the socket it wraps as `_parent`.
    const parent = (tlsSocket as TLSSocket & { _parent?: Socket })._parent;
    const slot = parent && slotOf.get(parent);
    if (!slot) {
      refuse(tlsSocket, "08006", "the connection's TLS socket is not the door's");
      return;
    }
    accept(tlsSocket, slot, true);
  });

  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port, options.hostname ?? "127.0.0.1", () => resolve());
  });
  const address = server.address();
  const port = typeof address === "object" && address ? address.port : options.port;
  return {
    port,
    views,
    close: async () => {
      for (const { session } of sessions.values()) await session.close();
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await views.close();
    },
  };
}

/** Sends a FATAL error and closes: nothing more is read from the client. */
function refuse(socket: Socket, code: string, message: string): void {
  socket.pause();
  socket.end(
    new BackendBatch().error({ severity: "FATAL", code, message }).take(),
    () => socket.destroy(),
  );
}

function isLoopback(address: string): boolean {
  return address === "127.0.0.1" || address === "::1" || address === "::ffff:127.0.0.1";
}

/** A user whose token the pipeline accepted. */
interface Login {
  token: string;
  user: string;
  tenant: string;
  tables: CatalogTable[];
}

/** pg-gateway's connection, with the door's login, message loop and sessions. */
class DoorConnection extends PostgresConnection {
  #pending: Buffer<ArrayBufferLike> = Buffer.alloc(0);
  #chain: Promise<void> = Promise.resolve();
  #login?: Login;
  #session?: PgSession;
  #key = { pid: 0, secret: 0 };
  /** Bytes received and not yet cut into messages. */
  #unread = 0;
  /** Refused or terminated: nothing more is read. */
  #ended = false;
  readonly #loginDeadline: ReturnType<typeof setTimeout>;

  constructor(
    socket: Socket,
    readonly secure: boolean,
    readonly gateway: Gateway,
    readonly views: CatalogViews,
    readonly sessions: Map<number, { secret: number; session: PgSession }>,
    loginTimeoutMs: number,
    readonly slot: Slot,
  ) {
    super(socket, {
      authMode: "cleartextPassword",
      validateCredentials: async (credentials) => {
        if (credentials.authMode !== "cleartextPassword") return false;
        this.#login = await verifyLogin(gateway, credentials.user, credentials.password);
        return this.#login !== undefined;
      },
    });
    this.#loginDeadline = setTimeout(
      () => this.#refuse("08006", `no login within ${loginTimeoutMs} ms`),
      loginTimeoutMs,
    );
    socket.on("close", () => {
      // Messages read but not handled yet are dropped: nobody is there to answer.
      this.#ended = true;
      clearTimeout(this.#loginDeadline);
      this.sessions.delete(this.#key.pid);
      void this.#session?.close();
    });
  }

  #refuse(code: string, message: string): void {
    this.#ended = true;
    this.#pending = Buffer.alloc(0);
    refuse(this.socket, code, message);
  }

  /** Resolves when the client has taken enough of the replies (or is gone). */
  #sent(): Promise<void> {
    if (this.socket.writableLength <= MAX_UNSENT_BYTES) return Promise.resolve();
    return new Promise((resolve) => {
      const done = () => {
        this.socket.off("drain", done);
        this.socket.off("close", done);
        resolve();
      };
      this.socket.on("drain", done);
      this.socket.on("close", done);
    });
  }

  /** A message may be this long at this point of the connection. */
  get #maxLength(): number {
    if (!this.hasStarted) return MAX_STARTUP_BYTES;
    return this.isAuthenticated ? MAX_MESSAGE_BYTES : MAX_LOGIN_MESSAGE_BYTES;
  }

  /**
   * pg-gateway's loop slices a second message of one chunk wrongly (`subarray(s, h)`) and can
   * interleave chunks; this one cuts every complete message and handles them strictly in order.
   * A message longer than the door takes is refused from its length, before its body is read
   * (08P01, or 54000 for a statement), and the door stops reading while much is unhandled.
   */
  override handleData(data: Buffer): Promise<void> {
    if (this.#ended) return this.#chain;
    this.#unread += data.length;
    if (this.#unread > MAX_UNREAD_BYTES) this.socket.pause();
    this.#chain = this.#chain.then(async () => {
      this.#unread -= data.length;
      if (this.#ended) return;
      this.#pending = this.#pending.length ? Buffer.concat([this.#pending, data]) : data;
      let at = 0;
      for (;;) {
        if (this.#ended) return;
        const head = this.hasStarted ? 1 : 0;
        if (this.#pending.length - at < head + 4) break;
        const declared = this.#pending.readUInt32BE(at + head);
        if (declared < 4 || declared > this.#maxLength) {
          const statement = this.isAuthenticated && declared >= 4;
          return this.#refuse(
            statement ? "54000" : "08P01",
            statement
              ? `message of ${declared} bytes exceeds the door's limit of ${MAX_MESSAGE_BYTES}`
              : `invalid ${this.hasStarted ? "message" : "startup packet"} length`,
          );
        }
        const length = head + declared;
        if (this.#pending.length - at < length) break;
        const message = this.#pending.subarray(at, at + length);
        at += length;
        if (!this.isAuthenticated && this.hasStarted && message[0] !== PASSWORD) {
          return this.#refuse("08P01", "expected a password message");
        } else if (!this.isAuthenticated) await this.handleMessage(message);
        else if (message[0] === TERMINATE) {
          this.#ended = true;
          await this.#session?.close();
          this.socket.end();
          return;
        } else {
          await this.#session?.receive(message.slice());
          await this.#sent();
        }
      }
      this.#pending = this.#pending.subarray(at);
      if (this.#unread <= MAX_UNREAD_BYTES && !this.#ended) this.socket.resume();
    }).catch((err) => {
      processLog.error("postgres door: connection dropped", { error: String(err) });
      this.socket.destroy();
    });
    return this.#chain;
  }

  /** AuthenticationOk, every ParameterStatus, the cancel key, ReadyForQuery: one write. */
  override completeAuthentication(): Promise<void> {
    const login = this.#login!;
    clearTimeout(this.#loginDeadline);
    const full = this.slot.signIn(login.tenant, login.user);
    if (full) {
      this.#refuse("53300", full);
      return Promise.resolve();
    }
    this.isAuthenticated = true;
    this.#session = new PgSession({
      gateway: this.gateway,
      views: this.views,
      token: login.token,
      user: login.user,
      tenant: login.tenant,
      tables: login.tables,
      startup: this.clientInfo?.parameters ?? { user: login.user },
      secure: this.secure,
      send: (bytes) => this.socket.write(bytes),
    });
    const random = new Int32Array(2);
    crypto.getRandomValues(random);
    this.#key = { pid: Math.abs(random[0]) || 1, secret: random[1] };
    this.sessions.set(this.#key.pid, { secret: this.#key.secret, session: this.#session });
    const batch = new BackendBatch().message("R", (w) => w.int32(0));
    this.#session.greet(batch);
    batch.backendKeyData(this.#key.pid, this.#key.secret).readyForQuery("I");
    this.socket.write(batch.take());
    // The view answers the first catalog query sooner when it starts while the client settles.
    return Promise.resolve();
  }
}

/** The pipeline's verdict on a user name and token: the login, or undefined (28P01). */
async function verifyLogin(
  gateway: Gateway,
  user: string,
  token: string,
): Promise<Login | undefined> {
  if (!token) return undefined;
  const who = await gateway({ door: "pg", token, method: "GET", path: "/v1/whoami" })
    .catch(() => undefined);
  const body = who?.body as { user?: unknown; tenant?: unknown } | null;
  const sub = body?.user;
  const tenant = body?.tenant;
  if (who?.status !== 200 || typeof sub !== "string" || typeof tenant !== "string") {
    return undefined;
  }
  if (sub.toLowerCase() !== user.toLowerCase()) return undefined;
  const tables = await userCatalog(gateway, "pg", token).catch(() => undefined);
  return tables ? { token, user: sub, tenant, tables } : undefined;
}
