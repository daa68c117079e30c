/**
 * The error vocabulary of OmniSQL: every failure a user can see is an {@link OmniError} with one
 * of these codes, rendered in exactly one place ({@link OmniError.toBody}).
 *
 * @module
 */

/** HTTP status for each error code of the public contract. */
export const ERROR_STATUS = {
  UNAUTHENTICATED: 401,
  INVALID_REQUEST: 400,
  PLAN_FAILED: 400,
  ENTITLEMENT_DENIED: 403,
  RATE_LIMIT_EXHAUSTED: 429,
  STALE_DATA: 503,
  SOURCE_TIMEOUT: 504,
  QUERY_TIMEOUT: 504,
  RESOURCE_EXHAUSTED: 422,
  SOURCE_ERROR: 502,
  REGION_UNAVAILABLE: 503,
  NOT_FOUND: 404,
  PAYLOAD_TOO_LARGE: 413,
  INTERNAL: 500,
} as const;

/** One of the error codes of the public contract. */
export type ErrorCode = keyof typeof ERROR_STATUS;

/** Options of {@link OmniError}. */
export interface OmniErrorOptions {
  /** How long the caller should wait before retrying, in milliseconds. */
  retryAfterMs?: number;
  /** Structured, user-safe details (never credentials or source rows). */
  details?: Record<string, unknown>;
  /** The underlying error, kept for logs only. */
  cause?: unknown;
}

/** The JSON body of an error response. */
export interface ErrorBody {
  error: {
    code: ErrorCode;
    message: string;
    retry_after_ms?: number;
    details?: Record<string, unknown>;
  };
  trace_id?: string;
}

/**
 * An error a user may see: a code from the vocabulary, its HTTP status and a clear message.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { OmniError } from "./errors.ts";
 * const err = new OmniError("PLAN_FAILED", "unknown table nope.nothing");
 * assert.ok(err.status === 400);
 * ```
 */
export class OmniError extends Error {
  readonly code: ErrorCode;
  readonly retryAfterMs?: number;
  readonly details?: Record<string, unknown>;

  constructor(code: ErrorCode, message: string, options: OmniErrorOptions = {}) {
    super(message, { cause: options.cause });
    this.name = "OmniError";
    this.code = code;
    this.retryAfterMs = options.retryAfterMs;
    this.details = options.details;
  }

  /** The HTTP status of this error's code. */
  get status(): number {
    return ERROR_STATUS[this.code];
  }

  /** The response body for this error. */
  toBody(traceId?: string): ErrorBody {
    const error: ErrorBody["error"] = { code: this.code, message: this.message };
    if (this.retryAfterMs !== undefined) error.retry_after_ms = Math.ceil(this.retryAfterMs);
    if (this.details) error.details = this.details;
    return traceId ? { error, trace_id: traceId } : { error };
  }

  /** Rebuilds an error from a body another OmniSQL process rendered (edge ← worker). */
  static fromBody(body: unknown, fallbackStatus: number): OmniError {
    const error = (body as Partial<ErrorBody> | null)?.error;
    if (error && typeof error.code === "string" && error.code in ERROR_STATUS) {
      return new OmniError(error.code as ErrorCode, String(error.message ?? ""), {
        retryAfterMs: error.retry_after_ms,
        details: error.details,
      });
    }
    return new OmniError(
      fallbackStatus >= 500 ? "REGION_UNAVAILABLE" : "INVALID_REQUEST",
      `unexpected answer from an internal service (HTTP ${fallbackStatus})`,
    );
  }
}

/**
 * Turns anything thrown into an {@link OmniError}; unknown errors become `INTERNAL`, with the
 * original kept as `cause` for logs and a message that reveals nothing.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { toOmniError } from "./errors.ts";
 * assert.ok(toOmniError(new TypeError("boom")).code === "INTERNAL");
 * ```
 */
export function toOmniError(err: unknown): OmniError {
  if (err instanceof OmniError) return err;
  return new OmniError("INTERNAL", "internal error", { cause: err });
}

/**
 * What a log may say of an unexpected error: its name, message and stack, except that a database
 * driver's message quoting the failed statement and its parameters (Drizzle's `Failed query: …
 * params: …`, which can hold SQL text, claims or credentials) is replaced by the database's own
 * reason.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { loggableError } from "./errors.ts";
 * const failed = new Error("Failed query: insert into jobs …\nparams: SELECT secret,{\"sub\":\"a\"}", {
 *   cause: new Error('invalid byte sequence for encoding "UTF8": 0x00'),
 * });
 * assert.doesNotMatch(loggableError(failed), /secret|params/);
 * assert.match(loggableError(failed), /UTF8/);
 * assert.match(loggableError(new TypeError("boom")), /TypeError: boom/);
 * ```
 */
export function loggableError(err: unknown): string {
  if (!(err instanceof Error)) return String(err);
  if (!err.message.startsWith("Failed query:")) return String(err.stack ?? err);
  const frames = (err.stack ?? "").split("\n").filter((line) => /^\s+at /.test(line));
  const reason = err.cause instanceof Error ? err.cause.message : "unknown reason";
  return [`${err.name}: a database statement failed: ${reason}`, ...frames].join("\n");
}
