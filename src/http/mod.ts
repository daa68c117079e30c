/**
 * The middleware edge and workers compose: trace ids, authentication, user attributes, budgets,
 * the query route, discovery routes and error rendering. Edge and workers build their pipelines
 * from these, composed differently; no behaviour is written twice.
 *
 * @example
 * ```ts ignore
 * import { Hono } from "hono";
 * import { renderErrors, traceId } from "./mod.ts";
 * const app = new Hono().use(traceId()).onError(renderErrors);
 * ```
 *
 * @module
 */
export * from "./env.ts";
export * from "./errors.ts";
export * from "./trace.ts";
export * from "./authenticate.ts";
export * from "./json_body.ts";
export * from "./user_attributes.ts";
export * from "./passthrough_token.ts";
export * from "./rate_limit.ts";
export * from "./result_cache.ts";
export * from "./query_route.ts";
export * from "./discovery.ts";
export * from "./audit_outcome.ts";
export * from "./zone_forward.ts";
export * from "./door.ts";
