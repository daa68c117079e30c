/**
 * Async query jobs: `metadata.async: true` on `POST /v1/query` answers `202 {job_id,
 * status_url}`; `GET /v1/jobs/:id` shows status, progress and, once done, the result;
 * `DELETE /v1/jobs/:id` cancels. Jobs are queued durably in the catalog (`jobs` table, claimed
 * with `FOR UPDATE SKIP LOCKED`), run in the tenant's zone worker through its `QueryService`
 * (admission, security, caching and audit like any query), and keep their result encrypted with
 * the tenant's key until the tenant's TTL passes.
 *
 * @example
 * ```ts ignore
 * import { JobProgress, JobQueue } from "./mod.ts";
 * const progress = new JobProgress();
 * const service = new QueryService({ ..., sourceMiddleware: [progress.middleware()] });
 * const jobs = new JobQueue({ catalog, service, progress });
 * jobs.start();
 * ```
 *
 * @module
 */
export * from "./store.ts";
export * from "./progress.ts";
export * from "./queue.ts";
