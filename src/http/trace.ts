/**
 * Trace ids: taken from `x-trace-id` when the caller sends a valid one, otherwise generated, and
 * echoed on every answer.
 *
 * @module
 */
import type { MiddlewareHandler } from "hono";
import { TRACE_ID } from "../query/request.ts";
import type { AppEnv } from "./env.ts";

/**
 * Middleware that sets `c.var.traceId` and the `x-trace-id` response header.
 *
 * @example
 * ```ts ignore
 * app.use(traceId());
 * ```
 */
export function traceId(): MiddlewareHandler<AppEnv> {
  return async function traceIdMiddleware(c, next) {
    const given = c.req.header("x-trace-id");
    c.set("traceId", given && TRACE_ID.test(given) ? given : crypto.randomUUID());
    await next();
    try {
      // In place: Hono's `c.header()` on a finished response copies it around its body as a
      // stream, which turned every answer's text into a streamed body.
      c.res.headers.set("x-trace-id", c.get("traceId"));
    } catch {
      c.header("x-trace-id", c.get("traceId")); // immutable headers (a fetched response)
    }
  };
}
