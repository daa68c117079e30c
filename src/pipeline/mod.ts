/**
 * The query pipeline: one path for every `POST /v1/query`, whichever door it comes in by.
 *
 * A door (the HTTP route, the Postgres wire protocol, MCP) runs a query through the pipeline an
 * app built — the edge's, in a deployment where the edge is the way in — with its `door` label,
 * which the audit log records:
 *
 * ```ts ignore
 * import type { QueryPipeline } from "../pipeline/mod.ts";
 * const answer = await pipeline.run({
 *   door: "pg",
 *   token,                                  // the user's bearer token (verified here)
 *   body: { sql, metadata: { max_staleness_ms: 60_000 } },
 * });
 * // answer.status, answer.body (JSON text), answer.headers, answer.traceId
 * ```
 *
 * The local stack exposes the edge's pipeline as `stack.pipeline` (`edge/local_stack.ts`);
 * `edgePipeline(options)` in `edge/app.ts` builds one.
 *
 * @module
 */
export * from "./context.ts";
export * from "./pipeline.ts";
export * from "./steps.ts";
export * from "./result_cache.ts";
export * from "./running_queries.ts";
