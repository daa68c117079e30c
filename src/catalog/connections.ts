/**
 * Connections in the catalog: a tenant's configured sources (connector, URL, config), with
 * credentials encrypted under the tenant's data key and decrypted only for the query path.
 *
 * @module
 */
import { and, asc, eq } from "drizzle-orm";
import type { Connection } from "../../connectors/sdk/table.ts";
import { CryptoError, type KeyRing } from "../crypto/mod.ts";
import { OmniError } from "../errors.ts";
import type { CatalogDatabase } from "./db.ts";
import { type ConnectionRow, connections } from "./schema.ts";
import type { ReadCache } from "./_read_cache.ts";

/** A connection to add; credentials are encrypted with the tenant's key before storage. */
export interface ConnectionInput {
  tenantId: string;
  /** Connector id, e.g. `github`. */
  connector: string;
  /** Schema name in SQL, unique per tenant. */
  name: string;
  baseUrl: string;
  credentials: Record<string, string>;
  /** @default {} */
  config?: Record<string, unknown>;
  /** @default a random UUID */
  id?: string;
}

/** A connection without its credentials: safe to show to admins and to log. */
export type PublicConnection = Omit<Connection, "credentials"> & { createdAt: Date };

/**
 * The catalog's connections. The query path's list goes through the catalog's read memo; writes
 * clear it.
 *
 * @example
 * ```ts ignore
 * // Needs an open catalog: `Catalog`'s example in store.ts runs one.
 * const store = new ConnectionStore(db, keyRing, reads);
 * await store.add({ tenantId: "acme", connector: "github", name: "github", baseUrl, credentials });
 * ```
 */
export class ConnectionStore {
  constructor(
    private readonly db: CatalogDatabase,
    private readonly keyRing: KeyRing,
    private readonly reads: ReadCache,
  ) {}

