/**
 * The edge: authenticates users, spends their budgets, and forwards each query to the worker of
 * the tenant's residency zone with a context token it signs. It never runs SQL on source data
 * and holds no app credentials.
 *
 * @module
 */
import { Hono, type MiddlewareHandler } from "hono";
import type { ContextTokens } from "../src/auth/context_token.ts";
import type { DevIssuer } from "../src/auth/dev_issuer.ts";
import type { UserClaims, UserVerifier } from "../src/auth/user_token.ts";
import type { Catalog } from "../src/catalog/store.ts";
import type { SecurityProvider } from "../src/query/guard.ts";
import { digestAuditAppender } from "../src/catalog/zone_audit.ts";
import type { ConnectorDef } from "../connectors/sdk/connector.ts";
import { OmniError } from "../src/errors.ts";
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
  zoneForwarder,
} from "../src/http/mod.ts";
import type { RateLimiter } from "../src/ratelimit/mod.ts";
import { forwardJobs } from "../src/jobs/mod.ts";
import { openApiRoute } from "../src/http/openapi.ts";
import {
  accessLog,
  Logger,
  Metrics,
  metricsRoute,
  recordQueries,
  tracedFetch,
  traceRequest,
} from "../src/telemetry/mod.ts";
import { webConsole } from "./console/mod.ts";
import { mcpEndpoint } from "../src/doors/mcp/mod.ts";
import { appGateway } from "../src/doors/gateway.ts";

/** What the edge is built from. */
export interface EdgeOptions {
  catalog: Catalog;
  verifyUser: UserVerifier;
  contextTokens: ContextTokens;
  /** Base URL of each zone's worker. */
  zoneUrls: Record<string, string>;
  limiter: RateLimiter;
  connectors: Record<string, ConnectorDef>;
  /** Serves the dev issuer's JWKS when set (local use only). */
  devIssuer?: DevIssuer;
  /** Used to reach the workers. @default globalThis.fetch */
  fetch?: typeof fetch;
  /** The edge's metrics, served at `/metrics`. @default a fresh registry */
  metrics?: Metrics;
  /** Where the access log goes. @default JSON lines on stdout/stderr */
  logger?: Logger;
  /** Per-tenant budgets (the catalog's settings). @default DEFAULT_BUDGETS */
  budgetsFor?: RateLimitOptions["budgetsFor"];
  /** The result cache of `/v1/query`. @default none */
  resultCache?: ResultCacheOptions;
  /** The tenants' policies, for what `/v1/catalog` lists. @default everything listed */
  security?: SecurityProvider;
  /** The bearer token `/metrics` requires. @default none: `/metrics` is open (local stack) */
  metricsToken?: string;
  /** Refuses tokens whose claims the tenant's policy would misread. @default no check */
  checkClaims?: (user: UserClaims) => Promise<void>;
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
  app.use(
    "/v1/query",
    recordQueries({ metrics, zoneOf: async (t) => (await catalog.getTenant(t))?.zone }),
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
  // A direct-only tenant's policy forbids any traffic through a global hop.
  const refuseDirectOnly: MiddlewareHandler<AppEnv> = async function refuseDirectOnly(c, next) {
    const tenant = await catalog.getTenant(c.get("user").tenant);
    if (tenant?.directOnly) {
      const endpoint = options.zoneUrls[tenant.zone];
      throw new OmniError(
        "ENTITLEMENT_DENIED",
        `tenant ${tenant.id} is direct-only: send its queries to the ${tenant.zone} zone endpoint` +
          (endpoint ? ` ${endpoint}/v1/query` : ""),
        { details: { zone: tenant.zone, endpoint_url: endpoint ?? null } },
      );
    }
    await next();
  };
  // Async queries and their jobs live in the tenant's zone: forwarded there like queries.
  const jobs = forwardJobs(options);
  app.post(
    "/v1/query",
    auditOutcome({
      // The edge is global: the SQL text of a query it answers or refuses stays out of the
      // central catalog (its digest is recorded).
      append: digestAuditAppender(catalog),
      zoneOf: async (t) => (await catalog.getTenant(t))?.zone,
    }),
    refuseDirectOnly,
    queryRequest(),
    rateLimit({ limiter: options.limiter, budgetsFor: options.budgetsFor }),
    resultCache(options.resultCache, metrics),
    jobs.asyncQuery,
    runQuery(forwardQuery(options)),
  );
  app.get("/v1/jobs/:id", refuseDirectOnly, jobs.status);
  app.delete("/v1/jobs/:id", refuseDirectOnly, jobs.cancel);
  app.get("/v1/catalog", catalogListing(options));
  app.get("/v1/whoami", whoami(options));
  app.all("/mcp", mcpEndpoint({ gateway: appGateway((request) => app.fetch(request)) }));
  return app;
}

/** Forwards a query to the tenant's zone worker, which runs and audits it. */
function forwardQuery(options: EdgeOptions): QueryRunner {
  const toZone = zoneForwarder({
    ...options,
    fetch: tracedFetch(options.fetch ?? globalThis.fetch, "edge forward"),
  });
  return async function forwardQuery({ user, request, traceId, signal, door, markAudited }) {
    const { body } = await toZone({
      user,
      traceId,
      method: "POST",
      path: "/internal/v1/query",
      body: request,
      signal,
      door,
      delivered: markAudited,
    });
    return body;
  };
}
