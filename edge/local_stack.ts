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
import { PolicySecurityProvider } from "../src/policy/mod.ts";
import { edgeBudgetsOf, type RateLimiter, sourceBudget } from "../src/ratelimit/mod.ts";
import { openZoneStores, sourceCache, tenantSettingsLookup } from "../src/cache/mod.ts";
import { guardFingerprint } from "../src/http/mod.ts";
import { createWorkerApp } from "../regions/app.ts";
import { JobProgress, JobQueue, type JobQueueOptions } from "../src/jobs/mod.ts";
import { type CircuitBreakerOptions, CircuitBreakers } from "../src/reliability/mod.ts";
import { createEdgeApp } from "./app.ts";
import { Metrics, openJobCount, sourceTelemetry } from "../src/telemetry/mod.ts";

/** Options of {@link startLocalStack}. */
export interface LocalStackOptions {
  /** Serve the embedded catalog over the Postgres protocol on this port (PGlite only). */
  catalogPort?: number;
  /** Fixed sandbox ports; 0 picks free ones. @default 0 */
  sandboxPorts?: DemoSandboxOptions["ports"];
  /** Injected latency on every sandbox answer, ms. @default 0 */
  sandboxLatencyMs?: number;
  /**
   * Makes the budget store of each server (edge and every worker); the bench passes one whose
   * budgets never bind, so it measures throughput rather than the 120-a-minute default.
   * @default a fresh MemoryRateLimiter per server
   */
  rateLimiter?: () => RateLimiter;
  /** First segment of every cache and budget key in Redis (tests use a unique one). @default "omnisql" */
  cachePrefix?: string;
  /** Circuit breakers of every worker. @default CircuitBreakers' defaults */
  breakers?: CircuitBreakerOptions;
  /** Job runners' tuning (tests shorten polls and leases). @default JobQueue's defaults */
  jobs?: Pick<JobQueueOptions, "pollMs" | "leaseMs" | "concurrency">;
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
  /** Every zone's RLS/CLS guards (the tenants' policies in the catalog). */
  security: PolicySecurityProvider;
  /** Stops one zone's worker (its URL then refuses connections), to show no other zone serves. */
  stopZone(zone: string): Promise<void>;
  /** Each zone's async job queue and runner. */
  jobs: Record<string, JobQueue>;
  /** Each zone's circuit breakers (their states feed `/metrics`). */
  breakers: Record<string, CircuitBreakers>;
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
    const synced = await catalog.syncCatalogTables(
      Object.values(CONNECTORS).map((c) => ({
        connector: c.id,
        tables: c.tables.map((t) => ({
          name: t.name,
          description: t.description,
          columns: t.columns.map(({ name, type, description }) => ({ name, type, description })),
        })),
      })),
    );
    for (const b of synced.breaking) {
      console.warn(`catalog: not applied, breaking change to ${b.table}.${b.column}: ${b.change}`);
    }
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
    const security = new PolicySecurityProvider({ catalog, connectors: CONNECTORS });
    const stopWorker: Record<string, () => Promise<void>> = {};
    const jobQueues: Record<string, JobQueue> = {};
    const breakers: Record<string, CircuitBreakers> = {};
    // Caches and budgets: each zone's Upstash database when configured, else this process's memory.
    const stores = openZoneStores({
      zones: config.zones,
      upstash: config.upstash,
      keyRing: catalog.keyRing,
      prefix: options.cachePrefix,
    });
    // A tenant that moves zone or is off-boarded leaves nothing cached behind, in any zone.
    const untrack = catalog.onTenantLifecycle({
      flushTenant: (id) => Promise.all(Object.values(stores.caches).map((c) => c.flush(id))),
    });
    closers.push(untrack);
    const settings = tenantSettingsLookup(catalog);
    const budgetsFor = async (tenantId: string) => edgeBudgetsOf(await settings(tenantId));
    const resultCache = {
      caches: stores.results,
      tenant: (id: string) => catalog.getTenant(id),
      fingerprint: guardFingerprint(security),
    };
    for (const zone of config.zones) {
      const progress = new JobProgress();
      breakers[zone] = new CircuitBreakers(options.breakers);
      const metrics = new Metrics();
      metrics.observeBreakers(() =>
        breakers[zone].states().map((b) => ({
          source: `${b.tenantId}/${b.source}`,
          state: b.state,
        }))
      );
      metrics.observeQueueDepth(() => openJobCount(catalog, zone));
      const service = new QueryService({
        zone,
        catalog,
        engine,
        connectors: CONNECTORS,
        security,
        // Job progress outermost (cached sources count too); the breaker nearest the app.
        sourceMiddleware: [
          sourceTelemetry(metrics),
          progress.middleware(),
          sourceCache({ cache: stores.caches[zone], settings }),
          sourceBudget({ limiter: stores.limiter(zone), settings }),
          breakers[zone].middleware(),
        ],
      });
      const jobs = new JobQueue({ catalog, service, progress, ...options.jobs });
      jobQueues[zone] = jobs;
      const app = createWorkerApp({
        service,
        catalog,
        connectors: CONNECTORS,
        contextTokens,
        verifyUser,
        limiter: options.rateLimiter?.() ?? stores.limiter(zone),
        budgetsFor,
        resultCache,
        zoneUrls: workerUrls,
        jobs,
        metrics,
      });
      const port = config.port === 0 ? 0 : Number(new URL(config.zoneUrls[zone]).port);
      const server = Deno.serve({ port, hostname: "127.0.0.1", onListen: () => {} }, app.fetch);
      let stopped: Promise<void> | undefined;
      stopWorker[zone] = () => stopped ??= server.shutdown();
      closers.push(stopWorker[zone]);
      workerUrls[zone] = `http://127.0.0.1:${server.addr.port}`;
      jobs.start();
      closers.push(() => jobs.stop());
    }

    const edgeApp = createEdgeApp({
      catalog,
      verifyUser,
      contextTokens,
      zoneUrls: workerUrls,
      limiter: options.rateLimiter?.() ?? stores.limiter(),
      budgetsFor,
      resultCache,
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
      security,
      stopZone: async (zone) => await stopWorker[zone]?.(),
      jobs: jobQueues,
      breakers,
      close,
    };
  } catch (err) {
    await close();
    throw err;
  }
}
