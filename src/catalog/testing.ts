/**
 * Test support: a fresh, migrated (and by default seeded) catalog per test, on either driver.
 *
 * - `pglite`: an in-memory PGlite (opened from the migrated data directory cached on the
 *   machine, see `pglite_cache.ts`).
 * - `postgres`: a new database `omnisql_t_<random>` created on the server of `DATABASE_URL`
 *   (default `postgres://postgres@127.0.0.1:5432/test`) and dropped on close, so tests running
 *   in parallel never share state.
 *
 * This is the one file of `src/catalog` that reads the environment (`DATABASE_URL`), and it is
 * only for tests.
 *
 * @example
 * ```ts ignore
 * import { withCatalogs } from "../../src/catalog/testing.ts";
 * withCatalogs("the seed creates acme's users", async ({ catalog }) => {
 *   const users = await catalog.listUsers("acme");
 *   if (users.length !== 4) throw new Error("expected 4 users");
 * });
 * ```
 *
 * @module
 */
import postgres from "postgres";
import { generateMasterKey, KeyRing } from "../crypto/mod.ts";
import { type CatalogDb, openCatalog } from "./db.ts";
import { type DemoSandboxes, PLACEHOLDER_SANDBOXES } from "./demo.ts";
import { CatalogKeyStore } from "./key_store.ts";
import { seedDemo } from "./seed.ts";
import { Catalog } from "./store.ts";

/** The catalog drivers tests run on. */
export type CatalogKind = "pglite" | "postgres";

/** Both drivers, in the order {@link withCatalogs} runs them. */
export const CATALOG_KINDS: readonly CatalogKind[] = ["pglite", "postgres"];

/** Options of {@link openTestCatalog} and {@link withCatalogs}. */
export interface TestCatalogOptions {
  /**
   * Seed the demo tenants with connections to these sandboxes, or `false` for an empty catalog.
   * @default PLACEHOLDER_SANDBOXES (URLs that point nowhere)
   */
  seed?: DemoSandboxes | false;
  /**
   * The master key of the key ring.
   * @default a random key
   */
  masterKey?: string;
  /**
   * Postgres only: the server to create the test database on.
   * @default Deno.env.get("DATABASE_URL") ?? "postgres://postgres@127.0.0.1:5432/test"
   */
  databaseUrl?: string;
  /**
   * PGlite only: host the database in a worker thread, as `deno task start` does.
   * @default false
   */
  pgliteInWorker?: boolean;
}

/** A fresh catalog for one test. */
export interface TestCatalog {
  kind: CatalogKind;
  catalog: Catalog;
  keyRing: KeyRing;
  /** The open database (`catalogDb.db` is the Drizzle database). */
  catalogDb: CatalogDb;
  /** The master key the key ring uses (to build a second ring, e.g. another "process"). */
  masterKey: string;
  /** Postgres only: the URL of this test's own database (to open more connections). */
  databaseUrl?: string;
  /** Closes the catalog and, on Postgres, drops the test database. */
  close(): Promise<void>;
}

/**
 * Opens a fresh migrated catalog on the given driver, seeded with the demo unless told not to.
 *
 * @example
 * ```ts ignore
 * // Not run: it opens a catalog on a real driver.
 * import assert from "node:assert/strict";
 * import { openTestCatalog } from "./testing.ts";
 * const t = await openTestCatalog("pglite", { seed: false });
 * try {
 *   assert.ok((await t.catalog.listTenants()).length === 0);
 * } finally {
 *   await t.close();
 * }
 * ```
 */
