/**
 * Opening the catalog database: Postgres (`postgres-js`) when a URL is given, otherwise an
 * embedded PGlite, with the migrations of `migrations/` applied on open.
 *
 * @module
 */
import { fileURLToPath } from "node:url";
import postgres from "postgres";
import { PGlite } from "@electric-sql/pglite";
import type { PgDatabase, PgQueryResultHKT } from "drizzle-orm/pg-core";
import { drizzle as drizzlePostgres } from "drizzle-orm/postgres-js";
import { migrate as migratePostgres } from "drizzle-orm/postgres-js/migrator";
import { drizzle as drizzlePglite } from "drizzle-orm/pglite";
import { migrate as migratePglite } from "drizzle-orm/pglite/migrator";
import * as schema from "./schema.ts";
import { ThreadedPglite } from "./pglite_thread.ts";
import { cachedDataDir, forgetDataDir } from "./pglite_cache.ts";
import { sha256Hex } from "../crypto/sha256.ts";

/** The catalog's tables, as one Drizzle schema object. */
export type CatalogSchema = typeof schema;

/**
 * The Drizzle database both drivers share: every catalog query is written once against it.
 * Raw `execute()` results differ by driver (an array for postgres-js, `{ rows }` for PGlite);
 * use {@link executeRows} for raw SQL.
 */
export type CatalogDatabase = PgDatabase<PgQueryResultHKT, CatalogSchema>;

/** Options of {@link openCatalog}. */
export interface OpenCatalogOptions {
  /**
   * A Postgres URL (`postgres://user@host:port/db`). When absent, an embedded PGlite is used.
   * @default undefined
   */
  databaseUrl?: string;
  /**
   * PGlite only: a directory to persist the database in. In memory when absent: then it opens
   * from a migrated data directory cached on this machine (`pglite_cache.ts`), skipping initdb.
   * @default undefined
   */
  pgliteDataDir?: string;
  /**
   * PGlite only: run the database in a worker thread of its own. Each PGlite statement runs
   * synchronously on the thread that hosts it; in a worker, a write (an audit batch) never stalls
   * the thread that answers requests. Start-up and each statement cost a message hop.
   * @default false
   */
  pgliteInWorker?: boolean;
  /**
   * Postgres only: maximum connections of the pool.
   * @default 10
   */
  maxConnections?: number;
}

/** An embedded PGlite, on this thread or in a worker thread. */
export type EmbeddedPglite = PGlite | ThreadedPglite;

/** An open catalog database. */
export interface CatalogDb {
  /** The Drizzle database, migrated. */
  db: CatalogDatabase;
  /** Which driver backs it. */
  kind: "postgres" | "pglite";
  /** The embedded database, when `kind` is `pglite` (e.g. to serve it with {@link serveCatalog}). */
  pglite?: EmbeddedPglite;
  /** Closes the pool or the embedded database. */
  close(): Promise<void>;
}

/** The folder of generated migrations, resolved relative to this module. */
export const MIGRATIONS_FOLDER: string = fileURLToPath(
  new URL("../../migrations", import.meta.url),
);

/**
 * Opens the catalog and applies pending migrations.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { openCatalog } from "./db.ts";
 * const catalogDb = await openCatalog({}); // in-memory PGlite
 * assert.ok(catalogDb.kind === "pglite");
 * await catalogDb.close();
 * ```
 */
export async function openCatalog(options: OpenCatalogOptions = {}): Promise<CatalogDb> {
  if (options.databaseUrl) {
    const client = postgres(options.databaseUrl, {
      max: options.maxConnections ?? 10,
      onnotice: () => {},
    });
    try {
      const db = drizzlePostgres({ client, schema });
      await migratePostgres(db, { migrationsFolder: MIGRATIONS_FOLDER });
      return {
        db: db as unknown as CatalogDatabase,
        kind: "postgres",
        close: () => client.end({ timeout: 5 }),
      };
    } catch (err) {
      await client.end({ timeout: 1 });
      throw err;
    }
  }
  const pglite = await openPglite(options);
  try {
    // Drizzle's PGlite driver needs only `query` and `transaction`, which the worker's proxy has.
    const db = drizzlePglite({ client: pglite as PGlite, schema });
    await migratePglite(db, { migrationsFolder: MIGRATIONS_FOLDER });
    return {
      db: db as unknown as CatalogDatabase,
      kind: "pglite",
      pglite,
      close: async () => {
        if (!pglite.closed) await pglite.close();
      },
    };
  } catch (err) {
    await pglite.close();
    throw err;
  }
}

/** An embedded PGlite: on disk as asked, or in memory from the cached migrated data directory. */
async function openPglite(options: OpenCatalogOptions): Promise<EmbeddedPglite> {
  const create = (loadDataDir?: Blob) => {
    const pgliteOptions = { dataDir: options.pgliteDataDir, loadDataDir };
    return options.pgliteInWorker
      ? ThreadedPglite.create(pgliteOptions)
      : PGlite.create(pgliteOptions);
  };
  if (options.pgliteDataDir) return await create();
  const recipe = await migratedRecipe();
  const migrated = await cachedDataDir(recipe, dumpMigrated).catch(() => undefined);
  if (!migrated) return await create();
  try {
    return await create(new Blob([migrated]));
  } catch {
    await forgetDataDir(recipe); // unreadable: made afresh next time
    return await create();
  }
}

/** A fresh PGlite with the migrations applied, dumped. */
async function dumpMigrated(): Promise<Uint8Array> {
  const pg = await PGlite.create();
  try {
    await migratePglite(drizzlePglite({ client: pg, schema }), {
      migrationsFolder: MIGRATIONS_FOLDER,
    });
    return new Uint8Array(await (await pg.dumpDataDir("gzip")).arrayBuffer());
  } finally {
    await pg.close();
  }
}

/** Names the migrated data directory by the migrations it holds. */
async function migratedRecipe(): Promise<string> {
  const names: string[] = [];
  for await (const entry of Deno.readDir(MIGRATIONS_FOLDER)) {
    if (entry.isFile && entry.name.endsWith(".sql")) names.push(entry.name);
  }
  let text = "";
  for (const name of names.sort()) {
    text += `${name}\n${await Deno.readTextFile(`${MIGRATIONS_FOLDER}/${name}`)}\n`;
  }
  return `catalog migrated ${await sha256Hex(text)}`;
}

/**
 * Runs raw SQL and returns its rows, whichever driver backs the database.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { sql } from "drizzle-orm";
 * import { executeRows, openCatalog } from "./db.ts";
 * const { db, close } = await openCatalog({});
 * const [row] = await executeRows<{ n: number }>(db, sql`select 1 as n`);
 * assert.ok(row.n === 1);
 * await close();
 * ```
 */
export async function executeRows<T extends Record<string, unknown>>(
  db: Pick<CatalogDatabase, "execute">,
  query: Parameters<CatalogDatabase["execute"]>[0],
): Promise<T[]> {
  const result: unknown = await db.execute(query);
  if (Array.isArray(result)) return result as T[];
  return ((result as { rows?: T[] }).rows ?? []) as T[];
}
