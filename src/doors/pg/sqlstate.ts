/**
 * OmniSQL errors as Postgres ErrorResponses: the SQLSTATE a driver or BI tool understands, the
 * OmniSQL code and trace id in the detail, the retry hint in the message.
 *
 * @module
 */
import type { OmniError } from "../../errors.ts";
import type { ErrorFields } from "./protocol.ts";

/**
 * The ErrorResponse for an OmniSQL error.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { OmniError } from "../../errors.ts";
 * import { toPgError } from "./sqlstate.ts";
 * assert.equal(toPgError(new OmniError("PLAN_FAILED", "unknown table a.b", { details: { table: "a.b" } })).code, "42P01");
 * assert.equal(toPgError(new OmniError("RATE_LIMIT_EXHAUSTED", "budget spent", { retryAfterMs: 900 })).code, "53400");
 * ```
 */
export function toPgError(error: OmniError, traceId?: string): ErrorFields {
  const retry = error.retryAfterMs !== undefined
    ? ` (retry after ${Math.ceil(error.retryAfterMs / 1000)} s)`
    : "";
  return {
    severity: "ERROR",
    code: sqlstateOf(error),
    message: error.message + retry,
    detail: `OmniSQL error ${error.code}` + (traceId ? `, trace ${traceId}` : ""),
    ...(error.retryAfterMs !== undefined ? { hint: `Retry after ${error.retryAfterMs} ms.` } : {}),
  };
}

function sqlstateOf(error: OmniError): string {
  const details = error.details ?? {};
  switch (error.code) {
    case "PLAN_FAILED":
      if (/does not parse|syntax/i.test(error.message)) return "42601";
      if (/unknown table|needs its source as a prefix/i.test(error.message)) return "42P01";
      if ("table" in details && !("column" in details)) return "42P01";
      if (/unknown column/i.test(error.message) || "column" in details) return "42703";
      if (/function/i.test(error.message)) return "42883";
      if (/not supported/i.test(error.message)) return "0A000";
      return "42601";
    case "INVALID_REQUEST":
      if (/read-only|not a query|only SELECT/i.test(error.message)) return "25006";
      if (/too (long|large|deep)|oversized|exceeds/i.test(error.message)) return "54000";
      return "22023";
    case "ENTITLEMENT_DENIED":
      return "42501";
    case "RATE_LIMIT_EXHAUSTED":
      return "53400";
    case "QUERY_TIMEOUT":
    case "SOURCE_TIMEOUT":
      return "57014";
    case "RESOURCE_EXHAUSTED":
      return "53200";
    case "STALE_DATA":
      return "55000";
    case "SOURCE_ERROR":
      return "58000";
    case "REGION_UNAVAILABLE":
      return "57P03";
    case "UNAUTHENTICATED":
      return "28000";
    case "NOT_FOUND":
      return "42704";
    default:
      return "XX000";
  }
}
