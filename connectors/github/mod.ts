/**
 * The GitHub connector: `pull_requests` over GitHub's REST API (api.github.com or GitHub
 * Enterprise Server at `https://HOST/api/v3`), with a bearer token per connection.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { github } from "./mod.ts";
 * assert.ok(github.tables.some((t) => t.name === "pull_requests"));
 * ```
 *
 * @module
 */
import {
  type AppProtocol,
  type ConnectorDef,
  type ErrorReading,
  protocolReaders,
  type RateLimitInfo,
} from "../sdk/mod.ts";
import { GITHUB_CONNECTION } from "./_config.ts";
import { pullRequests } from "./pull_requests.ts";

export { pullRequests } from "./pull_requests.ts";

/**
 * How GitHub's answers read: `x-ratelimit-*` headers (reset in epoch seconds), `Retry-After` on
 * secondary limits, errors `{message, documentation_url}` (422 adds `errors[]`; GraphQL answers
 * `{errors: [{type, message}]}`), and a 403/429 is a spent budget when `x-ratelimit-remaining` is
 * 0 or the message says "rate limit", as is a GraphQL `RATE_LIMITED`.
 */
export const GITHUB_PROTOCOL: AppProtocol = {
  rateLimit: {
    buckets: [{
      limit: "x-ratelimit-limit",
      remaining: "x-ratelimit-remaining",
      reset: "x-ratelimit-reset",
    }],
    resetUnit: "epoch_s",
    // Search has its own budget (30 a minute): not the connection's.
    resource: { header: "x-ratelimit-resource", main: "core" },
  },
  errors: {
    messages: ["message", "errors[].message"],
    // REST validation errors carry `code`; GraphQL errors `type` (RATE_LIMITED, NOT_FOUND…).
    codes: ["errors[].code", "errors[].type"],
    rateLimitedCodes: ["RATE_LIMITED"],
    rateLimitedStatuses: [403, 429],
    rateLimitedMessage: /rate limit/i,
  },
};

const readers = protocolReaders(GITHUB_PROTOCOL);

/**
 * Reads GitHub's rate-limit headers.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { readGithubRateLimit } from "./mod.ts";
 * const info = readGithubRateLimit(new Headers({ "x-ratelimit-remaining": "0", "x-ratelimit-reset": "10" }));
 * assert.deepEqual(info, { remaining: 0, resetAt: 10_000 });
 * ```
 */
export const readGithubRateLimit: (headers: Headers) => RateLimitInfo = readers.readRateLimit;

/**
 * Reads a GitHub error answer.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { readGithubError } from "./mod.ts";
 * const r = readGithubError(403, { message: "API rate limit exceeded for user ID 1." }, new Headers());
 * assert.equal(r.rateLimited, true);
 * ```
 */
export const readGithubError: (status: number, body: unknown, headers: Headers) => ErrorReading =
  readers.readError;

/**
 * The GitHub connector declaration.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { github } from "./mod.ts";
 * const headers = new Headers(await github.authorize({ id: "c", tenantId: "t", connector: "github",
 *   name: "github", baseUrl: "https://api.github.com", credentials: { token: "t0k" }, config: {} }));
 * assert.equal(headers.get("authorization"), "Bearer t0k");
 * ```
 */
export const github: ConnectorDef = {
  id: "github",
  description: "GitHub pull requests (REST API v3, github.com or Enterprise Server).",
  tables: [pullRequests],
  connection: GITHUB_CONNECTION,
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
