/**
 * The parts every deployment shape assembles the same way — the production edge, a production
 * zone worker, and the local stack that runs them all in one process: identity, the tenants'
 * caches and budgets, policies, and a zone's worker with its query service, source middleware
 * and job runner. Each entry point only adds where it listens.
 *
 * @module
 */
import type { ConnectorDef } from "../connectors/sdk/connector.ts";
import { ContextTokens } from "../src/auth/context_token.ts";
import { DevIssuer } from "../src/auth/dev_issuer.ts";
import { createUserVerifier, type UserClaims, type UserVerifier } from "../src/auth/user_token.ts";
import {
  openZoneStores,
  sharedBreakerState,
  sourceCache,
  tenantSettingsLookup,
} from "../src/cache/mod.ts";
import type { Catalog } from "../src/catalog/store.ts";
import { zoneAuditAppender } from "../src/catalog/zone_audit.ts";
import type { CatalogDatabase } from "../src/catalog/db.ts";
import type { OmniConfig } from "../src/config.ts";
import { EnginePool, type EnginePoolOptions } from "../src/duckdb/pool.ts";
import { guardFingerprint, type ResultCacheOptions } from "../src/http/mod.ts";
import { JobProgress, JobQueue, type JobQueueOptions } from "../src/jobs/mod.ts";
import { PolicySecurityProvider } from "../src/policy/mod.ts";
import { QueryService } from "../src/query/service.ts";
import { DEFAULT_LIMITS } from "../src/query/limits.ts";
import {
  DEFAULT_BUDGETS,
  type EdgeBudgets,
  edgeBudgetsOf,
  type RateLimiter,
  sourceBudget,
} from "../src/ratelimit/mod.ts";
import { type CircuitBreakerOptions, CircuitBreakers } from "../src/reliability/mod.ts";
import { type Logger, Metrics, openJobCount, sourceTelemetry } from "../src/telemetry/mod.ts";
import { createWorkerApp } from "./app.ts";

/** What edge and workers share, built once per process. */
export interface Serving {
  catalog: Catalog;
  connectors: Record<string, ConnectorDef>;
  contextTokens: ContextTokens;
  verifyUser: UserVerifier;
  /** The dev issuer, when enabled by config. */
  devIssuer?: DevIssuer;
  security: PolicySecurityProvider;
  stores: ReturnType<typeof openZoneStores>;
  budgetsFor: (tenantId: string) => Promise<EdgeBudgets>;
  resultCache: ResultCacheOptions;
  settings: ReturnType<typeof tenantSettingsLookup>;
  /** The deployment's engine pool settings and memory limits. */
  engines: OmniConfig["engines"];
  /** The bearer token `/metrics` requires (none: open, local stack only). */
  metricsToken?: string;
  /** Whether metrics carry tenant ids. */
  metricsTenantLabels: boolean;
  /** Refuses a token whose claims the tenant's policy would misread (`UNAUTHENTICATED`). */
  checkClaims: (user: UserClaims) => Promise<void>;
  /** Stops tracking tenant lifecycle events. */
  close(): void;
}

/**
 * Builds what edge and workers share from the configuration and an open catalog.
 *
 * @example
 * ```ts ignore
 * const serving = await openServing(config, catalog, CONNECTORS);
 * ```
 */
export async function openServing(
  config: OmniConfig,
  catalog: Catalog,
  connectors: Record<string, ConnectorDef>,
  options: { cachePrefix?: string; zones?: string[] } = {},
): Promise<Serving> {
  const devIssuer = config.devIssuer
    ? await DevIssuer.fromSecret(config.devIssuerSecret, config.oidcIssuer, config.oidcAudience)
    : undefined;
  if (!config.oidcJwksUrl && !devIssuer) {
    throw new Error("set OIDC_JWKS_URL, or enable the dev issuer for local use");
  }
  const verifyUser = createUserVerifier({
    issuer: config.oidcIssuer,
    audience: config.oidcAudience,
    keys: config.oidcJwksUrl ? { jwksUrl: config.oidcJwksUrl } : { jwks: devIssuer!.jwks() },
  });
  const security = new PolicySecurityProvider({ catalog, connectors });
  // Caches and budgets: each zone's Upstash database when configured, else this process's memory.
  const stores = openZoneStores({
    zones: options.zones ?? config.zones,
    upstash: config.upstash,
    keyRing: catalog.keyRing,
    prefix: options.cachePrefix ?? config.cachePrefix,
    budgetStore: config.budgetStore,
  });
  const budgetDefaults = {
    ...DEFAULT_BUDGETS,
    global: { tokens: config.globalPerMinute, windowMs: 60_000 },
  };
  // A tenant that moves zone or is off-boarded leaves nothing cached behind, in any zone.
  const untrack = catalog.onTenantLifecycle({
    flushTenant: (id) => Promise.all(Object.values(stores.caches).map((c) => c.flush(id))),
  });
  const settings = tenantSettingsLookup(catalog);
  return {
    catalog,
    connectors,
    contextTokens: new ContextTokens(config.internalSecret),
    verifyUser,
    devIssuer,
    security,
    stores,
    settings,
    engines: config.engines,
    checkClaims: (user) => security.checkClaims(user.tenant, user),
    metricsToken: config.metricsToken,
    metricsTenantLabels: config.metricsTenantLabels,
    budgetsFor: async (tenantId) => edgeBudgetsOf(await settings(tenantId), budgetDefaults),
    resultCache: {
      caches: stores.results,
      tenant: (id) => catalog.getTenant(id),
      fingerprint: guardFingerprint(security),
    },
    close: untrack,
  };
}

