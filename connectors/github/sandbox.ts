/**
 * A local HTTP server that speaks GitHub's REST protocol over the demo world: pull request lists
 * and details, users, organisation repositories, issue search and `/rate_limit`, with GitHub's
 * auth, `Link` pagination, rate-limit headers (core and search budgets), weak ETags with 304s that
 * cost nothing, and GitHub-shaped errors. Also served under `/api/v3` like Enterprise Server.
 * Tests inject latency and failures. Repository hooks receive signed `pull_request` webhooks when
 * `POST /_sandbox/repos/{owner}/{repo}/pulls/{number}` changes a pull request.
 *
 * @module
 */
import { buildWorld, fnv, Shapes } from "./_sandbox_data.ts";
import {
  answerRoute,
  delay,
  DOCS,
  json,
  lower,
  notFound,
  routeOf,
  STATUS_TEXT,
} from "./_sandbox_routes.ts";

import { handleSandboxChange, type RepoHooks } from "./_sandbox_hooks.ts";

export { issueId, pullRequestId } from "./_sandbox_data.ts";

/** Options of {@link startGithubSandbox}. */
export interface GithubSandboxOptions {
  /** Port to listen on; 0 picks a free one. @default 0 */
  port?: number;
  /** @default "127.0.0.1" */
  hostname?: "127.0.0.1";
  /** Demo organisations to serve. @default ["acme", "globex"] */
  orgs?: string[];
  /** Token → owners whose repositories it may read. */
  tokens: Record<string, string[]>;
  /** Delay before every answer, milliseconds. @default 0 */
  latencyMs?: number;
  /** Core requests per hour per token. @default 5000 */
  ratePerHour?: number;
  /** Search requests per minute per token. @default 30 */
  searchPerMinute?: number;
  /** Multiplies the demo data (benchmarks), as `demoOrg`'s `scale`. @default 1 */
  scale?: number;
}

/** A failure injected into the next matching requests. */
export interface GithubFault {
  /** Answer with this status (default 200 when only `body` is given). */
  status?: number;
  /** How many matching requests it affects. @default 1 */
  times?: number;
  /** Adds `retry-after` (seconds). */
  retryAfterS?: number;
  /** Raw body to send instead of a GitHub error body. */
  body?: string;
  /** Extra delay; with neither `status` nor `body`, the request is then answered normally. */
  latencyMs?: number;
  /** Only requests whose path (after any `/api/v3`) matches. @default every request */
  path?: RegExp;
  /** Only requests whose query string (e.g. `?page=2`) matches. @default any */
  search?: RegExp;
  /** Matching requests answered normally before the fault applies (fail page 2, not 1). @default 0 */
  skip?: number;
  /** Drop the connection mid-answer: headers and part of the body, then a reset. */
  reset?: boolean;
}

/** A running sandbox. */
export interface GithubSandbox {
  /** Base URL, e.g. `http://127.0.0.1:41234` (append `/api/v3` to act as Enterprise Server). */
  url: string;
  close(): Promise<void>;
  /** Every request received, in order. */
  requests: { method: string; path: string; search: string }[];
  /** Clears the request log, faults and rate-limit budgets. */
  reset(): void;
  inject(fault: GithubFault): void;
}

type Resource = "core" | "search";
interface Bucket {
  used: number;
  resetAt: number;
}

/**
 * Starts a GitHub sandbox.
 *
 * @example
 * ```ts ignore
 * const gh = await startGithubSandbox({ tokens: { "ghp_demo_acme_0123456789": ["acme"] } });
 * const res = await fetch(`${gh.url}/repos/acme/web-app/pulls`, {
 *   headers: { authorization: "Bearer ghp_demo_acme_0123456789" },
 * });
 * await res.body?.cancel();
 * await gh.close();
 * ```
 */
