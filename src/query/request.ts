/**
 * The body of `POST /v1/query`, validated field by field so that a malformed request is a clear
 * `INVALID_REQUEST` naming the field, never a 500.
 *
 * @module
 */
import { OmniError } from "../errors.ts";

/** Per-query options a caller may set. */
export interface QueryMetadata {
  trace_id?: string;
  /** Oldest data the caller accepts; 0 = live. */
  max_staleness_ms?: number;
  /** Deadline for the whole query. */
  timeout_ms?: number;
  /** Run as a job: 202 with a job id. */
  async?: boolean;
  /** Accept stale data when no fresh fetch is possible. */
  allow_stale?: boolean;
}

/** A validated query request. */
export interface QueryRequest {
  sql: string;
  metadata: QueryMetadata;
}

/** Largest request body accepted, in bytes. */
export const MAX_BODY_BYTES = 1_000_000;

/** Longest timeout a caller may ask for. */
export const MAX_TIMEOUT_MS = 120_000;

/**
 * Validates a decoded JSON body.
 *
 * @example
 * ```ts
 * import { parseQueryRequest } from "./request.ts";
 * const req = parseQueryRequest({ sql: "SELECT 1", metadata: { max_staleness_ms: 0 } });
 * console.assert(req.metadata.max_staleness_ms === 0);
 * ```
 */
export function parseQueryRequest(body: unknown): QueryRequest {
  if (typeof body !== "object" || body === null || Array.isArray(body)) {
    throw invalid("the body must be a JSON object with a `sql` string");
  }
  const { sql, metadata } = body as Record<string, unknown>;
  if (typeof sql !== "string") throw invalid("`sql` must be a string");
  if (sql.trim() === "") throw invalid("`sql` is empty");
  if (
    metadata !== undefined &&
    (typeof metadata !== "object" || metadata === null || Array.isArray(metadata))
  ) {
    throw invalid("`metadata` must be an object");
  }
  const m = (metadata ?? {}) as Record<string, unknown>;
  const out: QueryMetadata = {};
  if (m.trace_id !== undefined) {
    if (typeof m.trace_id !== "string" || !/^[\w.:-]{1,128}$/.test(m.trace_id)) {
      throw invalid("`metadata.trace_id` must be 1–128 characters of letters, digits, . _ : -");
    }
    out.trace_id = m.trace_id;
  }
  out.max_staleness_ms = optionalNumber(m, "max_staleness_ms", 0, 86_400_000);
  out.timeout_ms = optionalNumber(m, "timeout_ms", 1, MAX_TIMEOUT_MS);
  out.async = optionalBoolean(m, "async");
  out.allow_stale = optionalBoolean(m, "allow_stale");
  for (const key of Object.keys(out) as (keyof QueryMetadata)[]) {
    if (out[key] === undefined) delete out[key];
  }
  return { sql, metadata: out };
}

function optionalNumber(m: Record<string, unknown>, key: string, min: number, max: number) {
  const v = m[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== "number" || !Number.isFinite(v) || v < min || v > max) {
    throw invalid(`\`metadata.${key}\` must be a number from ${min} to ${max}`);
  }
  return v;
}

function optionalBoolean(m: Record<string, unknown>, key: string) {
  const v = m[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== "boolean") throw invalid(`\`metadata.${key}\` must be true or false`);
  return v;
}

function invalid(message: string): OmniError {
  return new OmniError("INVALID_REQUEST", message);
}
