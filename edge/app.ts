/**
 * The edge: authenticates users, spends their budgets, and forwards each query to the worker of
 * the tenant's residency zone with a context token it signs. It never runs SQL on source data
 * and holds no app credentials.
 *
 * @module
 */
import { Hono, type MiddlewareHandler } from "hono";
import type { DevIssuer } from "../src/auth/dev_issuer.ts";
import { digestAuditAppender } from "../src/catalog/zone_audit.ts";
import {
  type AppEnv,
  catalogListing,
  forwardWebhook,
  notFound,
  queryRoute,
  renderErrors,
  signedIn,
  traceId,
  usageRoute,
  whoami,
  zoneSender,
} from "../src/http/mod.ts";
import { forwardJobs } from "../src/http/mod.ts";
import { openApiRoute } from "../src/http/openapi.ts";
import { AuditJournal } from "../src/audit/journal.ts";
import {
  assertNotDirectOnly,
  forward,
  forwardJob,
  parseRequest,
  QueryPipeline,
  refuseDirectOnly,
} from "../src/pipeline/mod.ts";
import {
  accessLog,
  Logger,
  Metrics,
  metricsRoute,
  tracedFetch,
  traceRequest,
} from "../src/telemetry/mod.ts";
import { webConsole } from "./console/mod.ts";
import { mcpEndpoint } from "../src/doors/mcp/mod.ts";
import { appGateway } from "../src/doors/gateway.ts";
import {
  identifyCaller,
  type ServingOptions,
  spendAndServeCached,
} from "../src/http/serving_options.ts";

/** What the edge is built from. */
export interface EdgeOptions extends ServingOptions {
  /** Serves the dev issuer's JWKS when set (local use only). */
  devIssuer?: DevIssuer;
  /** Used to reach the workers. @default globalThis.fetch */
  fetch?: typeof fetch;
  /** The pipeline of `POST /v1/query`. @default {@link edgePipeline} of these options */
  pipeline?: QueryPipeline;
}

/**
 * Builds the edge app.
 *
 * @example
 * ```ts ignore
 * Deno.serve({ port: 8000 }, createEdgeApp(options).fetch);
 * ```
 */
export function createEdgeApp(options: EdgeOptions): Hono<AppEnv> {
  const { catalog } = options;
  const app = new Hono<AppEnv>();
  app.use(traceId());
  app.onError(renderErrors);
  app.notFound(notFound);
  const metrics = options.metrics ?? new Metrics();
  app.use(
    traceRequest("edge"),
    accessLog(options.logger ?? new Logger({ fields: { role: "edge" } })),
  );
  app.get("/metrics", metricsRoute(metrics, { token: options.metricsToken }));
  app.get("/openapi.json", openApiRoute({ role: "edge" }));
  app.route("/", webConsole({ catalog, devIssuer: options.devIssuer }));

  app.get(
    "/healthz",
    (c) => c.json({ ok: true, role: "edge", zones: Object.keys(options.zoneUrls) }),
  );
  if (options.devIssuer) {
    const jwks = options.devIssuer.jwks();
    app.get("/.well-known/jwks.json", (c) => c.json(jwks));
  }

  // Before the bearer check: an app's signature is a webhook's authentication (in the zone).
  app.post("/v1/webhooks/:tenant/:connection", forwardWebhook(options));
  // Before the `/v1/*` middleware: the pipeline identifies the caller itself.
  app.post("/v1/query", queryRoute(options.pipeline ?? edgePipeline(options, metrics)));
  app.use(
    "/v1/*",
    ...signedIn(options.verifyUser, catalog, options.checkClaims),
  );
  // A direct-only tenant's policy forbids any traffic through a global hop: its jobs too.
  const refuseDirectOnlyJobs: MiddlewareHandler<AppEnv> = async function refuseDirectOnly(
    c,
    next,
  ) {
    const tenant = await catalog.getTenant(c.get("user").tenant);
    if (tenant) assertNotDirectOnly(tenant, options.zoneUrls);
    await next();
  };
  // Jobs live in the tenant's zone: their routes are forwarded there like queries.
  const jobs = forwardJobs(options);
  app.get("/v1/jobs/:id", refuseDirectOnlyJobs, jobs.status);
  app.delete("/v1/jobs/:id", refuseDirectOnlyJobs, jobs.cancel);
  app.get("/v1/catalog", catalogListing(options));
  app.get("/v1/whoami", whoami(options));
  app.get("/v1/usage", usageRoute(catalog));
  app.all("/mcp", mcpEndpoint({ gateway: appGateway((request) => app.fetch(request)) }));
  return app;
}

/**
 * The edge's query pipeline: identify the caller (and read the tenant once), refuse direct-only
 * tenants, read the request, spend the budgets, serve from the result cache, queue async jobs in
 * the zone — and forward the rest to the tenant's zone, which runs and records them. What the
 * edge answers itself (refusals, cache hits, an unreachable zone) it records, SQL as a digest.
 *
 * @example
 * ```ts ignore
 * const pipeline = edgePipeline(options);
 * const answer = await pipeline.run({ door: "pg", token, body: { sql: "SELECT 1" } });
 * ```
 */
export function edgePipeline(
  options: EdgeOptions,
  metrics: Metrics = options.metrics ?? new Metrics(),
): QueryPipeline {
  const { catalog } = options;
  const toZone = zoneSender({
    ...options,
    fetch: tracedFetch(options.fetch ?? globalThis.fetch, "edge forward"),
  });
  const append = digestAuditAppender(catalog);
  return new QueryPipeline({
    steps: [
      identifyCaller(options),
      refuseDirectOnly(options.zoneUrls),
      parseRequest(),
      ...spendAndServeCached(options, metrics),
      forwardJob(toZone),
      forward(toZone),
    ],
    journal: options.journal ??
      new AuditJournal({ commit: (records) => Promise.all(records.map(append)) }),
    zoneOf: (ctx) => ctx.tenant?.zone ?? "unknown",
    metrics,
  });
}
