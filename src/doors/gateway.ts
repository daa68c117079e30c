/**
 * The seam between a door (Postgres wire, MCP) and the request pipeline: a door never runs a
 * query itself; it hands the user's bearer token and a `POST /v1/query` body to the app's own
 * handling, in-process, so budgets, the result cache, residency routing, RLS/CLS and the audit
 * apply exactly as over HTTP. The request is marked with its door (`src/http/door.ts`), which
 * the audit records and no client can forge.
 *
 * @module
 */
import { type Door, doorRequest } from "../http/door.ts";
import { OmniError } from "../errors.ts";
import type { ExplainResponse, QueryResponse } from "../query/execute.ts";

/** One call a door makes. */
export interface GatewayCall {
  door: Door;
  /** The user's token (JWT), verified by the pipeline like any bearer token. */
  token: string;
  method: "GET" | "POST";
  /** `/v1/query`, `/v1/catalog` or `/v1/whoami`. */
  path: string;
  body?: unknown;
  /** Aborting it stops the query (a Postgres cancel request, a closed MCP stream). */
  signal?: AbortSignal;
}

/** What the pipeline answered. */
export interface GatewayAnswer {
  status: number;
  body: unknown;
}

/** Runs a door's call through the pipeline. */
export type Gateway = (call: GatewayCall) => Promise<GatewayAnswer>;

/** A Hono app's (or any) in-process `fetch`. */
export type AppFetch = (request: Request) => Response | Promise<Response>;

/**
 * A gateway that calls an app in-process: the edge's app, or a zone's own app.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { appGateway } from "./gateway.ts";
 * import { doorOf } from "../http/door.ts";
 * const gateway = appGateway((req) => Response.json({ door: doorOf(req) }));
 * const answer = await gateway({ door: "pg", token: "t", method: "GET", path: "/v1/whoami" });
 * assert.deepEqual(answer, { status: 200, body: { door: "pg" } });
 * ```
 */
export function appGateway(fetch: AppFetch): Gateway {
  return async function callApp(call) {
    const request = doorRequest(call.door, `http://omnisql.internal${call.path}`, {
      method: call.method,
      headers: {
        authorization: `Bearer ${call.token}`,
        ...(call.body === undefined ? {} : { "content-type": "application/json" }),
      },
      body: call.body === undefined ? undefined : JSON.stringify(call.body),
      signal: call.signal,
    });
    const response = await fetch(request);
    const body = await response.json().catch(() => null);
    return { status: response.status, body };
  };
}

/** The body of `POST /v1/query`. */
export interface QueryBody {
  sql: string;
  metadata?: { max_staleness_ms?: number; timeout_ms?: number; trace_id?: string };
}

/**
 * Runs a query through the gateway; an error answer is thrown as the same {@link OmniError}.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { appGateway, runQuery } from "./gateway.ts";
 * const gateway = appGateway(() =>
 *   Response.json({ error: { code: "PLAN_FAILED", message: "unknown table x.y" } }, { status: 400 })
 * );
 * await assert.rejects(runQuery(gateway, "mcp", "t", { sql: "SELECT * FROM x.y" }), /unknown table/);
 * ```
 */
export async function runQuery(
  gateway: Gateway,
  door: Door,
  token: string,
  body: QueryBody,
  signal?: AbortSignal,
): Promise<QueryResponse | ExplainResponse> {
  const answer = await gateway({ door, token, method: "POST", path: "/v1/query", body, signal });
  if (answer.status !== 200) throw OmniError.fromBody(answer.body, answer.status);
  return answer.body as QueryResponse | ExplainResponse;
}

/** One table of `GET /v1/catalog`. */
export interface CatalogTable {
  table: string;
  connector: string;
  description?: string;
  columns: {
    name: string;
    type: string;
    description?: string;
    /** Operators the source can filter this column with (pushed down: fewer API calls). */
    filterable?: string[];
    masked?: boolean;
  }[];
}

/**
 * The tables and columns this user may read (`GET /v1/catalog`); throws `UNAUTHENTICATED` for a
 * token the pipeline refuses.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { appGateway, userCatalog } from "./gateway.ts";
 * const gateway = appGateway(() => Response.json({ tenant: "acme", tables: [] }));
 * assert.deepEqual(await userCatalog(gateway, "pg", "t"), []);
 * ```
 */
export async function userCatalog(
  gateway: Gateway,
  door: Door,
  token: string,
): Promise<CatalogTable[]> {
  const answer = await gateway({ door, token, method: "GET", path: "/v1/catalog" });
  if (answer.status !== 200) throw OmniError.fromBody(answer.body, answer.status);
  return (answer.body as { tables: CatalogTable[] }).tables;
}
