/**
 * The body of `POST /v1/query`, described once as a zod schema: the schema validates every
 * request (a malformed one is a clear `INVALID_REQUEST` naming the field, never a 500) and the
 * OpenAPI document (`src/http/openapi.ts`) is generated from it.
 *
 * @module
 */
import { z } from "zod";
import { OmniError } from "../errors.ts";

/** Largest request body accepted, in bytes. */
export const MAX_BODY_BYTES = 1_000_000;

/** Longest timeout a caller may ask for. */
export const MAX_TIMEOUT_MS = 120_000;

/** Longest `max_staleness_ms` a caller may ask for: one day. */
export const MAX_STALENESS_MS = 86_400_000;

/** What a trace id may look like, wherever one comes from (header or body). */
export const TRACE_ID: RegExp = /^[\w.:-]{1,128}$/;

// `null` reads as "not set", as it always has: clients serialise absent options as null.
function optional<T extends z.ZodType>(schema: T) {
  return schema.nullish().transform((v) => v ?? undefined);
}

function boundedNumber(key: string, min: number, max: number) {
  const error = `\`metadata.${key}\` must be a number from ${min} to ${max}`;
  return z.number({ error }).min(min, { error }).max(max, { error });
}

function flag(key: string, description: string) {
  return optional(z.boolean({ error: `\`metadata.${key}\` must be true or false` }))
    .describe(description);
}

/**
 * Per-query options a caller may set (unknown keys are ignored).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { QueryMetadataSchema } from "./request.ts";
 * assert.ok(QueryMetadataSchema.parse({ timeout_ms: 500 }).timeout_ms === 500);
 * ```
 */
export const QueryMetadataSchema = z.object({
  trace_id: optional(
    z.string({ error: "`metadata.trace_id` must be a string" }).regex(TRACE_ID, {
      error: "`metadata.trace_id` must be 1–128 characters of letters, digits, . _ : -",
    }),
  ).describe("Correlates this query across edge, worker, sources and logs; echoed back."),
  max_staleness_ms: optional(boundedNumber("max_staleness_ms", 0, MAX_STALENESS_MS))
    .describe("Oldest data the caller accepts, in ms; 0 = live."),
  timeout_ms: optional(boundedNumber("timeout_ms", 1, MAX_TIMEOUT_MS))
    .describe("Deadline for the whole query, in ms."),
  async: flag("async", "Run as a job: 202 with a job id."),
  allow_stale: flag("allow_stale", "Accept stale data when no fresh fetch is possible."),
  notify_url: optional(
    z.string({ error: "`metadata.notify_url` must be a string" }).max(2048, {
      error: "`metadata.notify_url` must be at most 2048 characters",
    }),
  ).describe(
    "With `async`: an https URL (public addresses only) that gets a signed POST with the job's " +
      "id and status when it ends.",
  ),
}, { error: "`metadata` must be an object" });

/**
 * The body of `POST /v1/query`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { QueryRequestSchema } from "./request.ts";
 * assert.ok(!QueryRequestSchema.safeParse({ sql: 5 }).success);
 * ```
 */
export const QueryRequestSchema = z.object({
  sql: z.string({ error: "`sql` must be a string" }).min(1, { error: "`sql` is empty" })
    .refine((s) => s.trim() !== "", { error: "`sql` is empty" })
    .describe("One read-only SQL statement (SELECT, WITH … SELECT, or EXPLAIN of one)."),
  metadata: optional(QueryMetadataSchema).describe("Per-query options."),
});

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
  /** With `async`: where the signed job-ended notification is posted. */
  notify_url?: string;
}

/** A validated query request. */
export interface QueryRequest {
  sql: string;
  metadata: QueryMetadata;
}

/**
 * Validates a decoded JSON body against {@link QueryRequestSchema}.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { parseQueryRequest } from "./request.ts";
 * const req = parseQueryRequest({ sql: "SELECT 1", metadata: { max_staleness_ms: 0 } });
 * assert.ok(req.metadata.max_staleness_ms === 0);
 * ```
 */
export function parseQueryRequest(body: unknown): QueryRequest {
  if (!isPlainObject(body)) {
    throw invalid("the body must be a JSON object with a `sql` string", []);
  }
  // Dashboards repeat the same body: its validation (~12 µs of schema work) is done once. The
  // answer is a pure function of the body's JSON, and frozen, so sharing it is safe.
  const text = JSON.stringify(body);
  const known = recentRequests.get(text);
  if (known) return known;
  const request = validated(body);
  if (text.length > REMEMBERED_BODY_CHARS) return request;
  if (recentRequests.size >= REQUESTS_REMEMBERED) {
    recentRequests.delete(recentRequests.keys().next().value!);
  }
  const frozen = Object.freeze({ ...request, metadata: Object.freeze(request.metadata) });
  recentRequests.set(text, frozen);
  return frozen;
}

const REQUESTS_REMEMBERED = 256;
const REMEMBERED_BODY_CHARS = 4096;
const recentRequests = new Map<string, QueryRequest>();

function validated(body: Record<string, unknown>): QueryRequest {
  const parsed = QueryRequestSchema.safeParse(body);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw invalid(issue.message, issue.path);
  }
  const metadata: QueryMetadata = {};
  for (const [key, value] of Object.entries(parsed.data.metadata ?? {})) {
    if (value !== undefined) Object.assign(metadata, { [key]: value });
  }
  // Postgres JSON cannot hold NUL nor an unpaired UTF-16 surrogate (a queued job's request and
  // the audit record are stored there), and no SQL or URL needs one: refused here rather than
  // failing later as an internal error.
  const paths = [["sql"], ...Object.keys(metadata).map((k) => ["metadata", k])];
  const valueAt = (path: string[]) =>
    path.length === 1 ? parsed.data.sql : metadata[path[1] as keyof QueryMetadata];
  const withNul = paths.find((path) => someText(valueAt(path), (t) => t.includes("\0")));
  if (withNul) throw invalid("the request holds a NUL character (U+0000)", withNul);
  const withSurrogate = paths.find((path) => someText(valueAt(path), (t) => !t.isWellFormed()));
  if (withSurrogate) {
    throw invalid(
      "the request holds an unpaired UTF-16 surrogate (a \\uD800-\\uDFFF escape without its pair)",
      withSurrogate,
    );
  }
  if (metadata.notify_url !== undefined && metadata.async !== true) {
    throw invalid("`metadata.notify_url` needs `metadata.async: true`", ["metadata", "notify_url"]);
  }
  return { sql: parsed.data.sql, metadata };
}

/**
 * Whether a decoded JSON value is an object (not an array or null).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { isPlainObject } from "./request.ts";
 * assert.ok(isPlainObject({}) && !isPlainObject([]) && !isPlainObject(null));
 * ```
 */
export function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** Whether some string in a decoded JSON value passes the test. */
function someText(value: unknown, test: (text: string) => boolean): boolean {
  if (typeof value === "string") return test(value);
  if (typeof value === "object" && value !== null) {
    return Object.values(value).some((v) => someText(v, test));
  }
  return false;
}

function invalid(message: string, path: PropertyKey[]): OmniError {
  return new OmniError("INVALID_REQUEST", message, {
    ...(path.length ? { details: { field: path.map(String).join(".") } } : {}),
  });
}
