/**
 * The middleware edge and workers compose: trace ids, authentication, body reading and error
 * rendering.
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