  /** Adds a connection; `INVALID_REQUEST` when the tenant already has one of that name. */
  add(input: ConnectionInput): Promise<PublicConnection> {
    return this.reads.write(async () => {
      const [row] = await this.db.insert(connections).values(await this.#row(input))
        .onConflictDoNothing()
        .returning();
      if (!row) {
        throw new OmniError(
          "INVALID_REQUEST",
          `tenant ${input.tenantId} already has a connection named ${input.name}`,
        );
      }
      return toPublic(row);
    });
  }

  /**
   * Adds the connection, or replaces the connector, URL, credentials and config of the tenant's
   * connection of that name (keeping its id).
   */
  put(input: ConnectionInput): Promise<PublicConnection> {
    return this.reads.write(async () => {
      const values = await this.#row(input);
      const [row] = await this.db.insert(connections).values(values)
        .onConflictDoUpdate({
          target: [connections.tenantId, connections.name],
          set: {
            connector: values.connector,
            baseUrl: values.baseUrl,
            credentialsEnc: values.credentialsEnc,
            config: values.config,
          },
        })
        .returning();
      return toPublic(row);
    });
  }

  /** Replaces a connection's credentials; `NOT_FOUND` when there is no such connection. */
  setCredentials(
    tenantId: string,
    name: string,
    credentials: Record<string, string>,
  ): Promise<void> {
    return this.reads.write(async () => {
      const credentialsEnc = await this.#encrypt(tenantId, credentials);
      const updated = await this.db.update(connections).set({ credentialsEnc })
        .where(named(tenantId, name))
        .returning({ id: connections.id });
      if (updated.length === 0) throw noConnection(tenantId, name);
    });
  }

  /**
   * Changes a connection's base URL and/or config (credentials stay); `NOT_FOUND` when there is
   * no such connection.
   */
  update(
    tenantId: string,
    name: string,
    change: { baseUrl?: string; config?: Record<string, unknown> },
  ): Promise<PublicConnection> {
    return this.reads.write(async () => {
      const set: Partial<typeof connections.$inferInsert> = {};
      if (change.baseUrl !== undefined) set.baseUrl = change.baseUrl;
      if (change.config !== undefined) set.config = change.config;
      const where = named(tenantId, name);
      const [row] = Object.keys(set).length
        ? await this.db.update(connections).set(set).where(where).returning()
        : await this.db.select().from(connections).where(where);
      if (!row) throw noConnection(tenantId, name);
      return toPublic(row);
    });
  }

  /** Removes a connection; `NOT_FOUND` when there is no such connection. */
  remove(tenantId: string, name: string): Promise<void> {
    return this.reads.write(async () => {
      const removed = await this.db.delete(connections).where(named(tenantId, name))
        .returning({ id: connections.id });
      if (removed.length === 0) throw noConnection(tenantId, name);
    });
  }

  /**
   * The tenant's connections with their credentials decrypted, by name. `SOURCE_ERROR` when the
   * credentials cannot be decrypted (the tenant's keys were shredded).
   */
  list(tenantId: string): Promise<Connection[]> {
    return this.reads.get(`connections:${tenantId}`, async () => {
      const rows = await this.#rowsOf(tenantId);
      return await Promise.all(rows.map((row) => this.#withCredentials(row)));
    });
  }

  /** The tenant's connection of that name with credentials decrypted, or `undefined`. */
  async get(tenantId: string, name: string): Promise<Connection | undefined> {
    // Postgres text cannot hold NUL: no such connection exists (and the query would fail).
    if (`${tenantId}${name}`.includes("\0")) return undefined;
    const [row] = await this.db.select().from(connections).where(named(tenantId, name));
    return row ? await this.#withCredentials(row) : undefined;
  }

  /** The tenant's connections without credentials, by name. */
  listPublic(tenantId: string): Promise<PublicConnection[]> {
    // Remembered too: a tenant's compiled policy is checked against them on the query path.
    return this.reads.get(
      `connections-public:${tenantId}`,
      async () => (await this.#rowsOf(tenantId)).map(toPublic),
    );
  }

  /**
   * Rotates the tenant's data key: a new version becomes current, and the connections'
   * credentials are re-encrypted with it. Older versions stay until shredded, so tokens made
   * with them (by this or another process, e.g. cache entries) keep decrypting: no downtime.
   */
  rotateKey(tenantId: string): Promise<{ version: number; reencrypted: number }> {
    return this.reads.write(async () => {
      const version = await this.keyRing.rotate(tenantId);
      const rows = await this.db.select().from(connections).where(
        eq(connections.tenantId, tenantId),
      );
      for (const row of rows) {
        const plain = await this.keyRing.decrypt(tenantId, row.credentialsEnc);
        const credentialsEnc = await this.keyRing.encrypt(tenantId, plain);
        await this.db.update(connections).set({ credentialsEnc })
          .where(
            and(eq(connections.id, row.id), eq(connections.credentialsEnc, row.credentialsEnc)),
          );
      }
      return { version, reencrypted: rows.length };
    });
  }

  #rowsOf(tenantId: string): Promise<ConnectionRow[]> {
    return this.db.select().from(connections)
      .where(eq(connections.tenantId, tenantId)).orderBy(asc(connections.name));
  }

  async #row(input: ConnectionInput): Promise<typeof connections.$inferInsert> {
    return {
      id: input.id ?? crypto.randomUUID(),
      tenantId: input.tenantId,
      connector: input.connector,
      name: input.name,
      baseUrl: input.baseUrl,
      credentialsEnc: await this.#encrypt(input.tenantId, input.credentials),
      config: input.config ?? {},
    };
  }

  #encrypt(tenantId: string, credentials: Record<string, string>): Promise<string> {
    return this.keyRing.encrypt(tenantId, JSON.stringify(credentials));
  }

  async #withCredentials(row: ConnectionRow): Promise<Connection> {
    let credentials: Record<string, string>;
    try {
      credentials = JSON.parse(await this.keyRing.decryptText(row.tenantId, row.credentialsEnc));
    } catch (cause) {
      const why = cause instanceof CryptoError && cause.reason === "KEY_UNAVAILABLE"
        ? "the tenant's key no longer exists"
        : "they do not decrypt";
      throw new OmniError(
        "SOURCE_ERROR",
        `credentials of connection ${row.name} are unusable: ${why}`,
        { cause, details: { connection: row.name } },
      );
    }
    const { createdAt: _createdAt, ...rest } = toPublic(row);
    return { ...rest, credentials };
  }
}

function named(tenantId: string, name: string) {
  return and(eq(connections.tenantId, tenantId), eq(connections.name, name));
}

function noConnection(tenantId: string, name: string): OmniError {
  return new OmniError("NOT_FOUND", `tenant ${tenantId} has no connection named ${name}`);
}

function toPublic(row: ConnectionRow): PublicConnection {
  return {
    id: row.id,
    tenantId: row.tenantId,
    connector: row.connector,
    name: row.name,
    baseUrl: row.baseUrl,
    config: row.config,
    createdAt: row.createdAt,
  };
}
