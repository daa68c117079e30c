/**
 * `POST /v1/query` over HTTP: a thin adapter over the query pipeline (`src/pipeline/`). It
 * hands the pipeline the bearer token, the passthrough header, the body (read only once the
 * caller is identified) and the trace id, and writes the pipeline's answer back.
 *
 * @module
 */
import type { Context, Handler } from "hono";
import { CONTEXT_HEADER, type ContextTokens } from "../auth/context_token.ts";
import { bearerToken } from "../auth/user_token.ts";
import { PASSTHROUGH_HEADER } from "../policy/passthrough.ts";
import { MAX_BODY_BYTES } from "../query/request.ts";
import type { Door, QueryAnswer } from "../pipeline/context.ts";
import type { QueryPipeline } from "../pipeline/pipeline.ts";
import type { RunningQueries } from "../pipeline/running_queries.ts";
import type { AppEnv } from "./env.ts";
import { parseJsonBody, readBody, readJsonBody } from "./json_body.ts";
import { doorOf } from "./door.ts";
import { AUDITED_HEADER } from "./zone_forward.ts";

/**
 * The public `POST /v1/query` handler (the edge's, and a zone's own endpoint).
 *
 * @example
 * ```ts ignore
 * app.post("/v1/query", queryRoute(pipeline));
 * ```
 */
export function queryRoute(pipeline: QueryPipeline): Handler<AppEnv> {
  return async function queryRouteHandler(c) {
    const answer = await pipeline.run({
      // Set in-process by the Postgres and MCP doors; no header a client sends can claim one.
      door: doorOf(c.req.raw),
      token: bearerToken(c.req.header("authorization")),
      passthroughToken: c.req.header(PASSTHROUGH_HEADER),
      body: () => readJsonBody(c, MAX_BODY_BYTES),
      traceId: c.get("traceId"),
      signal: c.req.raw.signal,
      delivered: responseSent(c),
    });
    return respond(c, answer);
  };
}

/**
 * A zone's `POST /internal/v1/query`: the edge's signed context stands for the caller (a
 * request without a valid one for this zone is 401, not recorded); the answer says it is on
 * record.
 *
 * @example
 * ```ts ignore
 * app.post("/internal/v1/query", internalQueryRoute(pipeline, contextTokens, "us"));
 * ```
 */
export function internalQueryRoute(
  pipeline: QueryPipeline,
  tokens: ContextTokens,
  zone: string,
  running?: RunningQueries,
): Handler<AppEnv> {
  return async function internalQueryHandler(c) {
    let bytes: Promise<Uint8Array> | undefined;
    const body = () => bytes ??= readBody(c.req.raw, { maxBytes: MAX_BODY_BYTES });
    const context = await tokens.verify(c.req.header(CONTEXT_HEADER), zone, {
      method: c.req.method,
      path: c.req.path,
      body,
    });
    const traceId = context.traceId || c.get("traceId");
    const query = running?.start(context.user, traceId);
    try {
      const answer = await pipeline.run({
        door: context.door as Door,
        user: context.user,
        body: async () => parseJsonBody(await body()),
        traceId,
        ...(context.budget ? { budget: context.budget } : {}),
        signal: query ? AbortSignal.any([c.req.raw.signal, query.signal]) : c.req.raw.signal,
        delivered: responseSent(c),
      });
      c.header(AUDITED_HEADER, "1");
      return respond(c, answer);
    } finally {
      query?.done();
    }
  };
}

/**
 * A zone's `POST /internal/v1/cancel`: the edge's signed context names the caller and the trace
 * id of the query they left; their running queries of that id stop. The query's own answer, to
 * its forward, still records it. 202 with how many were running here (`cancelled`); when none
 * was, the zone's other instances are told (see `RunningQueries`).
 *
 * @example
 * ```ts ignore
 * app.post("/internal/v1/cancel", internalCancelRoute(running, contextTokens, "us"));
 * ```
 */
export function internalCancelRoute(
  running: RunningQueries,
  tokens: ContextTokens,
  zone: string,
): Handler<AppEnv> {
  return async function internalCancelHandler(c) {
    const context = await tokens.verify(c.req.header(CONTEXT_HEADER), zone, {
      method: c.req.method,
      path: c.req.path,
      body: () => readBody(c.req.raw, { maxBytes: MAX_BODY_BYTES }),
    });
    return c.json({ cancelled: await running.cancel(context.user, context.traceId) }, 202);
  };
}

/** Settles once the response is sent, when a server tells (`Deno.serve` does). */
function responseSent(c: Context<AppEnv>): Promise<void> | undefined {
  const completed = (c.env as AppEnv["Bindings"] | undefined)?.completed;
  // Rejected when the client went away: the response has left either way.
  return completed?.catch(() => {});
}

function respond(c: Context<AppEnv>, answer: QueryAnswer): Response {
  c.set("traceId", answer.traceId);
  if (answer.user) c.set("user", answer.user);
  if (answer.error) c.error = answer.error;
  return c.body(answer.body, answer.status as 200, answer.headers);
}
