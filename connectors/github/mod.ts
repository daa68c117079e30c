/**
 * The GitHub connector: `pull_requests` over GitHub's REST API (api.github.com or GitHub
 * Enterprise Server at `https://HOST/api/v3`), with a bearer token per connection.
 *
 * @example
 * ```ts
 * import { github } from "./mod.ts";
 * console.assert(github.tables.some((t) => t.name === "pull_requests"));
 * ```
 *
 * @module
 */
import {
  type ConnectorDef,
  type ErrorReading,
  type RateLimitInfo,
  retryAfterMs,
} from "../sdk/mod.ts";
import { pullRequests } from "./pull_requests.ts";

export { pullRequests } from "./pull_requests.ts";

/**
 * Reads GitHub's rate-limit headers (`x-ratelimit-reset` is epoch seconds).
 *
 * @example
 * ```ts
 * import { readGithubRateLimit } from "./mod.ts";
 * const info = readGithubRateLimit(new Headers({ "x-ratelimit-remaining": "0", "x-ratelimit-reset": "10" }));
 * console.assert(info.remaining === 0 && info.resetAt === 10_000);
 * ```
 */
export function readGithubRateLimit(headers: Headers): RateLimitInfo {
  const num = (name: string) => {
    const v = headers.get(name);
    const n = v === null || v.trim() === "" ? NaN : Number(v);
    return Number.isFinite(n) ? n : undefined;
  };
  const reset = num("x-ratelimit-reset");
  return {
    limit: num("x-ratelimit-limit"),
    remaining: num("x-ratelimit-remaining"),
    resetAt: reset === undefined ? undefined : reset * 1000,
    retryAfterMs: retryAfterMs(headers),
  };
}

/**
 * Reads a GitHub error answer `{message, documentation_url}`; a 403/429 is a spent budget when
 * `x-ratelimit-remaining` is 0 or the message says "rate limit" (secondary limits).
 *
 * @example
 * ```ts
 * import { readGithubError } from "./mod.ts";
 * const r = readGithubError(403, { message: "API rate limit exceeded for user ID 1." }, new Headers());
 * console.assert(r.rateLimited === true);
 * ```
 */
export function readGithubError(status: number, body: unknown, headers: Headers): ErrorReading {
  let message = `HTTP ${status}`;
  if (typeof body === "object" && body !== null && "message" in body) {
    message = String((body as { message: unknown }).message);
  } else if (typeof body === "string" && body.trim() !== "") {
    message = body.trim().slice(0, 200);
  }
  const rateLimited = (status === 403 || status === 429) &&
    (headers.get("x-ratelimit-remaining") === "0" || /rate limit/i.test(message));
  return { message, rateLimited };
}

/**
 * The GitHub connector declaration.
 *
 * @example
 * ```ts
 * import { github } from "./mod.ts";
 * const headers = new Headers(await github.authorize({ id: "c", tenantId: "t", connector: "github",
 *   name: "github", baseUrl: "https://api.github.com", credentials: { token: "t0k" }, config: {} }));
 * console.assert(headers.get("authorization") === "Bearer t0k");
 * ```
 */
export const github: ConnectorDef = {
  id: "github",
  description: "GitHub pull requests (REST API v3, github.com or Enterprise Server).",
  tables: [pullRequests],
  authorize(connection) {
    const token = connection.credentials.token;
    return {
      authorization: `Bearer ${token ?? ""}`,
      accept: "application/vnd.github+json",
      "x-github-api-version": "2022-11-28",
    };
  },
  readRateLimit: readGithubRateLimit,
  readError: readGithubError,
};