export function startGithubSandbox(options: GithubSandboxOptions): Promise<GithubSandbox> {
  const world = buildWorld(options.orgs ?? ["acme", "globex"], options.scale);
  const tokens = new Map(Object.entries(options.tokens).map(([t, o]) => [t, o.map(lower)]));
  const limits: Record<Resource, { limit: number; windowMs: number }> = {
    core: { limit: options.ratePerHour ?? 5000, windowMs: 3_600_000 },
    search: { limit: options.searchPerMinute ?? 30, windowMs: 60_000 },
  };
  const buckets = new Map<string, Bucket>();
  const requests: GithubSandbox["requests"] = [];
  const hooks: RepoHooks = new Map();
  let faults: (GithubFault & { left: number })[] = [];
  let seq = 0;

  const bucket = (token: string, resource: Resource): Bucket => {
    const key = `${resource}:${token}`;
    let b = buckets.get(key);
    if (!b || b.resetAt <= Date.now()) {
      b = { used: 0, resetAt: Math.floor((Date.now() + limits[resource].windowMs) / 1000) * 1000 };
      buckets.set(key, b);
    }
    return b;
  };
  const rateHeaders = (b: Bucket, resource: Resource, limit = limits[resource].limit) => ({
    "x-ratelimit-limit": String(limit),
    "x-ratelimit-remaining": String(Math.max(0, limit - b.used)),
    "x-ratelimit-used": String(b.used),
    "x-ratelimit-reset": String(b.resetAt / 1000),
    "x-ratelimit-resource": resource,
  });

  async function handle(req: Request): Promise<Response> {
    const url = new URL(req.url);
    requests.push({ method: req.method, path: url.pathname, search: url.search });
    const prefix = url.pathname.startsWith("/api/v3/") ? "/api/v3" : "";
    const path = url.pathname.slice(prefix.length);
    const api = `${url.origin}${prefix}`;
    const headers = new Headers({
      "content-type": "application/json; charset=utf-8",
      "x-github-api-version-selected": "2022-11-28",
      "x-github-request-id": `SB${(++seq).toString(16).toUpperCase().padStart(8, "0")}`,
    });
    if (options.latencyMs) await delay(options.latencyMs);

    const fault = faults.find((f) =>
      f.left > 0 && (!f.path || f.path.test(path)) && (!f.search || f.search.test(url.search)) &&
      skipped(f)
    );
    if (fault) {
      fault.left--;
      faults = faults.filter((f) => f.left > 0);
      if (fault.latencyMs) await delay(fault.latencyMs);
      if (fault.reset) return resetMidAnswer(headers);
      if (fault.status !== undefined || fault.body !== undefined) {
        const status = fault.status ?? 200;
        if (fault.retryAfterS !== undefined) headers.set("retry-after", String(fault.retryAfterS));
        const body = fault.body ??
          JSON.stringify({
            message: STATUS_TEXT[status] ?? "Server Error",
            documentation_url: DOCS,
          });
        return new Response(status === 304 ? null : body, { status, headers });
      }
    }

    const token = req.headers.get("authorization")?.match(/^(?:bearer|token)\s+(\S+)\s*$/i)?.[1];
    const owners = token === undefined ? undefined : tokens.get(token);
    if (!token || !owners) {
      const anon = bucket("anonymous", "core"); // GitHub's unauthenticated budget: 60/hour
      for (const [k, v] of Object.entries(rateHeaders(anon, "core", 60))) headers.set(k, v);
      return json(401, { message: "Bad credentials", documentation_url: DOCS }, headers);
    }

    // Repository webhooks (GitHub's hooks API) and the sandbox's own data-change endpoint.
    const changed = await handleSandboxChange(req, path, world, owners, hooks);
    if (changed) return json(changed.status, changed.body, headers);
    const route = req.method === "GET" || req.method === "HEAD" ? routeOf(path) : undefined;
    const resource: Resource = route?.name === "search" ? "search" : "core";
    const b = bucket(token, resource);
    if (route?.name === "rate_limit") {
      const core = bucket(token, "core"), search = bucket(token, "search");
      const view = (x: Bucket, r: Resource) => ({
        limit: limits[r].limit,
        used: x.used,
        remaining: Math.max(0, limits[r].limit - x.used),
        reset: x.resetAt / 1000,
      });
      for (const [k, v] of Object.entries(rateHeaders(core, "core"))) headers.set(k, v);
      return json(200, {
        resources: { core: view(core, "core"), search: view(search, "search") },
        rate: view(core, "core"),
      }, headers);
    }
    if (b.used >= limits[resource].limit) {
      for (const [k, v] of Object.entries(rateHeaders(b, resource))) headers.set(k, v);
      const userId = 1000 + (fnv(token) % 9_000_000);
      return json(403, {
        message: `API rate limit exceeded for user ID ${userId}.`,
        documentation_url:
          "https://docs.github.com/rest/overview/rate-limits-for-the-rest-api#about-secondary-rate-limits",
      }, headers);
    }

    const shapes = new Shapes(api, world);
    const answer = route
      ? answerRoute(route, url, shapes, world, owners)
      : { status: 404, body: notFound() };
    const body = answer.body === undefined ? undefined : JSON.stringify(answer.body);
    for (const [k, v] of Object.entries(answer.headers ?? {})) headers.set(k, v);

    if (answer.status === 200 && body !== undefined) {
      const etag = `W/"${fnv(body).toString(16)}${fnv(`${body}|${token}`).toString(16)}"`;
      headers.set("etag", etag);
      headers.set("cache-control", "private, max-age=60, s-maxage=60");
      headers.set("vary", "Accept, Authorization, Cookie, X-GitHub-OTP");
      const inm = req.headers.get("if-none-match");
      if (inm && inm.split(",").some((t) => t.trim() === etag || t.trim() === etag.slice(2))) {
        for (const [k, v] of Object.entries(rateHeaders(b, resource))) headers.set(k, v);
        headers.delete("content-type");
        // GitHub is reported to send no `Link` on a 304: a client must page from what it stored.
        headers.delete("link");
        return new Response(null, { status: 304, headers }); // costs nothing
      }
    }
    b.used++;
    for (const [k, v] of Object.entries(rateHeaders(b, resource))) headers.set(k, v);
    return new Response(req.method === "HEAD" ? null : body ?? null, {
      status: answer.status,
      headers,
    });
  }

  const server = Deno.serve({
    port: options.port ?? 0,
    hostname: options.hostname ?? "127.0.0.1",
    onListen: () => {},
  }, async (req) => {
    try {
      return await handle(req);
    } catch (err) {
      // A sandbox bug, not a protocol answer: say so loudly in the body.
      return json(500, { message: `sandbox error: ${err instanceof Error ? err.message : err}` });
    }
  });
  const addr = server.addr;
  return Promise.resolve({
    url: `http://${addr.hostname}:${addr.port}`,
    close: () => server.shutdown(),
    requests,
    reset() {
      requests.length = 0;
      faults = [];
      buckets.clear();
    },
    inject(fault) {
      faults.push({ ...fault, left: fault.times ?? 1 });
    },
  });
}

/** A 200 whose body breaks off after a few bytes: the client sees the connection reset. */
function resetMidAnswer(headers: Headers): Response {
  const body = new ReadableStream<Uint8Array>({
    start(controller) {
      controller.enqueue(new TextEncoder().encode('[{"id": 1, "num'));
    },
    pull(controller) {
      controller.error(new Error("connection reset (injected)"));
    },
  });
  return new Response(body, { status: 200, headers });
}

/** Whether a matching fault applies now, or lets this request through (`skip`). */
function skipped(fault: { skip?: number }): boolean {
  if (!fault.skip) return true;
  fault.skip--;
  return false;
}
