/**
 * A local HTTP server that speaks GitHub's REST protocol over the demo world: pull request lists
 * and details, users, organisation repositories, issue search and `/rate_limit`, with GitHub's
 * auth, `Link` pagination, rate-limit headers (core and search budgets), weak ETags with 304s that
 * cost nothing, and GitHub-shaped errors. Also served under `/api/v3` like Enterprise Server,
 * and GitHub's GraphQL endpoint (`/graphql`, `/api/graphql`; its own budget) for the fields the
 * connector batches. Tests inject latency and failures (the shared harness, `../../sandbox/`).
 * Repository hooks receive signed `pull_request` webhooks when
 * `POST /_sandbox/repos/{owner}/{repo}/pulls/{number}` changes a pull request.
 *
 * @module
 */
import { faultAnswer, FaultQueue, type SandboxFault, serveSandbox } from "../../sandbox/mod.ts";
import { sandboxHandle } from "../../sandbox/serve.ts";
import { buildWorld, fnv, Shapes } from "./_data.ts";
import { answerGraphql } from "./_graphql.ts";
import { answerRoute, DOCS, json, lower, notFound, routeOf, STATUS_TEXT } from "./_routes.ts";

import { handleSandboxChange, type RepoHooks } from "./_hooks.ts";

export { issueId, pullRequestId } from "./_data.ts";

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
  /** The app's latency: no answer leaves sooner after its request arrived (`ServeOptions.latencyMs`). @default 0 */
  latencyMs?: number;
  /** Core requests per hour per token. @default 5000 */
  ratePerHour?: number;
  /** Search requests per minute per token. @default 30 */
  searchPerMinute?: number;
  /** Multiplies the demo data (benchmarks), as `demoOrg`'s `scale`. @default 1 */
  scale?: number;
}

/** A failure injected into the next matching requests. */
export interface GithubFault extends SandboxFault {
  /** Only requests whose path (after any `/api/v3`) matches. @default every request */
  path?: RegExp;
  /** Only requests whose query string (e.g. `?page=2`) matches. @default any */
  search?: RegExp;
}

/** A running sandbox. */
export interface GithubSandbox {
  /** Base URL, e.g. `http://127.0.0.1:41234` (append `/api/v3` to act as Enterprise Server). */
  url: string;
  close(): Promise<void>;
  /** Every request received, in order. */
  requests: { method: string; path: string; search: string; body?: string }[];
  /** Clears the request log, faults and rate-limit budgets. */
  reset(): void;
  inject(fault: GithubFault): void;
}

type Resource = "core" | "search" | "graphql";

/** An answer as sent: its status, route headers, JSON text and (a GET's 200) its ETag. */
interface Rendered {
  status: number;
  headers: Record<string, string>;
  body?: string;
  etag?: string;
}

/** Rendered answers kept at most (a test's many URLs); all are dropped past it. */
const MAX_RENDERED = 1000;
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
    // GitHub's GraphQL budget is in points (5,000 an hour); a query of a few hundred nodes costs 1.
    graphql: { limit: options.ratePerHour ?? 5000, windowMs: 3_600_000 },
  };
  const buckets = new Map<string, Bucket>();
  const requests: GithubSandbox["requests"] = [];
  const faults = new FaultQueue<GithubFault, { path: string; search: string }>((f, r) =>
    (!f.path || f.path.test(r.path)) && (!f.search || f.search.test(r.search))
  );
  const hooks: RepoHooks = new Map();
  let seq = 0;
  // Rendered answers of GETs and GraphQL queries, per token and request, while the world is
  // unchanged: rendering and
  // hashing a page of a hundred pull requests is the sandbox's own work, which a client's
  // parallel calls would otherwise queue behind on its one thread (each repeat of the same
  // request, a revalidation included, renders the same bytes).
  let revision = 0;
  const rendered = new Map<string, Rendered & { revision: number }>();

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
    const faulted = await faultAnswer(faults.take({ path, search: url.search }), {
      headers,
      errorBody: (status) => ({
        message: STATUS_TEXT[status] ?? "Server Error",
        documentation_url: DOCS,
      }),
      partial: '[{"id": 1, "num',
    });
    if (faulted) return faulted;

    const token = req.headers.get("authorization")?.match(/^(?:bearer|token)\s+(\S+)\s*$/i)?.[1];
    const owners = token === undefined ? undefined : tokens.get(token);
    if (!token || !owners) {
      const anon = bucket("anonymous", "core"); // GitHub's unauthenticated budget: 60/hour
      for (const [k, v] of Object.entries(rateHeaders(anon, "core", 60))) headers.set(k, v);
      return json(401, { message: "Bad credentials", documentation_url: DOCS }, headers);
    }

    // Repository webhooks (GitHub's hooks API) and the sandbox's own data-change endpoint.
    const changed = await handleSandboxChange(req, path, world, owners, hooks);
    if (changed) {
      revision++;
      return json(changed.status, changed.body, headers);
    }
    const route = req.method === "GET" || req.method === "HEAD" ? routeOf(path) : undefined;
    const graphqlPath = url.pathname === "/graphql" || url.pathname === "/api/graphql";
    const resource: Resource = route?.name === "search"
      ? "search"
      : graphqlPath && req.method === "POST"
      ? "graphql"
      : "core";
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

    if (resource === "graphql") {
      const text = await req.text();
      requests[requests.length - 1].body = text;
      let payload: unknown;
      try {
        payload = JSON.parse(text);
      } catch {
        payload = undefined;
      }
      const readable = (r: { owner: string; name: string }) =>
        owners.includes(lower(r.owner)) || owners.includes(lower(`${r.owner}/${r.name}`));
      // The schema has no mutations: the same query over the same world answers the same.
      const key = `${token}\n${url.pathname}\n${text}`;
      let answer = rendered.get(key);
      if (answer?.revision !== revision) {
        const of = revision;
        const { status, body } = await answerGraphql(world, readable, payload);
        answer = { status, headers: {}, body: JSON.stringify(body), revision: of };
        if (rendered.size >= MAX_RENDERED) rendered.clear();
        rendered.set(key, answer);
      }
      b.used++;
      for (const [k, v] of Object.entries(rateHeaders(b, resource))) headers.set(k, v);
      headers.set("content-type", "application/json; charset=utf-8");
      return new Response(answer.body, { status: answer.status, headers });
    }

    const render = (): Rendered => {
      const answer = route
        ? answerRoute(route, url, new Shapes(api, world), world, owners)
        : { status: 404, body: notFound() };
      const body = answer.body === undefined ? undefined : JSON.stringify(answer.body);
      const etag = answer.status === 200 && body !== undefined
        ? `W/"${fnv(body).toString(16)}${fnv(`${body}|${token}`).toString(16)}"`
        : undefined;
      return { status: answer.status, headers: answer.headers ?? {}, body, etag };
    };
    // Search depends on its own budget's answers and a long-running sort on the clock: rendered
    // each time.
    const memo = route && route.name !== "search" &&
      url.searchParams.get("sort") !== "long-running";
    const key = `${token}\n${req.url}`;
    let answer = memo ? rendered.get(key) : undefined;
    if (answer?.revision !== revision) {
      answer = { ...render(), revision };
      if (memo) {
        if (rendered.size >= MAX_RENDERED) rendered.clear();
        rendered.set(key, answer);
      }
    }
    const { body, etag } = answer;
    for (const [k, v] of Object.entries(answer.headers)) headers.set(k, v);

    if (etag !== undefined) {
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

  const server = serveSandbox(handle, options);
  return Promise.resolve(
    sandboxHandle(server, requests, faults, () => {
      buckets.clear();
    }),
  );
}
