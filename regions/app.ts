/**
 * The regional worker. It serves only tenants pinned to its zone, through two doors built from
 * the same middleware as the edge: `/internal/v1/query` for queries the edge forwards with a
 * signed context, and the zone's own `POST /v1/query` (plus `/v1/catalog`, `/v1/whoami`) for
 * clients that must not go through a global hop — authenticated and budgeted here.
 *
 * @module
 */
import { Hono, type MiddlewareHandler } from "hono";
import { CONTEXT_HEADER, type ContextTokens } from "../src/auth/context_token.ts";
import type { UserClaims, UserVerifier } from "../src/auth/user_token.ts";
import {
  type AppEnv,
  catalogListing,
  internalQueryRoute,
  notFound,
  queryRoute,
  receiveWebhook,
  renderErrors,
  signedIn,
  traceId,
  whoami,
} from "../src/http/mod.ts";
import type { QueryService } from "../src/query/service.ts";
import type { EdgeBudgets, RateLimiter } from "../src/ratelimit/mod.ts";
import type { ConnectorDef } from "../connectors/sdk/connector.ts";
import type { Catalog } from "../src/catalog/store.ts";
import type { TenantRow } from "../src/catalog/schema.ts";
import type { SecurityProvider } from "../src/policy/guard.ts";
import { AuditJournal } from "../src/audit/journal.ts";
import { openApiRoute } from "../src/http/openapi.ts";
import {
  admitZone,
  execute,
  identify,
  parseRequest,
  QueryPipeline,
  type ResultCacheOptions,
  serveFromCache,
  spendBudgets,
  type Step,
  submitJob,
} from "../src/pipeline/mod.ts";
import { accessLog, Logger, Metrics, metricsRoute, traceRequest } from "../src/telemetry/mod.ts";
import type { JobQueue } from "../src/jobs/mod.ts";
import { cancelJob, jobStatus } from "../src/http/mod.ts";
import type { WebhookReceiver } from "../src/webhooks/receiver.ts";
import { mcpEndpoint } from "../src/doors/mcp/mod.ts";
import { appGateway } from "../src/doors/gateway.ts";

/** What a worker is built from. */
export interface WorkerOptions {
  service: QueryService;
  catalog: Catalog;
  connectors: Record<string, ConnectorDef>;
  contextTokens: ContextTokens;
  /** Verifies user tokens on the zone's own endpoint. */
  verifyUser: UserVerifier;
  /** Budgets of the zone's own endpoint. */
  limiter: RateLimiter;
  /** Base URL of each zone's endpoint (for whoami). */
  zoneUrls: Record<string, string>;
  /** The worker's metrics, served at `/metrics`. @default a fresh registry */
  metrics?: Metrics;
  /** Where the access log goes. @default JSON lines on stdout/stderr */
  logger?: Logger;
  /** The zone's async jobs; without it `metadata.async` queries run synchronously. */
  jobs?: JobQueue;
  /** The tenant's budgets (from its settings). @default DEFAULT_BUDGETS */
  budgetsOf?: (tenant: TenantRow) => EdgeBudgets;
  /** The result cache of `/v1/query`. @default none */
  resultCache?: ResultCacheOptions;
  /**
   * Where the zone's query records go (`zoneAuditAppender` keeps the SQL text in the zone's
   * store). @default a journal in memory over the catalog's chain
   */
  journal?: AuditJournal;
  /** The tenants' policies, for what `/v1/catalog` lists. @default everything listed */
  security?: SecurityProvider;
  /** The bearer token `/metrics` requires. @default none: `/metrics` is open (local stack) */
  metricsToken?: string;
  /** Refuses tokens whose claims the tenant's policy would misread. @default no check */
  checkClaims?: (user: UserClaims) => Promise<void>;
  /** Starts loading what `checkClaims` reads for a tenant. @default nothing loaded ahead */
  prefetchClaims?: (tenantId: string) => void;
  /** Verifies and applies the apps' webhooks. @default no webhook route */
  webhooks?: WebhookReceiver;
}

/**
 * Builds a zone's worker app.
 *
 * @example
 * ```ts ignore
 * Deno.serve({ port: 8001 }, createWorkerApp(options).fetch);
 * ```
 */
