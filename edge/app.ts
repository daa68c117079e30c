/**
 * The edge: authenticates users, spends their budgets, and forwards each query to the worker of
 * the tenant's residency zone with a context token it signs. It never runs SQL on source data
 * and holds no app credentials.
 *
 * @module
 */
import { Hono } from "hono";
import type { ContextTokens } from "../src/auth/context_token.ts";
import type { DevIssuer } from "../src/auth/dev_issuer.ts";
import type { UserVerifier } from "../src/auth/user_token.ts";
import type { Catalog } from "../src/catalog/store.ts";
import type { ConnectorDef } from "../connectors/sdk/connector.ts";
import { OmniError } from "../src/errors.ts";
import {
  type AppEnv,
  authenticate,
  notFound,
  readJsonBody,
  renderErrors,
  traceId,
} from "../src/http/mod.ts";
import { MAX_BODY_BYTES, parseQueryRequest } from "../src/query/request.ts";
import { type RateLimiter, spendEdgeBudgets } from "../src/ratelimit/mod.ts";
import { CONTEXT_HEADER } from "../regions/app.ts";

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
  const fetchWorker = options.fetch ?? globalThis.fetch;
  const app = new Hono<AppEnv>();
  app.use(traceId());
  app.onError(renderErrors);
  app.notFound(notFound);

  app.get(
    "/healthz",
    (c) => c.json({ ok: true, role: "edge", zones: Object.keys(options.zoneUrls) }),
  );
  if (options.devIssuer) {
    const jwks = options.devIssuer.jwks();
    app.get("/.well-known/jwks.json", (c) => c.json(jwks));
  }

  app.use("/v1/*", authenticate(options.verifyUser));
  // Attributes an issuer did not put in the token come from the tenant's user directory.
  app.use("/v1/*", async function userAttributes(c, next) {
    const user = c.get("user");
    if (user.role === undefined) {
      const row = await catalog.getUser(user.tenant, user.sub);
      if (row) c.set("user", { ...user, role: row.role, team_id: row.teamId });
    }
    await next();
  });

  async function tenantOf(tenantId: string) {
    const tenant = await catalog.getTenant(tenantId);
    if (!tenant) throw new OmniError("UNAUTHENTICATED", `unknown tenant ${tenantId}`);
    return tenant;
  }

  app.post("/v1/query", async (c) => {
    const user = c.get("user");
    const request = parseQueryRequest(await readJsonBody(c, MAX_BODY_BYTES));
    if (request.metadata.trace_id) c.set("traceId", request.metadata.trace_id);
    const tenant = await tenantOf(user.tenant);
    const budget = await spendEdgeBudgets(options.limiter, tenant.id, user.sub);
    const workerUrl = options.zoneUrls[tenant.zone];
    if (!workerUrl) {
      throw new OmniError("REGION_UNAVAILABLE", `zone ${tenant.zone} has no worker configured`, {
        details: { zone: tenant.zone },
      });
    }
    const context = await options.contextTokens.sign({
      user,
      zone: tenant.zone,
      traceId: c.get("traceId"),
    });
    let res: Response;
    try {
      res = await fetchWorker(new URL("/internal/v1/query", workerUrl), {
        method: "POST",
        headers: { "content-type": "application/json", [CONTEXT_HEADER]: context },
        body: JSON.stringify(request),
        signal: c.req.raw.signal,
      });
    } catch (err) {
      // Residency: when the tenant's zone is down the answer is an error, never another zone.
      throw new OmniError("REGION_UNAVAILABLE", `zone ${tenant.zone} cannot serve now`, {
        retryAfterMs: 5_000,
        details: { zone: tenant.zone },
        cause: err,
      });
    }
    const body = await res.json().catch(() => null);
    if (!res.ok) throw OmniError.fromBody(body, res.status);
    if (body && typeof body === "object" && "rate_limit_status" in body) {
      const source = (body as { rate_limit_status: { remaining: number } }).rate_limit_status;
      if (source.remaining < 0 || budget.remaining <= source.remaining) {
        (body as Record<string, unknown>).rate_limit_status = budget;
      }
    }
    return c.json(body);
  });

  app.get("/v1/catalog", async (c) => {
    const user = c.get("user");
    const connections = await catalog.listConnectionsPublic(user.tenant);
    const tables = connections.flatMap((conn) => {
      const connector = options.connectors[conn.connector];
      return (connector?.tables ?? []).map((t) => ({
        table: `${conn.name}.${t.name}`,
        connector: conn.connector,
        description: t.description,
        columns: t.columns.map((col) => ({
          name: col.name,
          type: col.type,
          description: col.description,
          filterable: t.keyColumns.find((k) => k.column === col.name)?.operators ?? [],
        })),
      }));
    });
    return c.json({ tenant: user.tenant, tables });
  });

  app.get("/v1/whoami", async (c) => {
    const user = c.get("user");
    const tenant = await tenantOf(user.tenant);
    return c.json({
      user: user.sub,
      tenant: tenant.id,
      role: user.role ?? null,
      team_id: user.team_id ?? null,
      zone: tenant.zone,
      endpoint_url: options.zoneUrls[tenant.zone] ?? null,
    });
  });

  return app;
}
