/**
 * `deno task admin`: the admin CLI. It opens the catalog at `DATABASE_URL`, or the one a running
 * local stack serves (`deno task start`, port `CATALOG_PORT`, default PORT + 32). Given the
 * `DATABASE_URL` of a local cluster (`deno task cluster`), it uses that cluster's saved secrets
 * for whatever the environment does not set, and — while that cluster runs — its shared store, so
 * that key shreds and off-boardings reach its instances at once.
 *
 * @module
 */
import postgres from "postgres";
import { runCli } from "./src/admin/cli.ts";
import { Catalog, openCatalog } from "./src/catalog/mod.ts";
import { loadConfig } from "./src/config.ts";
import { readStackFile } from "./src/admin/stack_file.ts";
import { readClusterRuntime, readClusterSecrets } from "./cluster/secrets.ts";
import { openNotices, publishChanges } from "./src/cache/mod.ts";
import { noticeStoreOf } from "./src/deployment/serving.ts";

const env = Deno.env.toObject();
const config = loadConfig({
  ...await readClusterSecrets(env.DATABASE_URL),
  ...await readClusterRuntime(env.DATABASE_URL),
  ...env,
});
const localUrl = `postgres://postgres@127.0.0.1:${
  Deno.env.get("CATALOG_PORT") ?? config.port + 32
}/postgres`;

async function reachable(url: string): Promise<boolean> {
  const sql = postgres(url, { max: 1, connect_timeout: 2, onnotice: () => {} });
  try {
    await sql`select 1`;
    return true;
  } catch {
    return false;
  } finally {
    await sql.end({ timeout: 1 });
  }
}

Deno.exit(
  await runCli(Deno.args, {
    config,
    async openCatalog() {
      const started = (await readStackFile())?.catalogUrl;
      const url = config.databaseUrl ??
        ((await reachable(localUrl))
          ? localUrl
          : started && (await reachable(started))
          ? started
          : undefined);
      if (!url) return undefined;
      const db = await openCatalog({
        databaseUrl: url,
        maxConnections: config.databaseUrl ? 4 : 1,
      });
      const catalog = Catalog.withKeys(db.db, config.masterKey, { auditKey: config.auditKey });
      // Key rotations, shreds and off-boardings reach every running instance at once.
      publishChanges(openNotices(noticeStoreOf(config), config.cachePrefix), catalog);
      return { catalog, close: () => db.close() };
    },
  }),
);
