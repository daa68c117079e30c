/**
 * The OpenAPI 3.1 document of the edge and of a zone's worker, generated from the zod schemas
 * that validate requests (`QueryRequestSchema`) and describe answers (`./api_schemas.ts`) —
 * there is no hand-kept copy to drift.
 *
 * @module
 */
import { z } from "zod";
import type { Handler } from "hono";
import { ERROR_STATUS } from "../errors.ts";
import { QueryRequestSchema, TRACE_ID } from "../query/request.ts";
import {
  CatalogListingSchema,
  ErrorBodySchema,
  ExplainResponseSchema,
  QueryResponseSchema,
  WhoamiSchema,
} from "./api_schemas.ts";
import type { AppEnv } from "./env.ts";

/** Options of {@link buildOpenApi}. */
export interface OpenApiOptions {
  /** Which app the document describes. */
  role: "edge" | "worker";
  /** The zone a worker serves (named in the title). */
  zone?: string;
  /** @default "1.0.0" */
  version?: string;
}

/** An OpenAPI document (plain JSON). */
export type OpenApiDocument = Record<string, unknown> & {
  openapi: string;
  paths: Record<string, unknown>;
};

const REF = (id: string) => ({ $ref: `#/components/schemas/${id}` });

/** Generates `components.schemas` from the zod schemas, requests as input, answers as output. */
function componentSchemas(): Record<string, unknown> {
  const requests = z.registry<{ id: string }>();
  requests.add(QueryRequestSchema, { id: "QueryRequest" });
  const answers = z.registry<{ id: string }>();
  answers.add(QueryResponseSchema, { id: "QueryResponse" });
  answers.add(ExplainResponseSchema, { id: "ExplainResponse" });
  answers.add(ErrorBodySchema, { id: "Error" });
  answers.add(CatalogListingSchema, { id: "CatalogListing" });
  answers.add(WhoamiSchema, { id: "Whoami" });
  const uri = (id: string) => `#/components/schemas/${id}`;
  const all = {
    ...z.toJSONSchema(requests, { io: "input", uri }).schemas,
    ...z.toJSONSchema(answers, { io: "output", uri }).schemas,
  };
  // In OpenAPI 3.1 the dialect is the document's; the per-schema `$schema`/`$id` are noise.
  return Object.fromEntries(
    Object.entries(all).map(([id, { $schema: _s, $id: _i, ...schema }]) => [id, schema]),
  );
}

function errorResponses(codes: (keyof typeof ERROR_STATUS)[]): Record<string, unknown> {
  const byStatus = new Map<number, string[]>();
  for (const code of codes) {
    const status = ERROR_STATUS[code];
    byStatus.set(status, [...(byStatus.get(status) ?? []), code]);
  }
  return Object.fromEntries(
    [...byStatus].map(([status, names]) => [String(status), {
      description: names.join(", "),
      content: { "application/json": { schema: REF("Error") } },
    }]),
  );
}

const QUERY_ERRORS = [
  "INVALID_REQUEST",
  "PLAN_FAILED",
  "UNAUTHENTICATED",
  "ENTITLEMENT_DENIED",
  "RATE_LIMIT_EXHAUSTED",
  "STALE_DATA",
  "REGION_UNAVAILABLE",
  "SOURCE_ERROR",
  "SOURCE_TIMEOUT",
  "QUERY_TIMEOUT",
  "RESOURCE_EXHAUSTED",
] as (keyof typeof ERROR_STATUS)[];

function queryOperation(summary: string, security: Record<string, string[]>[]) {
  return {
    summary,
    description: "Runs one read-only SQL statement over the caller's connected apps. " +
      "`EXPLAIN <query>` answers with the plan instead of rows.",
    security,
    parameters: [{
      name: "x-trace-id",
      in: "header",
      required: false,
      description: "A trace id to use (also accepted as `metadata.trace_id`).",
      schema: { type: "string", pattern: TRACE_ID.source },
    }],
    requestBody: {
      required: true,
      content: { "application/json": { schema: REF("QueryRequest") } },
    },
    responses: {
      "200": {
        description: "The result, or the plan for `EXPLAIN`.",
        content: {
          "application/json": {
            schema: { oneOf: [REF("QueryResponse"), REF("ExplainResponse")] },
          },
        },
      },
      ...errorResponses(QUERY_ERRORS),
    },
  };
}

function getJson(summary: string, schema: unknown, security: Record<string, string[]>[]) {
  return {
    get: {
      summary,
      security,
      responses: {
        "200": { description: summary, content: { "application/json": { schema } } },
        ...errorResponses(["UNAUTHENTICATED", "ENTITLEMENT_DENIED"]),
      },
    },
  };
}

