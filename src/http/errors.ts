/**
 * Rendering errors: the one place an error becomes an HTTP answer. Anything that is not an
 * `OmniError` is logged and answered as a bare `INTERNAL` error that reveals nothing.
 *
 * @module
 */
import type { Context, ErrorHandler, NotFoundHandler } from "hono";
import { HTTPException } from "hono/http-exception";
import { loggableError, OmniError, toOmniError } from "../errors.ts";
import type { AppEnv } from "./env.ts";
import { processLog } from "../telemetry/log.ts";

/**
 * Builds the JSON answer for an error.
 *
 * @example
 * ```ts ignore
 * return errorResponse(c, new OmniError("PLAN_FAILED", "unknown table x"));
 * ```
 */
export function errorResponse(c: Context<AppEnv>, err: unknown): Response {
  const error = err instanceof HTTPException ? fromHttpException(err) : toOmniError(err);
  if (error.code === "INTERNAL") {
    processLog.error("unhandled error", {
      trace_id: c.get("traceId"),
      error: loggableError(error.cause),
    });
  }
  const headers: Record<string, string> = {};
  if (error.retryAfterMs !== undefined) {
    headers["retry-after"] = String(Math.max(1, Math.ceil(error.retryAfterMs / 1000)));
  }
  return c.json(error.toBody(c.get("traceId")), error.status as 400, headers);
}

function fromHttpException(err: HTTPException): OmniError {
  if (err.status === 413) {
    return new OmniError("INVALID_REQUEST", "request body is too large");
  }
  return new OmniError(err.status >= 500 ? "INTERNAL" : "INVALID_REQUEST", err.message, {
    cause: err,
  });
}

/**
 * Hono `onError` handler that renders every error through {@link errorResponse}.
 *
 * @example
 * ```ts ignore
 * app.onError(renderErrors);
 * ```
 */
export const renderErrors: ErrorHandler<AppEnv> = (err, c) => errorResponse(c, err);

/**
 * Hono `notFound` handler answering in the error vocabulary.
 *
 * @example
 * ```ts ignore
 * app.notFound(notFound);
 * ```
 */
export const notFound: NotFoundHandler<AppEnv> = (c) =>
  errorResponse(c, new OmniError("NOT_FOUND", `no route for ${c.req.method} ${c.req.path}`));
