/**
 * The whole product on one machine, as `deno task start` and the end-to-end tests run it: the
 * apps' sandboxes, the catalog (PGlite unless `DATABASE_URL` is set; migrated and seeded with
 * the demo tenants), one worker per residency zone on its own port, and the edge. Every hop is
 * real HTTP.
 *
 * @module
 */
import { Metrics } from "../src/telemetry/mod.ts";
import { CONNECTORS, declaredTables } from "../connectors/mod.ts";
import { closeMcpSessions } from "../connectors/mcp/mod.ts";
import {
  type DemoSandboxOptions,
  type DemoSandboxSet,
  startDemoSandboxes,
} from "../connectors/demo/sandboxes.ts";
import { DevIssuer } from "../src/auth/dev_issuer.ts";
import {
  Catalog,
  type CatalogDatabase,
  openCatalog,
  seedDemo,
  serveCatalog,
} from "../src/catalog/mod.ts";
import type { OmniConfig } from "../src/config.ts";
import type { EnginePool, EnginePoolOptions } from "../src/duckdb/pool.ts";
import type { PolicySecurityProvider } from "../src/policy/mod.ts";
import type { RateLimiter } from "../src/ratelimit/mod.ts";
import type { JobQueue, JobQueueOptions } from "../src/jobs/mod.ts";
import type { CircuitBreakerOptions, CircuitBreakers } from "../src/reliability/mod.ts";
import { createEdgeApp, edgePipeline } from "./app.ts";
import { AuditJournal } from "../src/audit/journal.ts";
import { usageWritesSettled } from "../src/cost/usage.ts";
import { digestAuditAppender } from "../src/catalog/zone_audit.ts";
import type { QueryPipeline } from "../src/pipeline/mod.ts";
import { appParts, openServing } from "../src/deployment/serving.ts";
import { buildZoneWorker } from "../regions/serving.ts";
import { startPgDoor } from "../src/doors/pg/mod.ts";
import { appGateway } from "../src/doors/gateway.ts";

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
  /** Every zone's engine pool (tests use small ones). @default from the config */
  engines?: EnginePoolOptions;
  /**
   * When engines start: `"all"` of each pool before answering, as `deno task start` does
   * (engines warm up one at a time, about 7 s each); `"one"` per zone meanwhile; `"none"` at
   * each zone's first query (a test that never reaches a zone saves that zone's start).
   * @default "one"
   */
  warmEngines?: "all" | "one" | "none";
  /**
   * Directory of the audit journals (`edge/`, `zone-<z>/` in it): each query's record is
   * durable there before its answer leaves and replayed after a crash. Set it when the catalog
   * is durable. @default none: records wait in memory for their commit
   */
  auditJournalDir?: string;
  /**
   * Serve the Postgres wire-protocol door on this port (0: a free one), plaintext on loopback
   * unless `pgTls` is given. @default no door
   */
  pgPort?: number;
  /** When `pgPort` is taken, listen on a free port instead of failing. @default false */
  pgPortFallback?: boolean;
  /** PEM key and certificate of the Postgres door. @default none */
  pgTls?: { key: string; cert: string };
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
  /** The zones with a store of their own (`ZONE_<NAME>_DATABASE_URL`): where their jobs live. */
  zoneStores: Record<string, CatalogDatabase>;
  /** Each zone's circuit breakers (their states feed `/metrics`). */
  breakers: Record<string, CircuitBreakers>;
  /** Each zone's DuckDB engine pool. */
  engines: Record<string, EnginePool>;
  /**
   * The edge's query pipeline: other doors (Postgres wire, MCP) run queries through it with
   * their `door` label, e.g. `stack.pipeline.run({ door: "pg", token, body: { sql } })`.
   */
  pipeline: QueryPipeline;
  /** Resolves once every audit record so far is committed to its chain (tests read the log). */
  auditSettled(): Promise<void>;
  /** The Postgres door's port, when served. */
  pgPort?: number;
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
    // MCP sessions hold event streams open to the sandboxes: ended before the sandboxes stop.
    closers.push(async () => void await closeMcpSessions());

    const catalogDb = await openCatalog({
      databaseUrl: config.databaseUrl,
      pgliteDataDir: config.pgliteDataDir,
      // The embedded catalog's writes (audit batches above all) stay off the serving thread.
      pgliteInWorker: true,
    });
    closers.push(() => catalogDb.close());
    // Closed after the servers stop and before the catalog: what they hold is committed (or, on
    // a durable catalog, replayed at the next start), and so are the usage counts written behind
    // the answers.
    const journals: AuditJournal[] = [];
    closers.push(async () => {
      await usageWritesSettled(catalogDb.db);
      await Promise.all(journals.map((j) => j.close()));
    });
    const catalog = Catalog.withKeys(catalogDb.db, config.masterKey, { auditKey: config.auditKey });
    await seedDemo(catalog, sandboxes.urls);
    const synced = await catalog.syncCatalogTables(declaredTables());
    for (const b of synced.breaking) {
      console.warn(`catalog: not applied, breaking change to ${b.table}.${b.column}: ${b.change}`);
    }
    let catalogUrl: string | undefined;
    if (catalogDb.pglite && options.catalogPort !== undefined) {
      const server = await serveCatalog(catalogDb.pglite, { port: options.catalogPort });
      closers.push(() => server.stop());
      catalogUrl = server.url;
    }

    const serving = await openServing(config, catalog, CONNECTORS, {
      cachePrefix: options.cachePrefix,
      // Everything runs on this machine: notifications may reach its own loopback receivers.
      notifyAllowHosts: ["127.0.0.1", "localhost", "[::1]"],
    });
    closers.push(() => serving.close());
    const devIssuer = serving.devIssuer ??
      await DevIssuer.fromSecret(config.devIssuerSecret, config.oidcIssuer, config.oidcAudience);
    // Filled as each worker starts; the apps read it per request.
    const workerUrls: Record<string, string> = {};
    const stopWorker: Record<string, () => Promise<void>> = {};
    const jobQueues: Record<string, JobQueue> = {};
    const zoneStores: Record<string, CatalogDatabase> = {};
    const breakers: Record<string, CircuitBreakers> = {};
    const engines: Record<string, EnginePool> = {};
    const journalDir = (name: string) =>
      options.auditJournalDir ? `${options.auditJournalDir}/${name}` : undefined;
    for (const zone of config.zones) {
      const zoneUrl = config.zoneDatabaseUrls[zone];
      const zoneDb = zoneUrl ? await openCatalog({ databaseUrl: zoneUrl }) : undefined;
      if (zoneDb) {
        closers.push(() => zoneDb.close());
        zoneStores[zone] = zoneDb.db;
      }
      const worker = buildZoneWorker(serving, zone, {
        engines: options.engines,
        zoneDb: zoneDb?.db,
        zoneUrls: workerUrls,
        limiter: options.rateLimiter?.(),
        breakers: options.breakers,
        jobs: options.jobs,
        auditJournalDir: journalDir(`zone-${zone}`),
      });
      journals.push(worker.journal);
      jobQueues[zone] = worker.jobs;
      breakers[zone] = worker.breakers;
      engines[zone] = worker.engines;
      closers.push(() => worker.engines.close());
      const port = config.port === 0 ? 0 : Number(new URL(config.zoneUrls[zone]).port);
      const server = Deno.serve(
        { port, hostname: "127.0.0.1", onListen: () => {} },
        worker.app.fetch,
      );
      let stopped: Promise<void> | undefined;
      stopWorker[zone] = () => stopped ??= server.shutdown();
      closers.push(stopWorker[zone]);
      workerUrls[zone] = `http://127.0.0.1:${server.addr.port}`;
      worker.jobs.start();
      closers.push(() => worker.jobs.stop());
    }
    // Engines take seconds to start and warm up: `deno task start` waits for them all (warming
    // them behind its first answers took a core from those answers); by default one per zone
    // starts meanwhile, so a first query rarely waits for it.
    const warm = options.warmEngines ?? "one";
    const pools = Object.values(engines);
    if (warm === "all") await Promise.all(pools.map((pool) => pool.warm("all")));
    else if (warm === "one") { for (const pool of pools) void pool.warm(1); }

    const appendEdgeAudit = digestAuditAppender(catalog);
    const edgeJournal = new AuditJournal({
      dir: journalDir("edge"),
      commit: (records) => Promise.all(records.map(appendEdgeAudit)),
    });
    journals.push(edgeJournal);
    const edgeOptions = {
      ...appParts(serving),
      zoneUrls: workerUrls,
      limiter: options.rateLimiter?.() ?? serving.stores.limiter(),
      metrics: new Metrics({ tenantLabels: serving.metricsTenantLabels }),
      devIssuer: serving.devIssuer,
      journal: edgeJournal,
    };
    const pipeline = edgePipeline(edgeOptions);
    const edgeApp = createEdgeApp({ ...edgeOptions, pipeline });
    // Before the edge answers /healthz, so a client that waits for it finds the door open.
    let pgPort: number | undefined;
    if (options.pgPort !== undefined) {
      const doorOptions = {
        gateway: appGateway((request) => edgeApp.fetch(request)),
        port: options.pgPort,
        tls: options.pgTls,
        plaintext: "loopback" as const,
      };
      const door = await startPgDoor(doorOptions).catch((err) => {
        // Several local stacks on one machine (tests, acceptance runs) cannot all have 5433.
        if (!options.pgPortFallback || (err as { code?: string }).code !== "EADDRINUSE") throw err;
        return startPgDoor({ ...doorOptions, port: 0 });
      });
      closers.push(() => door.close());
      pgPort = door.port;
      // Best effort: a view not warmed starts on first use (and closing cancels the warm-up).
      door.views.warm().catch(() => {});
    }
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
      security: serving.security,
      stopZone: async (zone) => await stopWorker[zone]?.(),
      jobs: jobQueues,
      zoneStores,
      breakers,
      engines,
      pipeline,
      auditSettled: async () => {
        await Promise.all(journals.map((j) => j.settled()));
      },
      pgPort,
      close,
    };
  } catch (err) {
    await close();
    throw err;
  }
}