/**
 * Builds the OpenAPI 3.1 document of the edge or a worker.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { buildOpenApi } from "./openapi.ts";
 * const doc = buildOpenApi({ role: "edge" });
 * assert.ok(doc.openapi === "3.1.0" && "/v1/query" in doc.paths);
 * ```
 */
export function buildOpenApi(options: OpenApiOptions): OpenApiDocument {
  const bearer = [{ bearer: [] }];
  const paths: Record<string, unknown> = {
    "/v1/query": {
      post: queryOperation(
        options.role === "edge"
          ? "Run a query (routed to the tenant's residency zone)"
          : `Run a query in zone ${options.zone ?? ""} (the zone's own endpoint)`.trim(),
        bearer,
      ),
    },
    "/v1/catalog": getJson(
      "Tables and columns the caller may query",
      REF("CatalogListing"),
      bearer,
    ),
    "/v1/whoami": getJson("The caller's tenant, zone and zone endpoint", REF("Whoami"), bearer),
    "/v1/webhooks/{tenant}/{connection}": {
      post: {
        summary: "An app's webhook (GitHub, Linear, Jira): invalidates what it changed",
        security: [],
        description: "Authenticated by the app's signature over the raw body " +
          "(`X-Hub-Signature-256`, `Linear-Signature`, `X-Hub-Signature`), not by a bearer token.",
        parameters: ["tenant", "connection"].map((name) => ({
          name,
          in: "path",
          required: true,
          schema: { type: "string" },
        })),
        requestBody: { content: { "application/json": {} } },
        responses: {
          "200": { description: "Applied, or ignored (a replay, or outside the window)" },
          ...errorResponses(["UNAUTHENTICATED", "PAYLOAD_TOO_LARGE", "RATE_LIMIT_EXHAUSTED"]),
        },
      },
    },
    "/healthz": {
      get: {
        summary: "Liveness",
        responses: { "200": { description: "The app is up" } },
      },
    },
    "/metrics": {
      get: {
        summary: "Prometheus metrics",
        responses: {
          "200": { description: "Text exposition format", content: { "text/plain": {} } },
        },
      },
    },
    "/openapi.json": {
      get: {
        summary: "This document",
        responses: { "200": { description: "OpenAPI 3.1", content: { "application/json": {} } } },
      },
    },
  };
  if (options.role === "edge") {
    paths["/v1/usage"] = getJson(
      "API calls per connection per day and cost budgets (tenant admins)",
      { type: "object" },
      bearer,
    );
  }
  if (options.role === "worker") {
    paths["/internal/v1/query"] = {
      post: {
        ...queryOperation("A query the edge forwards", [{ edgeContext: [] }]),
        description: "Only for the edge: carries its signed, short-lived context token.",
      },
    };
    paths["/internal/v1/cancel"] = {
      post: {
        summary: "Stops the running queries of the context's user and trace id",
        description: "Only for the edge, when a caller leaves; the query's own answer records it.",
        security: [{ edgeContext: [] }],
        responses: {
          "202": {
            description: "How many were running here",
            content: {
              "application/json": {
                schema: {
                  type: "object",
                  properties: { cancelled: { type: "integer" } },
                  required: ["cancelled"],
                },
              },
            },
          },
        },
      },
    };
  }
  return {
    openapi: "3.1.0",
    info: {
      title: options.role === "edge"
        ? "OmniSQL edge"
        : `OmniSQL worker${options.zone ? ` (zone ${options.zone})` : ""}`,
      version: options.version ?? "1.0.0",
      description: "Federated SQL over SaaS apps. Every error is `Error` with a code from the " +
        "vocabulary and its HTTP status; a bad input is never a 500.",
    },
    paths,
    components: {
      schemas: componentSchemas(),
      securitySchemes: {
        bearer: { type: "http", scheme: "bearer", bearerFormat: "JWT" },
        edgeContext: { type: "apiKey", in: "header", name: "x-omnisql-context" },
      },
    },
  };
}

/**
 * `GET /openapi.json`: the document, built once.
 *
 * @example
 * ```ts ignore
 * app.get("/openapi.json", openApiRoute({ role: "edge" }));
 * ```
 */
export function openApiRoute(options: OpenApiOptions): Handler<AppEnv> {
  const doc = buildOpenApi(options);
  return function openApiHandler(c) {
    return c.json(doc);
  };
}
