/**
 * Reading the user's own app token for passthrough connections from its header into the user's
 * claims (which the edge signs into the worker's context). Never logged.
 *
 * @module
 */
import type { MiddlewareHandler } from "hono";
import { PASSTHROUGH_HEADER, withPassthroughClaim } from "../policy/passthrough.ts";
import type { AppEnv } from "./env.ts";

/**
 * Middleware (after `authenticate`) that sets or clears the passthrough claim from the header.
 *
 * @example
 * ```ts ignore
 * app.use("/v1/*", authenticate(verify), passthroughToken());
 * ```
 */
export function passthroughToken(): MiddlewareHandler<AppEnv> {
  return async function passthroughTokenMiddleware(c, next) {
    c.set("user", withPassthroughClaim(c.get("user"), c.req.header(PASSTHROUGH_HEADER)));
    await next();
  };
}
