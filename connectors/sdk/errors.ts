/**
 * The errors a source raises, shaped once: every connector's failure is an {@link OmniError}
 * naming the source and connector, with the app's own status and message when it answered, and a
 * `transient` mark on the failures that may clear by themselves — the only ones cached data may
 * stand in for.
 *
 * @module
 */
import { OmniError } from "../../src/errors.ts";

/** The codes a source's failure takes. */
export type SourceErrorCode = "SOURCE_ERROR" | "SOURCE_TIMEOUT" | "RATE_LIMIT_EXHAUSTED";

/** What a source error may carry besides its message. */
export interface SourceErrorExtra {
  /** The app's HTTP status, when it answered. */
  status?: number;
  /** The app's own message, when it gave one. */
  upstreamMessage?: string;
  retryAfterMs?: number;
  /** Which budget is spent (`source`), for `RATE_LIMIT_EXHAUSTED`. */
  level?: string;
  /**
   * The failure may clear by itself (network, 5xx, a reply cut short). @default true for a 5xx
   * or 408 status, false otherwise
   */
  transient?: boolean;
  cause?: unknown;
}

/**
 * A source's failure, shaped like every other one.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { sourceError } from "./errors.ts";
 * const err = sourceError({ source: "github", connector: "github" }, "SOURCE_ERROR",
 *   "the app answered HTTP 404: Not Found", { status: 404, upstreamMessage: "Not Found" });
 * assert.equal(err.status, 502);
 * assert.deepEqual(err.details, { source: "github", connector: "github", status: 404,
 *   upstream_message: "Not Found", transient: false });
 * ```
 */
export function sourceError(
  who: { source: string; connector: string },
  code: SourceErrorCode,
  message: string,
  extra: SourceErrorExtra = {},
): OmniError {
  const { status } = extra;
  const transient = code !== "SOURCE_ERROR" ||
    (extra.transient ?? (status !== undefined && (status >= 500 || status === 408)));
  return new OmniError(code, `${who.source}: ${message}`, {
    retryAfterMs: extra.retryAfterMs,
    cause: extra.cause,
    details: {
      source: who.source,
      connector: who.connector,
      ...(status !== undefined ? { status } : {}),
      ...(extra.upstreamMessage !== undefined ? { upstream_message: extra.upstreamMessage } : {}),
      ...(extra.level ? { level: extra.level } : {}),
      transient,
    },
  });
}

/**
 * Whether a failure may clear by itself — a spent budget, a timeout, a network error, a 5xx — so
 * cached data may stand in for the app (`STALE_DATA`, `allow_stale`). A permanent refusal (400,
 * 401, 403 without a spent budget, 404, 410, 422, a misconfigured connection) never is.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { OmniError } from "../../src/errors.ts";
 * import { isTransient, sourceError } from "./errors.ts";
 * const who = { source: "s", connector: "c" };
 * assert.equal(isTransient(sourceError(who, "SOURCE_ERROR", "gone", { status: 410 })), false);
 * assert.equal(isTransient(sourceError(who, "SOURCE_ERROR", "down", { status: 503 })), true);
 * assert.equal(isTransient(new OmniError("SOURCE_TIMEOUT", "slow")), true);
 * assert.equal(isTransient(new OmniError("SOURCE_ERROR", "misconfigured")), false);
 * ```
 */
export function isTransient(err: unknown): boolean {
  if (!(err instanceof OmniError)) return false;
  if (err.code === "RATE_LIMIT_EXHAUSTED" || err.code === "SOURCE_TIMEOUT") return true;
  return err.code === "SOURCE_ERROR" && err.details?.transient === true;
}
