/**
 * The `POST /v1/query` route, shared by the edge and the zones' own endpoints: validate the body,
 * run the query (forward it, or execute it here), and answer with the caller's budget folded
 * into `rate_limit_status`.
 *
 * @module
 */
import type { Handler, MiddlewareHandler } from "hono";
import type { UserClaims } from "../auth/user_token.ts";
import {
  isPlainObject,
  MAX_BODY_BYTES,
  parseQueryRequest,
  type QueryRequest,
} from "../query/request.ts";
import type { AppEnv, BudgetStatus } from "./env.ts";
import { readJsonBody } from "./json_body.ts";
import { type Door, requestDoor } from "./door.ts";

/**
 * Set on an answer whose query reached a component that audits it (a zone's query service), so
 * a forwarding edge knows the query is on record and need not audit it itself.
 */
export const AUDITED_HEADER = "x-omnisql-audited";

/** Runs a validated query for a user; returns the response body. */
export type QueryRunner = (input: {
  user: UserClaims;
  request: QueryRequest;
  traceId: string;
  signal: AbortSignal;
  /** The door the query came in by, for its audit record. */
  door: Door;
  /** Call once the query has reached a component that audits it (a zone's query service). */
  markAudited: () => void;
}) => Promise<unknown>;

/**
 * Middleware that reads and validates the query body into `c.var.query`; the body's
 * `metadata.trace_id`, when given, becomes the trace id.
 *
 * @example
 * ```ts ignore
 * app.post("/v1/query", queryRequest(), runQuery(runner));
 * ```
 */
export function queryRequest(): MiddlewareHandler<AppEnv> {
  return async function queryRequestMiddleware(c, next) {
    const request = parseQueryRequest(await readJsonBody(c, MAX_BODY_BYTES));
    if (request.metadata.trace_id) c.set("traceId", request.metadata.trace_id);
    c.set("query", request);
    await next();
  };
}

/**
 * The handler that runs the query and answers it.
 *
 * @example
 * ```ts ignore
 * app.post("/v1/query", queryRequest(), runQuery(({ request }) => service.run(...)));
 * ```
 */
export function runQuery(run: QueryRunner): Handler<AppEnv> {
  return async function runQueryHandler(c) {
    const body = await run({
      user: c.get("user"),
      request: c.get("query"),
      traceId: c.get("traceId"),
      signal: c.req.raw.signal,
      door: requestDoor(c),
      markAudited: () => {
        c.set("audited", true);
        c.header(AUDITED_HEADER, "1");
      },
    });
    const budget = c.get("budget");
    if (budget && isPlainObject(body) && "rate_limit_status" in body) {
      body.rate_limit_status = tighter(budget, body.rate_limit_status as BudgetStatus);
    }
    return c.json(body as Record<string, unknown>);
  };
}

/** The budget closer to running out; a source that reports none (remaining < 0) loses. */
function tighter(caller: BudgetStatus, source: BudgetStatus | undefined): BudgetStatus {
  if (!source || source.remaining < 0 || caller.remaining <= source.remaining) return caller;
  return source;
}
