/**
 * The HTTP side of async jobs: on a worker, `POST /v1/query` with `metadata.async: true` answers
 * `202 {job_id, status_url}` and `GET`/`DELETE /v1/jobs/:id` read or cancel the caller's job; on
 * the edge, the same requests are forwarded to the tenant's zone worker with a signed context,
 * since jobs run and their results live in the tenant's zone only.
 *
 * @module
 */
import type { Context, Handler, MiddlewareHandler } from "hono";
import type { AppEnv } from "../http/env.ts";
import { zoneForwarder, type ZoneForwardOptions } from "../http/zone_forward.ts";
import type { JobQueue } from "./queue.ts";

/**
 * Worker middleware for `POST /v1/query`: an async query becomes a job (`202`); any other goes
 * on to the synchronous handler. With `always`, every request becomes a job (the edge's
 * internal submission route).
 *
 * @example
 * ```ts ignore
 * app.post("/v1/query", queryRequest(), rateLimit({ limiter }), asyncQuery(jobs), runQuery(run));
 * ```
 */
export function asyncQuery(
  jobs: JobQueue,
  options: { always?: boolean } = {},
): MiddlewareHandler<AppEnv> {
  return async function asyncQueryMiddleware(c, next) {
    const request = c.get("query");
    if (!options.always && request.metadata.async !== true) return await next();
    const submitted = await jobs.submit(c.get("user"), request, c.get("traceId"));
    return c.json(submitted, 202);
  };
}

/**
 * Worker handler of `GET /v1/jobs/:id`: the caller's job (`404 NOT_FOUND` for anyone else's).
 *
 * @example
 * ```ts ignore
 * app.get("/v1/jobs/:id", jobStatus(jobs));
 * ```
 */
export function jobStatus(jobs: JobQueue): Handler<AppEnv> {
  return async function jobStatusHandler(c) {
    return c.json(await jobs.get(c.get("user"), c.req.param("id") ?? ""));
  };
}

/**
 * Worker handler of `DELETE /v1/jobs/:id`: cancels the caller's job.
 *
 * @example
 * ```ts ignore
 * app.delete("/v1/jobs/:id", cancelJob(jobs));
 * ```
 */
export function cancelJob(jobs: JobQueue): Handler<AppEnv> {
  return async function cancelJobHandler(c) {
    return c.json(await jobs.cancel(c.get("user"), c.req.param("id") ?? ""));
  };
}

/**
 * The edge's job routes: each forwards to the tenant's zone worker's internal job routes
 * (`POST /internal/v1/jobs`, `GET`/`DELETE /internal/v1/jobs/:id`) and answers with the
 * worker's status and body.
 *
 * @example
 * ```ts ignore
 * const jobs = forwardJobs({ catalog, contextTokens, zoneUrls });
 * app.post("/v1/query", queryRequest(), rateLimit({ limiter }), jobs.asyncQuery, runQuery(forward));
 * app.get("/v1/jobs/:id", jobs.status);
 * app.delete("/v1/jobs/:id", jobs.cancel);
 * ```
 */
export function forwardJobs(options: ZoneForwardOptions): {
  asyncQuery: MiddlewareHandler<AppEnv>;
  status: Handler<AppEnv>;
  cancel: Handler<AppEnv>;
} {
  const toZone = zoneForwarder(options);
  const forward = async (c: Context<AppEnv>, method: string, path: string, body?: unknown) => {
    const answer = await toZone({
      user: c.get("user"),
      traceId: c.get("traceId"),
      method,
      path,
      body,
      signal: c.req.raw.signal,
    });
    return c.json(answer.body, answer.status as 200);
  };
  const jobPath = (c: Context<AppEnv>) =>
    `/internal/v1/jobs/${encodeURIComponent(c.req.param("id") ?? "")}`;
  return {
    asyncQuery: async function forwardAsyncQuery(c, next) {
      const request = c.get("query");
      if (request.metadata.async !== true) return await next();
      return await forward(c, "POST", "/internal/v1/jobs", request);
    },
    status: function forwardJobStatus(c) {
      return forward(c, "GET", jobPath(c));
    },
    cancel: function forwardCancelJob(c) {
      return forward(c, "DELETE", jobPath(c));
    },
  };
}
