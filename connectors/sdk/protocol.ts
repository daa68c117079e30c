/**
 * How an app's answers read, declared once per app and interpreted here for every connector:
 * which headers carry its rate-limit budget (and in what unit they reset), where an error body
 * keeps its message and codes, and which answers mean "budget spent" rather than "refused".
 *
 * @module
 */
import type { ErrorReading, RateLimitInfo } from "./connector.ts";
import { readPath } from "./json_path.ts";

/** One group of rate-limit headers (a request budget, a complexity budget…). */
export interface RateLimitBucket {
  /** Header with the budget's size. */
  limit?: string;
  /** Header with what is left of it. */
  remaining?: string;
  /** Header with when it resets, in the spec's `resetUnit`. */
  reset?: string;
}

/** Where an app keeps its budget in its answers' headers. */
export interface RateLimitHeaders {
  /** The budgets; with several, the one with the smallest remaining share is reported. */
  buckets: RateLimitBucket[];
  /** Unit of the reset headers. @default "epoch_s" */
  resetUnit?: "epoch_s" | "epoch_ms" | "seconds" | "iso";
  /** Read `Retry-After` (seconds or an HTTP date). @default true */
  retryAfter?: boolean;
  /**
   * A header holding `used/limit` (Salesforce's `Sforce-Limit-Info: api-usage=18/15000`): its
   * name and a pattern whose two groups are the used count and the limit.
   */
  usage?: { header: string; pattern: RegExp };
  /**
   * A header naming which budget an answer's headers are of, and the name of the connection's
   * main one (GitHub: `x-ratelimit-resource`, `core`): readings of any other are side budgets.
   */
  resource?: { header: string; main: string };
}

/** Where an app's error bodies keep their message and codes. */
export interface ErrorBodySpec {
  /** JSON paths of messages (see `readPath`); a path ending in `.*` reads `key: value` pairs. */
  messages: string[];
  /** JSON paths of error codes, appended to the message. @default [] */
  codes?: string[];
  /** Codes that mean the budget is spent, whatever the HTTP status. @default [] */
  rateLimitedCodes?: string[];
  /**
   * Statuses that mean the budget is spent when a budget header reads 0 left or the message
   * matches `rateLimitedMessage` (GitHub: 403 and 429). A 429 always means it. @default []
   */
  rateLimitedStatuses?: number[];
  /** A message that says the budget is spent (GitHub's secondary limits). */
  rateLimitedMessage?: RegExp;
}

/** An app's protocol declaration: its budget headers and its error bodies. */
export interface AppProtocol {
  rateLimit: RateLimitHeaders;
  errors: ErrorBodySpec;
}

/**
 * Reads the budget an app's headers announce, as its declaration says.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { readRateLimit } from "./protocol.ts";
 * const spec = { buckets: [{ limit: "x-ratelimit-limit", remaining: "x-ratelimit-remaining",
 *   reset: "x-ratelimit-reset" }] };
 * const info = readRateLimit(spec, new Headers({ "x-ratelimit-limit": "5000",
 *   "x-ratelimit-remaining": "0", "x-ratelimit-reset": "10" }));
 * assert.deepEqual(info, { limit: 5000, remaining: 0, resetAt: 10_000 });
 * ```
 */
export function readRateLimit(spec: RateLimitHeaders, headers: Headers): RateLimitInfo {
  const num = (name?: string) => {
    if (!name) return undefined;
    const v = headers.get(name);
    if (v === null || v.trim() === "") return undefined;
    const n = Number(v);
    return Number.isFinite(n) ? n : undefined;
  };
  const unit = spec.resetUnit ?? "epoch_s";
  let best: RateLimitInfo | undefined;
  let bestShare = Infinity;
  const consider = (info: RateLimitInfo) => {
    if (Object.keys(info).length === 0) return;
    const { limit, remaining } = info;
    const share = remaining === undefined ? 1 : limit ? remaining / limit : remaining;
    if (!best || share < bestShare) [best, bestShare] = [info, share];
  };
  for (const b of spec.buckets) {
    const info: RateLimitInfo = {};
    const limit = num(b.limit);
    const remaining = num(b.remaining);
    if (limit !== undefined) info.limit = limit;
    if (remaining !== undefined) info.remaining = remaining;
    const raw = b.reset ? headers.get(b.reset) : null;
    if (raw !== null && raw.trim() !== "") {
      const n = Number(raw);
      const at = unit === "iso"
        ? Date.parse(raw)
        : unit === "epoch_ms"
        ? n
        : unit === "epoch_s"
        ? n * 1000
        : Date.now() + n * 1000;
      if (Number.isFinite(at)) info.resetAt = at;
    }
    consider(info);
  }
  if (spec.usage) {
    const m = headers.get(spec.usage.header)?.match(spec.usage.pattern);
    if (m) {
      const used = Number(m[1]), limit = Number(m[2]);
      if (Number.isFinite(used) && Number.isFinite(limit)) {
        consider({ limit, remaining: Math.max(0, limit - used) });
      }
    }
  }
  const out: RateLimitInfo = { ...(best ?? {}) };
  if (spec.retryAfter ?? true) {
    const retry = retryAfterMs(headers);
    if (retry !== undefined) out.retryAfterMs = retry;
  }
  const resource = spec.resource ? headers.get(spec.resource.header) : null;
  if (resource && resource !== spec.resource!.main) out.side = true;
  return out;
}

