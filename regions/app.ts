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
import {
  type AppEnv,
  catalogListing,
  internalCancelRoute,
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
import { AuditJournal } from "../src/audit/journal.ts";
import { openApiRoute } from "../src/http/openapi.ts";
import {
  admitZone,
  execute,
  identify,
  parseRequest,
  QueryPipeline,
  RunningQueries,
  type Step,
  submitJob,
} from "../src/pipeline/mod.ts";
import { accessLog, Logger, Metrics, metricsRoute, traceRequest } from "../src/telemetry/mod.ts";
import type { JobQueue } from "../src/jobs/mod.ts";
import { cancelJob, jobStatus } from "../src/http/mod.ts";
import type { WebhookReceiver } from "../src/webhooks/receiver.ts";
import type { NoticeBus } from "../src/cache/notices.ts";
import { mcpEndpoint } from "../src/doors/mcp/mod.ts";
import { appGateway } from "../src/doors/gateway.ts";
import {
  identifyCaller,
  type ServingOptions,
  spendAndServeCached,
} from "../src/http/serving_options.ts";

/** What a worker is built from. */
export interface WorkerOptions extends ServingOptions {
  service: QueryService;
  /** The zone's async jobs; without it `metadata.async` queries run synchronously. */
  jobs?: JobQueue;
  /** Verifies and applies the apps' webhooks. @default no webhook route */
  webhooks?: WebhookReceiver;
  /**
   * The deployment's notice bus: a cancel that reaches an instance not running the query goes to
   * the zone's other instances on it. @default a cancel stops this instance's queries only
   */
  notices?: NoticeBus;
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
  const running = new RunningQueries({ notices: options.notices });
  app.post(
    "/internal/v1/query",
    internalQueryRoute(
      pipeline(fromEdge, [execute(service)]),
      options.contextTokens,
      zone,
      running,
    ),
  );
  app.post("/internal/v1/cancel", internalCancelRoute(running, options.contextTokens, zone));
  // The zone's own endpoint: everything the edge does, then execute here.
  const own = pipeline(
    identifyCaller(options),
    [
      ...spendAndServeCached(options, metrics),
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
    const ctx = await tokens.verify(c.req.header(CONTEXT_HEADER), zone, {
      method: c.req.method,
      path: c.req.path,
    });
    if (ctx.traceId) c.set("traceId", ctx.traceId);
    c.set("user", ctx.user);
    await next();
  };
}