export function createWorkerApp(options: WorkerOptions): Hono<AppEnv> {
  const { service, catalog } = options;
  const zone = service.zone;
  const app = new Hono<AppEnv>();
  app.use(traceId());
  app.onError(renderErrors);
  app.notFound(notFound);
  const metrics = options.metrics ?? new Metrics();
  const logger = options.logger ?? new Logger({ fields: { role: "worker", zone } });
  app.use(traceRequest(`worker ${zone}`), accessLog(logger));
  app.get("/metrics", metricsRoute(metrics, { token: options.metricsToken }));
  app.get("/openapi.json", openApiRoute({ role: "worker", zone }));

  app.get("/healthz", (c) => c.json({ ok: true, role: "worker", zone }));

  const journal = options.journal ??
    new AuditJournal({
      commit: (records) => Promise.all(records.map((r) => catalog.appendAudit(r))),
    });
  const pipeline = (first: Step, last: Step[]) =>
    new QueryPipeline({
      steps: [first, admitZone(service), parseRequest(), ...last],
      journal,
      zoneOf: () => zone,
      metrics,
    });
  // Forwarded by the edge, which identified the caller, spent the budgets and looked in the
  // result cache.
  const fromEdge = identify({
    verifyUser: options.verifyUser,
    getTenant: (id) => catalog.getTenant(id),
  });
  app.post(
    "/internal/v1/query",
    internalQueryRoute(pipeline(fromEdge, [execute(service)]), options.contextTokens, zone),
  );
  // The zone's own endpoint: everything the edge does, then execute here.
  const own = pipeline(
    identify({
      verifyUser: options.verifyUser,
      getTenant: (id) => catalog.getTenant(id),
      getUser: (tenant, email) => catalog.getUser(tenant, email),
      checkClaims: options.checkClaims,
      prefetchClaims: options.prefetchClaims,
    }),
    [
      spendBudgets({ limiter: options.limiter, budgetsOf: options.budgetsOf }),
      serveFromCache(options.resultCache, metrics),
      ...(options.jobs ? [submitJob(options.jobs)] : []),
      execute(service),
    ],
  );
  app.post("/v1/query", queryRoute(own));

  const jobs = options.jobs;
  const fromEdgeJobs = edgeContext(options.contextTokens, zone);
  if (jobs) {
    app.post(
      "/internal/v1/jobs",
      internalQueryRoute(
        pipeline(fromEdge, [submitJob(jobs, { always: true })]),
        options.contextTokens,
        zone,
      ),
    );
    app.get("/internal/v1/jobs/:id", fromEdgeJobs, jobStatus(jobs));
    app.delete("/internal/v1/jobs/:id", fromEdgeJobs, cancelJob(jobs));
  }

  // Before the bearer check: an app's signature is a webhook's authentication.
  if (options.webhooks) {
    app.post(
      "/v1/webhooks/:tenant/:connection",
      receiveWebhook(options.webhooks, { limiter: options.limiter }),
    );
  }
  app.use(
    "/v1/*",
    ...signedIn(options.verifyUser, catalog, options.checkClaims),
  );
  // Another zone's tenant is refused before anything is read.
  const admitted: MiddlewareHandler<AppEnv> = async function admitTenant(c, next) {
    await service.admit(c.get("user"));
    await next();
  };
  if (jobs) {
    app.get("/v1/jobs/:id", admitted, jobStatus(jobs));
    app.delete("/v1/jobs/:id", admitted, cancelJob(jobs));
  }
  app.get("/v1/catalog", admitted, catalogListing(options));
  app.get("/v1/whoami", whoami(options));
  app.all("/mcp", mcpEndpoint({ gateway: appGateway((request) => app.fetch(request)) }));
  return app;
}

/** Admits only requests carrying the edge's context token for this zone. */
function edgeContext(tokens: ContextTokens, zone: string): MiddlewareHandler<AppEnv> {
  return async function edgeContextMiddleware(c, next) {
    const ctx = await tokens.verify(c.req.header(CONTEXT_HEADER), zone);
    if (ctx.traceId) c.set("traceId", ctx.traceId);
    c.set("user", ctx.user);
    await next();
  };
}
