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
  auditOutcome,
  authenticate,
  catalogListing,
  notFound,
  passthroughToken,
  queryRequest,
  type QueryRunner,
  rateLimit,
  type RateLimitOptions,
  renderErrors,
  resultCache,
  type ResultCacheOptions,
  runQuery,
  traceId,
  userAttributes,
  whoami,
} from "../src/http/mod.ts";
import type { QueryService } from "../src/query/service.ts";
import type { RateLimiter } from "../src/ratelimit/mod.ts";
import type { ConnectorDef } from "../connectors/sdk/connector.ts";
import type { Catalog } from "../src/catalog/store.ts";
import type { SecurityProvider } from "../src/query/guard.ts";
import type { AuditAppender } from "../src/catalog/zone_audit.ts";
import { openApiRoute } from "../src/http/openapi.ts";
import {
  accessLog,
  Logger,
  Metrics,
  metricsRoute,
  recordQueries,
  traceRequest,
} from "../src/telemetry/mod.ts";
import { asyncQuery, cancelJob, type JobQueue, jobStatus } from "../src/jobs/mod.ts";
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
  /** Per-tenant budgets (the catalog's settings). @default DEFAULT_BUDGETS */
  budgetsFor?: RateLimitOptions["budgetsFor"];
  /** The result cache of `/v1/query`. @default none */
  resultCache?: ResultCacheOptions;
  /** Where query records go (the zone's store keeps SQL text). @default the catalog */
  appendAudit?: AuditAppender;
  /** The tenants' policies, for what `/v1/catalog` lists. @default everything listed */
  security?: SecurityProvider;
  /** The bearer token `/metrics` requires. @default none: `/metrics` is open (local stack) */
  metricsToken?: string;
  /** Refuses tokens whose claims the tenant's policy would misread. @default no check */
  checkClaims?: (user: UserClaims) => Promise<void>;
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
  const countQueries = recordQueries({ metrics, zoneOf: () => zone });
  app.use("/v1/query", countQueries);
  app.use("/internal/v1/query", countQueries);
  app.get("/metrics", metricsRoute(metrics, { token: options.metricsToken }));
  app.get("/openapi.json", openApiRoute({ role: "worker", zone }));

  app.get("/healthz", (c) => c.json({ ok: true, role: "worker", zone }));

  const execute: QueryRunner = ({ user, request, traceId, signal, door, markAudited }) => {
    markAudited();
    return service.run({ user, request, traceId, signal, door });
  };

  const fromEdge = edgeContext(options.contextTokens, zone);
  app.post("/internal/v1/query", fromEdge, queryRequest(), runQuery(execute));
  const jobs = options.jobs;
  const asyncJobs: MiddlewareHandler<AppEnv> = jobs
    ? asyncQuery(jobs)
    : async function syncOnly(_c, next) {
      await next();
    };
  if (jobs) {
    app.post("/internal/v1/jobs", fromEdge, queryRequest(), asyncQuery(jobs, { always: true }));
    app.get("/internal/v1/jobs/:id", fromEdge, jobStatus(jobs));
    app.delete("/internal/v1/jobs/:id", fromEdge, cancelJob(jobs));
  }

  app.use(
    "/v1/*",
    authenticate(options.verifyUser, {
      tenantExists: async (t) => (await catalog.getTenant(t)) !== undefined,
    }),
    userAttributes((tenant, email) => catalog.getUser(tenant, email), {
      checkClaims: options.checkClaims,
    }),
    passthroughToken(),
  );
  // Another zone's tenant is refused before anything is spent or run.
  const admitted: MiddlewareHandler<AppEnv> = async function admitTenant(c, next) {
    await service.admit(c.get("user"));
    await next();
  };
  app.post(
    "/v1/query",
    auditOutcome({
      append: options.appendAudit ?? ((r) => catalog.appendAudit(r)),
      zoneOf: () => zone,
    }),
    admitted,
    queryRequest(),
    rateLimit({ limiter: options.limiter, budgetsFor: options.budgetsFor }),
    resultCache(options.resultCache, metrics),
    asyncJobs,
    runQuery(execute),
  );
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
    c.set("door", ctx.door ?? "http");
    c.set("user", ctx.user);
    await next();
  };
}
