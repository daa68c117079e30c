/**
 * The HTTP side of async jobs: on a worker, `GET`/`DELETE /v1/jobs/:id` read or cancel the
 * caller's job; on the edge, the same requests are forwarded to the tenant's zone worker with a
 * signed context, since jobs run and their results live in the tenant's zone only. (Submitting
 * one — `POST /v1/query` with `metadata.async: true` — is a step of the query pipeline.)
 *
 * @module
 */
import type { Context, Handler } from "hono";
import type { AppEnv } from "./env.ts";
import { zoneForwarder, type ZoneForwardOptions } from "./zone_forward.ts";
import type { JobQueue } from "../jobs/queue.ts";

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
 * app.get("/v1/jobs/:id", jobs.status);
 * app.delete("/v1/jobs/:id", jobs.cancel);
 * ```
 */
export function forwardJobs(options: ZoneForwardOptions): {
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
    status: function forwardJobStatus(c) {
      return forward(c, "GET", jobPath(c));
    },
    cancel: function forwardCancelJob(c) {
      return forward(c, "DELETE", jobPath(c));
    },
  };
}