/** Options of {@link buildZoneWorker}. */
export interface ZoneWorkerOptions {
  /** Overrides of the zone's engine pool (tests use small ones). @default from the config */
  engines?: EnginePoolOptions;
  /** Base URL of each zone's endpoint, read per request (for whoami). */
  zoneUrls: Record<string, string>;
  /** Budgets of the zone's own endpoint. @default the deployment's, shared with the edges */
  limiter?: RateLimiter;
  breakers?: CircuitBreakerOptions;
  jobs?: Pick<JobQueueOptions, "pollMs" | "leaseMs" | "concurrency">;
  /** The zone's own store for jobs and results. @default the catalog's database */
  zoneDb?: CatalogDatabase;
  logger?: Logger;
}

/** A zone's worker, ready to serve. */
export interface ZoneWorker {
  app: ReturnType<typeof createWorkerApp>;
  service: QueryService;
  jobs: JobQueue;
  breakers: CircuitBreakers;
  metrics: Metrics;
  /** The zone's DuckDB engines (started lazily; {@link EnginePool.warm} starts them now). */
  engines: EnginePool;
  /** Stops the job runner and the engines. */
  close(): Promise<void>;
}

/**
 * Builds a zone's worker: its query service with the source middleware (telemetry outermost,
 * then job progress so cached sources count too, the source cache, the source budget, and the
 * circuit breaker nearest the app), its job queue and its HTTP app.
 *
 * @example
 * ```ts ignore
 * const worker = buildZoneWorker(serving, "eu", { zoneUrls: config.zoneUrls });
 * Deno.serve({ port: 8002 }, worker.app.fetch);
 * worker.jobs.start();
 * ```
 */
export function buildZoneWorker(
  serving: Serving,
  zone: string,
  options: ZoneWorkerOptions,
): ZoneWorker {
  const { catalog, stores, settings } = serving;
  const progress = new JobProgress();
  // The zone's instances share open breakers: one finding an app down spares the others.
  const breakers = new CircuitBreakers({
    shared: sharedBreakerState(stores.caches[zone]),
    ...options.breakers,
  });
  const metrics = new Metrics({ tenantLabels: serving.metricsTenantLabels });
  metrics.observeBreakers(() =>
    breakers.states().map((b) => ({ tenant: b.tenantId, source: b.source, state: b.state }))
  );
  const store = { db: options.zoneDb ?? catalog.db };
  metrics.observeQueueDepth(() => openJobCount(store, zone));
  // A zone with its own store keeps its queries' SQL text there; the catalog gets digests.
  const appendAudit = zoneAuditAppender(catalog, options.zoneDb);
  const engines = new EnginePool({
    size: serving.engines.size,
    queueLimit: serving.engines.queueLimit,
    memoryLimitMb: serving.engines.memoryLimitMb,
    ...options.engines,
  });
  metrics.observeEnginePool(zone, () => engines.stats());
  const service = new QueryService({
    zone,
    catalog,
    appendAudit,
    engine: engines,
    limits: {
      ...DEFAULT_LIMITS,
      memoryLimitMb: serving.engines.memoryLimitMb,
      jobMemoryLimitMb: serving.engines.jobMemoryLimitMb,
    },
    connectors: serving.connectors,
    security: serving.security,
    sourceMiddleware: [
      sourceTelemetry(metrics),
      progress.middleware(),
      sourceCache({ cache: stores.caches[zone], settings }),
      sourceBudget({ limiter: stores.limiter(zone), settings }),
      breakers.middleware(),
    ],
  });
  const jobs = new JobQueue({ catalog, db: store.db, service, progress, ...options.jobs });
  // Off-boarding cancels the tenant's jobs in this zone's own store too (the catalog cancels
  // the ones it holds itself).
  if (options.zoneDb) {
    catalog.onTenantLifecycle({ cancelJobs: (tenantId) => jobs.store.cancelTenant(tenantId) });
  }
  const app = createWorkerApp({
    service,
    catalog,
    connectors: serving.connectors,
    contextTokens: serving.contextTokens,
    verifyUser: serving.verifyUser,
    limiter: options.limiter ?? stores.limiter(),
    budgetsFor: serving.budgetsFor,
    resultCache: serving.resultCache,
    checkClaims: serving.checkClaims,
    metricsToken: serving.metricsToken,
    security: serving.security,
    appendAudit,
    zoneUrls: options.zoneUrls,
    jobs,
    metrics,
    logger: options.logger,
  });
  const close = async () => {
    await jobs.stop();
    await engines.close();
  };
  return { app, service, jobs, breakers, metrics, engines, close };
}
