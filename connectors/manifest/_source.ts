/**
 * How a manifest reads an app's answers: auth headers, rate-limit headers and error bodies, and
 * the errors the runtime raises itself (GraphQL errors inside an HTTP 200, malformed replies), in
 * the same shape as the SDK's {@link SourceClient}.
 *
 * @module
 */
import { OmniError } from "../../src/errors.ts";
import {
  type Connection,
  type ErrorReading,
  type RateLimitInfo,
  retryAfterMs,
  type SourceClient,
} from "../sdk/mod.ts";
import type { AuthSpec, Manifest } from "./manifest.ts";
import { readPath } from "./_values.ts";

/** The auth spec a connection uses: the first whose credential it has. */
export function pickAuth(manifest: Manifest, connection: Connection): AuthSpec | undefined {
  if (manifest.auth.length === 0) return undefined;
  const found = manifest.auth.find((a) => connection.credentials?.[a.credential]);
  if (!found) {
    const names = [...new Set(manifest.auth.map((a) => a.credential))].join(" or ");
    throw new OmniError(
      "SOURCE_ERROR",
      `${connection.name}: the ${manifest.id} connection has no credentials (${names})`,
      { details: { source: connection.name, connector: manifest.id } },
    );
  }
  return found;
}

/** Auth headers of a connection (query-parameter keys are added per request instead). */
export function authHeaders(manifest: Manifest, connection: Connection): Record<string, string> {
  const auth = pickAuth(manifest, connection);
  if (!auth) return {};
  const secret = connection.credentials[auth.credential];
  switch (auth.style) {
    case "header":
      return { [auth.header]: `${auth.prefix ?? ""}${secret}` };
    case "bearer":
      return { authorization: `Bearer ${secret}` };
    case "api_key_header":
      return { [auth.header]: secret };
    case "api_key_query":
      return {};
  }
}

/** Query parameters that authenticate (for `api_key_query`). */
export function authQuery(manifest: Manifest, connection: Connection): Record<string, string> {
  const auth = pickAuth(manifest, connection);
  return auth?.style === "api_key_query"
    ? { [auth.param]: connection.credentials[auth.credential] }
    : {};
}

/**
 * Reads the rate-limit headers a manifest names. With several budgets (requests, complexity),
 * the one with the smallest remaining share is reported.
 */
export function readRateLimit(manifest: Manifest, headers: Headers): RateLimitInfo {
  const spec = manifest.rate_limit;
  const num = (name?: string) => {
    if (!name) return undefined;
    const v = headers.get(name);
    if (v === null || v.trim() === "") return undefined;
    const n = Number(v);
    return Number.isFinite(n) ? n : undefined;
  };
  let best: RateLimitInfo | undefined;
  let bestShare = Infinity;
  for (const b of spec.buckets) {
    const info: RateLimitInfo = {};
    const limit = num(b.limit);
    const remaining = num(b.remaining);
    if (limit !== undefined) info.limit = limit;
    if (remaining !== undefined) info.remaining = remaining;
    const resetRaw = b.reset ? headers.get(b.reset) : null;
    if (resetRaw) {
      const n = Number(resetRaw);
      const at = spec.reset_unit === "iso"
        ? Date.parse(resetRaw)
        : spec.reset_unit === "epoch_ms"
        ? n
        : spec.reset_unit === "epoch_s"
        ? n * 1000
        : Date.now() + n * 1000;
      if (Number.isFinite(at)) info.resetAt = at;
    }
    if (Object.keys(info).length === 0) continue;
    const share = remaining === undefined ? 1 : limit ? remaining / limit : remaining;
    if (!best || share < bestShare) {
      best = info;
      bestShare = share;
    }
  }
  const out: RateLimitInfo = { ...best };
  if (spec.retry_after) {
    const retry = retryAfterMs(headers);
    if (retry !== undefined) out.retryAfterMs = retry;
  }
  return out;
}

/** The codes of an error body, by the manifest's code paths. */
export function errorCodes(manifest: Manifest, body: unknown): string[] {
  return manifest.errors.codes.flatMap((p) => readPath(body, p)).filter((c) =>
    typeof c === "string"
  ) as string[];
}

/** Reads an error body by the manifest's message and code paths. */
export function readError(manifest: Manifest, status: number, body: unknown): ErrorReading {
  const messages = manifest.errors.messages.flatMap((p) => readPath(body, p))
    .filter((m) => typeof m === "string" && m !== "") as string[];
  const codes = errorCodes(manifest, body);
  const rateLimited = status === 429 || codes.some((c) => manifest.errors.rate_limited.includes(c));
  let message = messages.join("; ");
  if (!message && typeof body === "string" && body.trim()) message = body.trim().slice(0, 200);
  if (!message) message = `HTTP ${status}`;
  if (codes.length) message = `${message} (${[...new Set(codes)].join(", ")})`;
  return { message, rateLimited };
}

/** An error raised by the runtime itself, shaped as the SDK's {@link SourceClient} shapes them. */
export function sourceError(
  manifest: Manifest,
  connection: Connection,
  code: "SOURCE_ERROR" | "RATE_LIMIT_EXHAUSTED",
  message: string,
  extra: { status?: number; retryAfterMs?: number } = {},
): OmniError {
  return new OmniError(code, `${connection.name}: ${message}`, {
    retryAfterMs: extra.retryAfterMs,
    details: {
      source: connection.name,
      connector: manifest.id,
      ...(extra.status !== undefined ? { status: extra.status } : {}),
      ...(code === "RATE_LIMIT_EXHAUSTED" ? { level: "source" } : {}),
    },
  });
}

/** GraphQL errors inside a 2xx answer, as the error the SDK would raise for them. */
export function graphqlFailure(
  manifest: Manifest,
  connection: Connection,
  http: SourceClient,
  status: number,
  body: unknown,
): OmniError {
  const reading = readError(manifest, status, body);
  if (reading.rateLimited) {
    const limit = http.lastRateLimit ?? {};
    const retryAfterMs = limit.retryAfterMs ??
      (limit.resetAt ? Math.max(0, limit.resetAt - Date.now()) : 60_000);
    return sourceError(
      manifest,
      connection,
      "RATE_LIMIT_EXHAUSTED",
      `the app's rate limit is spent: ${reading.message}`,
      { status, retryAfterMs },
    );
  }
  return sourceError(
    manifest,
    connection,
    "SOURCE_ERROR",
    `the app answered with errors: ${reading.message}`,
    { status },
  );
}
