/**
 * The regional worker: it serves only tenants pinned to its zone, runs their queries (plan,
 * fetch through the connectors, join in DuckDB) and audits every one, success or failure.
 *
 * @module
 */
import { Hono } from "hono";
import { ContextTokens } from "../src/auth/context_token.ts";
import type { Catalog } from "../src/catalog/store.ts";
import type { ConnectorDef } from "../connectors/sdk/connector.ts";
import type { DuckEngine } from "../src/duckdb/engine.ts";
import { OmniError, toOmniError } from "../src/errors.ts";
import {
  type AppEnv,
  errorResponse,
  notFound,
  readJsonBody,
  renderErrors,
  traceId,
} from "../src/http/mod.ts";
import { executeQuery } from "../src/query/execute.ts";
import { MAX_BODY_BYTES, parseQueryRequest, type QueryRequest } from "../src/query/request.ts";

/** Header carrying the edge's signed context. */
export const CONTEXT_HEADER = "x-omnisql-context";

/** What a worker is built from. */
export interface WorkerOptions {
  zone: string;
  catalog: Catalog;
  contextTokens: ContextTokens;
  engine: DuckEngine;
  connectors: Record<string, ConnectorDef>;
  /** Used for calls to the apps. @default globalThis.fetch */
  fetch?: typeof fetch;
}

/**
 * Builds a zone's worker app.
 *
 * @example
 * ```ts ignore
 * Deno.serve({ port: 8001 }, createWorkerApp({ zone: "us", catalog, contextTokens, engine, connectors }).fetch);
 * ```
 */
export function createWorkerApp(options: WorkerOptions): Hono<AppEnv> {
  const { zone, catalog } = options;
  const app = new Hono<AppEnv>();
  app.use(traceId());
  app.onError(renderErrors);
  app.notFound(notFound);

  app.get("/healthz", (c) => c.json({ ok: true, role: "worker", zone }));

  app.post("/internal/v1/query", async (c) => {
    const ctx = await options.contextTokens.verify(c.req.header(CONTEXT_HEADER), zone);
    c.set("traceId", ctx.traceId || c.get("traceId"));
    c.set("user", ctx.user);
    const tenant = await catalog.getTenant(ctx.user.tenant);
    if (!tenant) throw new OmniError("UNAUTHENTICATED", `unknown tenant ${ctx.user.tenant}`);
    if (tenant.zone !== zone) {
      // Residency: never execute another zone's tenant, never fall back.
      throw new OmniError(
        "ENTITLEMENT_DENIED",
        `tenant ${tenant.id} is pinned to zone ${tenant.zone}; this worker serves zone ${zone}`,
        { details: { tenant_zone: tenant.zone, worker_zone: zone } },
      );
    }

    let request: QueryRequest | undefined;
    try {
      request = parseQueryRequest(await readJsonBody(c, MAX_BODY_BYTES));
      const connections = await catalog.listConnections(tenant.id);
      const result = await executeQuery(request, {
        connections,
        traceId: c.get("traceId"),
        zone,
        signal: c.req.raw.signal,
      }, options);
      const tables = result.sources.map((s) => s.table);
      await catalog.appendAudit({
        tenantId: tenant.id,
        userEmail: ctx.user.sub,
        zone,
        traceId: c.get("traceId"),
        sql: request.sql,
        tables,
        rows: "rows" in result ? result.rows.length : null,
        status: 200,
        errorCode: null,
        kind: "query",
      });
      return c.json(result);
    } catch (err) {
      const error = toOmniError(err);
      // An audit failure here must not hide the original error; it is logged by errorResponse.
      await catalog.appendAudit({
        tenantId: tenant.id,
        userEmail: ctx.user.sub,
        zone,
        traceId: c.get("traceId"),
        sql: request?.sql ?? "",
        tables: [],
        rows: null,
        status: error.status,
        errorCode: error.code,
        kind: "query",
      }).catch((auditErr) =>
        console.error(
          JSON.stringify({
            level: "error",
            msg: "audit failed",
            trace_id: c.get("traceId"),
            error: String(auditErr),
          }),
        )
      );
      return errorResponse(c, error);
    }
  });

  return app;
}