/**
 * Reads an error answer as its app's declaration says: the messages and codes at their paths,
 * and whether it means the budget is spent.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { readErrorBody } from "./protocol.ts";
 * const jira = { messages: ["errorMessages[]", "errors.*"] };
 * assert.deepEqual(
 *   readErrorBody(jira, 400, { errorMessages: ["Bad JQL"], errors: { jql: "unbounded" } }),
 *   { message: "Bad JQL; jql: unbounded", rateLimited: false },
 * );
 * ```
 */
export function readErrorBody(
  spec: ErrorBodySpec,
  status: number,
  body: unknown,
  budget: RateLimitInfo = {},
): ErrorReading {
  const messages: string[] = [];
  for (const path of spec.messages) {
    if (path.endsWith(".*")) {
      for (const obj of readPath(body, path.slice(0, -2))) {
        if (obj === null || typeof obj !== "object" || Array.isArray(obj)) continue;
        for (const [k, v] of Object.entries(obj)) messages.push(`${k}: ${String(v)}`);
      }
    } else {
      for (const m of readPath(body, path)) {
        if (typeof m === "string" && m !== "") messages.push(m);
      }
    }
  }
  const codes = [
    ...new Set(
      (spec.codes ?? []).flatMap((p) => readPath(body, p))
        .filter((c): c is string => typeof c === "string" && c !== ""),
    ),
  ];
  let message = [...new Set(messages)].join("; ");
  if (!message && typeof body === "string" && body.trim()) message = body.trim().slice(0, 200);
  if (!message) message = `HTTP ${status}`;
  if (codes.length) message = `${message} (${codes.join(", ")})`;
  const rateLimited = status === 429 ||
    codes.some((c) => spec.rateLimitedCodes?.includes(c)) ||
    ((spec.rateLimitedStatuses ?? []).includes(status) &&
      (budget.remaining === 0 || (spec.rateLimitedMessage?.test(message) ?? false)));
  return { message, rateLimited };
}

/**
 * Reads a `Retry-After` header (seconds or an HTTP date) as milliseconds.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { retryAfterMs } from "./protocol.ts";
 * assert.equal(retryAfterMs(new Headers({ "retry-after": "3" })), 3000);
 * assert.equal(retryAfterMs(new Headers()), undefined);
 * ```
 */
export function retryAfterMs(headers: Headers): number | undefined {
  const value = headers.get("retry-after");
  if (!value) return undefined;
  const seconds = Number(value);
  if (Number.isFinite(seconds)) return Math.max(0, seconds * 1000);
  const at = Date.parse(value);
  return Number.isNaN(at) ? undefined : Math.max(0, at - Date.now());
}

/**
 * The `readRateLimit`/`readError` pair of a connector (`ConnectorDef`) from a declaration.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { protocolReaders } from "./protocol.ts";
 * const { readError } = protocolReaders({
 *   rateLimit: { buckets: [{ remaining: "x-left" }] },
 *   errors: { messages: ["message"], rateLimitedStatuses: [403] },
 * });
 * assert.equal(readError(403, { message: "no" }, new Headers({ "x-left": "0" })).rateLimited, true);
 * assert.equal(readError(403, { message: "no" }, new Headers()).rateLimited, false);
 * ```
 */
export function protocolReaders(protocol: AppProtocol): {
  readRateLimit(headers: Headers): RateLimitInfo;
  readError(status: number, body: unknown, headers: Headers): ErrorReading;
} {
  return {
    readRateLimit: (headers) => readRateLimit(protocol.rateLimit, headers),
    readError: (status, body, headers) =>
      readErrorBody(protocol.errors, status, body, readRateLimit(protocol.rateLimit, headers)),
  };
}
