/**
 * The whole product on one machine, as `deno task start` and the end-to-end tests run it: the
 * apps' sandboxes, the catalog (PGlite unless `DATABASE_URL` is set; migrated and seeded with
 * the demo tenants), one worker per residency zone on its own port, and the edge. Every hop is
 * real HTTP.
 *
 * @module
 */
import { CONNECTORS } from "../connectors/mod.ts";
import {
  type DemoSandboxOptions,
  type DemoSandboxSet,
  startDemoSandboxes,
} from "../connectors/demo/sandboxes.ts";
import { ContextTokens } from "../src/auth/context_token.ts";
import { DevIssuer } from "../src/auth/dev_issuer.ts";
import { createUserVerifier } from "../src/auth/user_token.ts";
import {
  Catalog,
  CatalogKeyStore,
  openCatalog,
  seedDemo,
  serveCatalog,
} from "../src/catalog/mod.ts";
import type { OmniConfig } from "../src/config.ts";
import { KeyRing } from "../src/crypto/mod.ts";
import { DuckEngine } from "../src/duckdb/engine.ts";
import { QueryService } from "../src/query/service.ts";
import { MemoryRateLimiter } from "../src/ratelimit/mod.ts";
import { createWorkerApp } from "../regions/app.ts";
import { createEdgeApp } from "./app.ts";

/** Options of {@link startLocalStack}. */
export interface LocalStackOptions {
  /** Serve the embedded catalog over the Postgres protocol on this port (PGlite only). */
  catalogPort?: number;
  /** Fixed sandbox ports; 0 picks free ones. @default 0 */
  sandboxPorts?: DemoSandboxOptions["ports"];
  /** Injected latency on every sandbox answer, ms. @default 0 */
  sandboxLatencyMs?: number;
}

/** A running local stack. */
export interface LocalStack {
  edgeUrl: string;
  workerUrls: Record<string, string>;
  /** `DATABASE_URL` of the served embedded catalog, when served. */
  catalogUrl?: string;
  catalog: Catalog;
  devIssuer: DevIssuer;
  sandboxes: DemoSandboxSet;
  close(): Promise<void>;
}

/**
 * Starts everything. With `config.port` 0 every server picks a free port.
 *
 * @example
 * ```ts ignore
 * const stack = await startLocalStack(loadConfig({ PORT: "0" }));
 * console.log(stack.edgeUrl);
 * await stack.close();
 * ```
 */
export async function startLocalStack(
  config: OmniConfig,
  options: LocalStackOptions = {},
): Promise<LocalStack> {
  const closers: (() => Promise<void> | void)[] = [];
  const close = async () => {
    for (const fn of closers.reverse()) await fn();
  };
  try {
    const sandboxes = await startDemoSandboxes({
      ports: options.sandboxPorts,
      latencyMs: options.sandboxLatencyMs,
    });
    closers.push(() => sandboxes.close());

    const catalogDb = await openCatalog({
      databaseUrl: config.databaseUrl,
      pgliteDataDir: config.pgliteDataDir,
    });
    closers.push(() => catalogDb.close());
    const catalog = new Catalog(
      catalogDb.db,
      new KeyRing({ masterKey: config.masterKey, store: new CatalogKeyStore(catalogDb.db) }),
    );
    await seedDemo(catalog, sandboxes.urls);
    await catalog.syncCatalogTables(
      Object.values(CONNECTORS).map((c) => ({
        connector: c.id,
        tables: c.tables.map((t) => ({
          name: t.name,
          description: t.description,
          columns: t.columns.map(({ name, type, description }) => ({ name, type, description })),
        })),
      })),
    );
    let catalogUrl: string | undefined;
    if (catalogDb.pglite && options.catalogPort !== undefined) {
      const server = await serveCatalog(catalogDb.pglite, { port: options.catalogPort });
      closers.push(() => server.stop());
      catalogUrl = server.url;
    }

    const contextTokens = new ContextTokens(config.internalSecret);
    const engine = await DuckEngine.shared();
    const devIssuer = await DevIssuer.fromSecret(
      config.devIssuerSecret,
      config.oidcIssuer,
      config.oidcAudience,
    );
    const verifyUser = createUserVerifier({
      issuer: config.oidcIssuer,
      audience: config.oidcAudience,
      keys: config.oidcJwksUrl ? { jwksUrl: config.oidcJwksUrl } : { jwks: devIssuer.jwks() },
    });
    // Filled as each worker starts; the apps read it per request.
    const workerUrls: Record<string, string> = {};
    for (const zone of config.zones) {
      const service = new QueryService({ zone, catalog, engine, connectors: CONNECTORS });
      const app = createWorkerApp({
        service,
        catalog,
        connectors: CONNECTORS,
        contextTokens,
        verifyUser,
        limiter: new MemoryRateLimiter(),
        zoneUrls: workerUrls,
      });
      const port = config.port === 0 ? 0 : Number(new URL(config.zoneUrls[zone]).port);
      const server = Deno.serve({ port, hostname: "127.0.0.1", onListen: () => {} }, app.fetch);
      closers.push(() => server.shutdown());
      workerUrls[zone] = `http://127.0.0.1:${server.addr.port}`;
    }

    const edgeApp = createEdgeApp({
      catalog,
      verifyUser,
      contextTokens,
      zoneUrls: workerUrls,
      limiter: new MemoryRateLimiter(),
      connectors: CONNECTORS,
      devIssuer: config.devIssuer ? devIssuer : undefined,
    });
    const edge = Deno.serve(
      { port: config.port, hostname: "127.0.0.1", onListen: () => {} },
      edgeApp.fetch,
    );
    closers.push(() => edge.shutdown());

    return {
      edgeUrl: `http://127.0.0.1:${edge.addr.port}`,
      workerUrls,
      catalogUrl,
      catalog,
      devIssuer,
      sandboxes,
      close,
    };
  } catch (err) {
    await close();
    throw err;
  }
}