export async function openTestCatalog(
  kind: CatalogKind,
  options: TestCatalogOptions = {},
): Promise<TestCatalog> {
  const masterKey = options.masterKey ?? generateMasterKey();
  let catalogDb: CatalogDb;
  let databaseUrl: string | undefined;
  let dropDatabase = async () => {};
  if (kind === "postgres") {
    const serverUrl = options.databaseUrl ?? Deno.env.get("DATABASE_URL") ??
      "postgres://postgres@127.0.0.1:5432/test";
    const scratch = await scratchDatabase(serverUrl, "omnisql_t");
    databaseUrl = scratch.url;
    dropDatabase = scratch.drop;
    try {
      catalogDb = await openCatalog({ databaseUrl });
    } catch (err) {
      await dropDatabase();
      throw err;
    }
  } else {
    catalogDb = await openCatalog({ pgliteInWorker: options.pgliteInWorker });
  }
  const keyRing = new KeyRing({ masterKey, store: new CatalogKeyStore(catalogDb.db) });
  const catalog = new Catalog(catalogDb.db, keyRing);
  const close = async () => {
    await catalogDb.close();
    await dropDatabase();
  };
  try {
    if (options.seed !== false) await seedDemo(catalog, options.seed ?? PLACEHOLDER_SANDBOXES);
  } catch (err) {
    await close();
    throw err;
  }
  return { kind, catalog, keyRing, catalogDb, masterKey, databaseUrl, close };
}

/**
 * Registers one `Deno.test` per driver (`<name> [pglite]`, `<name> [postgres]`), each with a
 * fresh catalog that is closed (and dropped) afterwards.
 *
 * @example
 * ```ts ignore
 * // Not run: it registers tests, which only a test module may do.
 * import assert from "node:assert/strict";
 * import { withCatalogs } from "./testing.ts";
 * withCatalogs("getTenant() finds a seeded tenant", async ({ catalog }) => {
 *   assert.ok((await catalog.getTenant("acme"))?.zone === "us");
 * });
 * ```
 */
export function withCatalogs(
  name: string,
  fn: (t: TestCatalog) => Promise<void>,
  options: TestCatalogOptions = {},
): void {
  for (const kind of CATALOG_KINDS) {
    Deno.test({
      name: `${name} [${kind}]`,
      // postgres-js keeps sockets and timers past `end()` for a moment.
      sanitizeOps: false,
      sanitizeResources: false,
      async fn() {
        const t = await openTestCatalog(kind, options);
        try {
          await fn(t);
        } finally {
          await t.close();
        }
      },
    });
  }
}

/** A new, empty database on a Postgres server, and how to drop it. */
export interface ScratchDatabase {
  url: string;
  drop(): Promise<void>;
}

/**
 * Creates an empty database named `prefix` plus a random suffix on the server at `serverUrl`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { scratchDatabase } from "./testing.ts";
 * const server = Deno.env.get("DATABASE_URL") ?? "postgres://postgres@127.0.0.1:5432/test";
 * const db = await scratchDatabase(server, "omnisql_doc");
 * assert.match(db.url, /\/omnisql_doc_[0-9a-f]{16}$/);
 * await db.drop();
 * ```
 */
export async function scratchDatabase(serverUrl: string, prefix: string): Promise<ScratchDatabase> {
  const name = `${prefix}_${crypto.randomUUID().replaceAll("-", "").slice(0, 16)}`;
  await maintenance(serverUrl, `CREATE DATABASE ${name}`);
  const url = new URL(serverUrl);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    drop: () => maintenance(serverUrl, `DROP DATABASE IF EXISTS ${name} WITH (FORCE)`),
  };
}

/**
 * Creates the database `databaseUrl` names when its server does not have it yet (a bench's or a
 * tool's scratch database given by name); an existing one is left as it is.
 *
 * @example
 * ```ts
 * import { ensureDatabase } from "./testing.ts";
 * await ensureDatabase(Deno.env.get("DATABASE_URL") ?? "postgres://postgres@127.0.0.1:5432/test");
 * ```
 */
export async function ensureDatabase(databaseUrl: string): Promise<void> {
  const url = new URL(databaseUrl);
  const name = decodeURIComponent(url.pathname.slice(1));
  // The database itself cannot be connected to before it exists.
  url.pathname = "/postgres";
  await maintenance(url.toString(), `CREATE DATABASE "${name.replaceAll('"', '""')}"`).catch(
    (err: { code?: string }) => {
      if (err.code !== DUPLICATE_DATABASE) throw err;
    },
  );
}

/** Postgres's SQLSTATE for a database that already exists. */
const DUPLICATE_DATABASE = "42P04";

async function maintenance(serverUrl: string, statement: string): Promise<void> {
  const client = postgres(serverUrl, { max: 1, onnotice: () => {} });
  try {
    await client.unsafe(statement);
  } finally {
    await client.end({ timeout: 5 });
  }
}
