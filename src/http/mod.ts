/**
 * The HTTP side edge and workers compose: trace ids, authentication, user attributes, the query
 * route (an adapter over the query pipeline of `src/pipeline/`), forwarding to zones, discovery
 * routes and error rendering. No behaviour is written twice.
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
export * from "./signed_in.ts";
export * from "./query_route.ts";
export * from "./discovery.ts";
export * from "./zone_forward.ts";
export * from "./webhook_routes.ts";
export * from "./body_intake.ts";
export * from "./usage_route.ts";
export * from "./job_routes.ts";
export * from "./door.ts";
