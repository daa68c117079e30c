/**
 * A zone's worker, assembled the same way by its production entry point (`regions/main.ts`) and
 * by the local stack: on top of what every deployment shares (`src/deployment/serving.ts`), its
 * query service with the source middleware, its job runner and its HTTP app.
 *
 * @module
 */
import type { CatalogDatabase } from "../src/catalog/db.ts";
import { zoneAuditAppender } from "../src/catalog/zone_audit.ts";
import { Invalidations, sharedBreakerState, sourceCache } from "../src/cache/mod.ts";
import { appParts, type Serving } from "../src/deployment/serving.ts";
import { EnginePool, type EnginePoolOptions } from "../src/duckdb/pool.ts";
import { AuditJournal } from "../src/audit/journal.ts";
import { JobProgress, JobQueue, type JobQueueOptions } from "../src/jobs/mod.ts";
import { QueryService } from "../src/query/service.ts";
import { DEFAULT_LIMITS } from "../src/query/limits.ts";
import { type RateLimiter, sourceBudget } from "../src/ratelimit/mod.ts";
import { type CircuitBreakerOptions, CircuitBreakers } from "../src/reliability/mod.ts";
import { type Logger, Metrics, openJobCount, sourceTelemetry } from "../src/telemetry/mod.ts";
import { WebhookReceiver } from "../src/webhooks/receiver.ts";
import { CostAlerts } from "../src/cost/alerts.ts";
import { costGuard } from "../src/cost/guard.ts";
import { Notifier } from "../src/notify/notifier.ts";
import { createWorkerApp } from "./app.ts";

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
  /**
   * Directory of the zone's audit journal (records durable before answers leave).
   * @default none: kept in memory until committed (a catalog in memory)
   */
  auditJournalDir?: string;
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
  /** Where the zone's query records go before its chain. */
  journal: AuditJournal;
  /** Stops the job runner and the engines, and commits what the journal holds. */
  close(): Promise<void>;
}

/**
 * Builds a zone's worker: its query service with the source middleware (telemetry outermost,
 * then job progress so cached sources count too, the source cache, the cost guard (usage and
 * cost budgets), the source budget, and the circuit breaker nearest the app), its job queue and
 * its HTTP app.
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
  const notifier = new Notifier({
    catalog,
    targets: serving.notifyTargets,
    registry: metrics.registry,
    appendAudit,
    zone,
  });
  const alerts = new CostAlerts({ catalog, notifier, registry: metrics.registry });
  const journal = new AuditJournal({
    dir: options.auditJournalDir,
    commit: (records) => Promise.all(records.map(appendAudit)),
  });
  const engines = new EnginePool({
    size: serving.engines.size,
    queueLimit: serving.engines.queueLimit,
    memoryLimitMb: serving.engines.memoryLimitMb,
    warmUpMs: serving.engines.warmUpMs,
    keepWarmMs: serving.engines.keepWarmMs,
    spares: serving.engines.spares,
    ...options.engines,
  });
  metrics.observeEnginePool(zone, () => engines.stats());
  const cost = costGuard({
    db: catalog.db,
    alerts,
    remember: (key, load) => catalog.remembered(key, load),
  });
  const service = new QueryService({
    zone,
    catalog,
    appendAudit: (record) => journal.record(record),
    engine: engines,
    limits: {
      ...DEFAULT_LIMITS,
      memoryLimitMb: serving.engines.memoryLimitMb,
      jobMemoryLimitMb: serving.engines.jobMemoryLimitMb,
    },
    connectors: serving.connectors,
    security: serving.security,
    prefetch: (tenantId) => {
      cost.prefetch(tenantId);
      stores.caches[zone].warm(tenantId);
    },
    sourceMiddleware: [
      // The shared breaker's read starts here, alongside the cache's and budgets' round trips.
      breakers.prefetch(),
      sourceTelemetry(metrics),
      progress.middleware(),
      sourceCache({ cache: stores.caches[zone], settings }),
      cost,
      sourceBudget({ limiter: stores.limiter(zone), settings }),
      breakers.middleware(),
    ],
  });
  const jobs = new JobQueue({
    catalog,
    db: store.db,
    service,
    progress,
    notifier,
    ...options.jobs,
  });
  // Off-boarding cancels the tenant's jobs in this zone's own store too (the catalog cancels
  // the ones it holds itself).
  if (options.zoneDb) {
    catalog.onTenantLifecycle({ cancelJobs: (tenantId) => jobs.store.cancelTenant(tenantId) });
  }
  const app = createWorkerApp({
    ...appParts(serving),
    service,
    limiter: options.limiter ?? stores.limiter(),
    journal,
    zoneUrls: options.zoneUrls,
    jobs,
    metrics,
    logger: options.logger,
    notices: stores.notices,
    webhooks: new WebhookReceiver({
      catalog,
      zone,
      invalidations: new Invalidations(stores.caches[zone]),
      claims: stores.claims[zone],
      appendAudit,
      registry: metrics.registry,
    }),
  });
  const close = async () => {
    await jobs.stop();
    await engines.close();
    // Usage counts are written behind the answers, which are all out by now.
    await cost.settled();
    await journal.close();
  };
  return { app, service, jobs, breakers, metrics, engines, journal, close };
}
