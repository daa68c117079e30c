/**
 * One structured log line per request: method, path, status, duration, the request's trace id,
 * the tenant and, on failure, the error code. The SQL, the body and the headers are never
 * logged: they can quote source data and carry tokens.
 *
 * @module
 */
import type { MiddlewareHandler } from "hono";
import { toOmniError } from "../errors.ts";
import type { TelemetryEnv } from "./env.ts";
import type { Logger } from "./log.ts";

/**
 * Middleware writing the access log.
 *
 * @example
 * ```ts ignore
 * app.use(traceId(), accessLog(new Logger({ fields: { role: "edge" } })));
 * ```
 */
export function accessLog(logger: Logger): MiddlewareHandler<TelemetryEnv> {
  return async function accessLogMiddleware(c, next) {
    const started = performance.now();
    await next();
    const status = c.res.status;
    const error = c.error ? toOmniError(c.error) : undefined;
    const fields = {
      method: c.req.method,
      path: c.req.path,
      status,
      duration_ms: Math.round((performance.now() - started) * 10) / 10,
      trace_id: c.get("traceId"),
      tenant: c.get("user")?.tenant,
      error_code: error?.code,
    };
    if (status >= 500) logger.error("request", fields);
    else if (status >= 400) logger.warn("request", fields);
    else logger.info("request", fields);
  };
}
