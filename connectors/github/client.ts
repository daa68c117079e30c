/**
 * The GitHub REST calls the connector makes, typed, each a thin wrapper over the SDK's
 * {@link SourceClient} (which owns auth, retries and error mapping). Also the subset of GitHub's
 * JSON shapes the connector reads.
 *
 * @module
 */
import type { OmniError } from "../../src/errors.ts";
import {
  type PageStyle,
  paginate,
  type PaginateOptions,
  type QueryParams,
  type SourceClient,
} from "../sdk/mod.ts";

/** A GitHub account as embedded in other objects (`user`, `owner`). */
export interface GhAccount {
  login: string;
  id: number;
  type: string;
}

/** A label on an issue or pull request. */
export interface GhLabel {
  name: string;
}

/** A pull request as `GET /repos/{o}/{r}/pulls` lists it. */
export interface GhPull {
  id: number;
  number: number;
  state: "open" | "closed";
  title: string;
  user: GhAccount | null;
  draft?: boolean;
  head: { ref: string; label?: string };
  base: { ref: string; label?: string };
  labels: GhLabel[];
  created_at: string;
  updated_at: string;
  closed_at: string | null;
  merged_at: string | null;
  html_url: string;
}

/** A pull request as `GET /repos/{o}/{r}/pulls/{n}` returns it: the list item plus sizes. */
export interface GhPullDetail extends GhPull {
  additions: number;
  deletions: number;
  changed_files: number;
  commits: number;
  merged?: boolean;
}

/** An item of `GET /search/issues` that is a pull request. Its `id` is the *issue* id. */
export interface GhSearchItem {
  id: number;
  number: number;
  state: "open" | "closed";
  title: string;
  user: GhAccount | null;
  labels: GhLabel[];
  created_at: string;
  updated_at: string;
  closed_at: string | null;
  html_url: string;
  repository_url: string;
  pull_request?: { url: string; html_url: string; merged_at: string | null };
}

/** A repository as `GET /orgs/{org}/repos` lists it. */
export interface GhRepo {
  id: number;
  name: string;
  full_name: string;
}

/**
 * The path of a repository's pull requests, segments URL-encoded.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { pullsPath } from "./client.ts";
 * assert.ok(pullsPath("acme", "web-app") === "/repos/acme/web-app/pulls");
 * ```
 */
export function pullsPath(owner: string, repo: string): string {
  return `/repos/${encodeURIComponent(owner)}/${encodeURIComponent(repo)}/pulls`;
}

/**
 * Renders a request line as EXPLAIN shows it, with the query string encoded exactly as the
 * request will carry it.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { requestLine } from "./client.ts";
 * assert.ok(requestLine("/x", { head: "a:b c" }) === "GET /x?head=a%3Ab+c");
 * ```
 */
export function requestLine(path: string, query: QueryParams = {}): string {
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(query)) {
    if (value === undefined) continue;
    if (Array.isArray(value)) value.forEach((v) => params.append(key, v));
    else params.set(key, String(value));
  }
  const qs = params.toString();
  return `GET ${path}${qs ? `?${qs}` : ""}`;
}

/** GitHub's list endpoints page by `Link` header; their answers are JSON arrays. */
const LIST: PageStyle = { style: "link", items: "." };

/**
 * The pages of a list endpoint (`GET /repos/{o}/{r}/pulls`, `/orgs/{org}/repos`…), first to
 * last. With `options.parallel`, pages 2..last are requested at once once the first page's
 * `rel="last"` link numbers them.
 *
 * @example
 * ```ts ignore
 * for await (const pulls of listPages<GhPull>(http, pullsPath("acme", "web"), { state: "all" })) {}
 * ```
 */
export async function* listPages<T>(
  http: SourceClient,
  path: string,
  query: QueryParams,
  options: PaginateOptions = {},
): AsyncGenerator<T[]> {
  for await (const page of paginate(http, LIST, { url: path, query }, options)) {
    yield page.items as T[];
  }
}

/**
 * What a list page's stored validator keeps of each pull request: the fields a row is made of
 * (`pullRow`), the only reader of these URLs. A list item carries the head and base
 * repositories in full, most of its size, which a 304 would otherwise decrypt and parse again.
 *
 * @example
 * ```ts
 * import { deepStrictEqual as assertEquals } from "node:assert/strict";
 * import { keptPulls } from "./client.ts";
 * const times = { created_at: "c", updated_at: "u", closed_at: null, merged_at: null };
 * const item = { id: 1, number: 2, state: "open", title: "t", user: { login: "a", id: 9 },
 *   draft: false, head: { ref: "f", repo: { id: 3 } }, base: { ref: "main" },
 *   labels: [{ name: "x", id: 4 }], ...times, html_url: "h" };
 * assertEquals(keptPulls([item]), [{ id: 1, number: 2, state: "open", title: "t",
 *   user: { login: "a" }, draft: false, head: { ref: "f" }, base: { ref: "main" },
 *   labels: [{ name: "x" }], ...times, html_url: "h" }]);
 * ```
 */
export function keptPulls(body: unknown): unknown {
  if (!Array.isArray(body)) return body;
  return body.map((p: GhPull) => ({
    id: p.id,
    number: p.number,
    state: p.state,
    title: p.title,
    user: p.user === null || p.user === undefined ? p.user : { login: p.user.login },
    draft: p.draft,
    head: p.head === undefined ? undefined : { ref: p.head?.ref },
    base: p.base === undefined ? undefined : { ref: p.base?.ref },
    labels: p.labels?.map((l) => ({ name: l.name })),
    created_at: p.created_at,
    updated_at: p.updated_at,
    closed_at: p.closed_at,
    merged_at: p.merged_at,
    html_url: p.html_url,
  }));
}

/**
 * Lists every repository of an organisation (`GET /orgs/{org}/repos`, all pages).
 *
 * @example
 * ```ts ignore
 * const names = (await listOrgRepos(http, "acme")).map((r) => r.name);
 * ```
 */
export async function listOrgRepos(http: SourceClient, org: string): Promise<GhRepo[]> {
  const repos: GhRepo[] = [];
  const path = `/orgs/${encodeURIComponent(org)}/repos`;
  for await (const page of listPages<GhRepo>(http, path, { per_page: 100 })) repos.push(...page);
  return repos;
}

/**
 * Fetches one pull request with its sizes (`GET /repos/{o}/{r}/pulls/{n}`).
 *
 * @example
 * ```ts ignore
 * const pr = await getPull(http, "acme", "web-app", 12);
 * ```
 */
export async function getPull(
  http: SourceClient,
  owner: string,
  repo: string,
  number: number,
): Promise<GhPullDetail> {
  const res = await http.get<unknown>(`${pullsPath(owner, repo)}/${number}`);
  if (!isObject(res.body) || typeof res.body.number !== "number") {
    throw unexpected(http, res.url, "a pull request object");
  }
  return res.body as unknown as GhPullDetail;
}

/** A pull request's sizes, as the GraphQL API names them in the REST API's words. */
export interface GhPullSizes {
  additions: number | null;
  deletions: number | null;
  changed_files: number | null;
  commits: number | null;
}

/** What {@link getDetailsBatch} asks for: pull requests (by repo and number) and logins. */
export interface DetailsRequest {
  owner: string;
  pulls: { repo: string; number: number }[];
  logins: string[];
}

/** Pull requests and logins one GraphQL request carries (GitHub allows far more nodes). */
export const DETAILS_BATCH = 100;

/**
 * Sizes of many pull requests and public emails of many users in one GraphQL request
 * (`POST /graphql`, `/api/graphql` on Enterprise Server): the REST API needs a call per pull
 * request (`GET /repos/{o}/{r}/pulls/{n}`) and per user (`GET /users/{login}`). Every value is a
 * GraphQL variable, never part of the query text. A pull request or user that no longer exists
 * (`NOT_FOUND`) comes back as `null`; any other error fails the request. At most
 * {@link DETAILS_BATCH} pull requests plus logins per call.
 *
 * @example
 * ```ts ignore
 * const { pulls, emails } = await getDetailsBatch(http, {
 *   owner: "acme", pulls: [{ repo: "web-app", number: 12 }], logins: ["octocat"],
 * });
 * ```
 */
export async function getDetailsBatch(
  http: SourceClient,
  request: DetailsRequest,
): Promise<{ pulls: (GhPullSizes | null)[]; emails: (string | null)[] }> {
  const params: string[] = [];
  const fields: string[] = [];
  const variables: Record<string, string | number> = {};
  request.pulls.forEach(({ repo, number }, i) => {
    params.push(`$o${i}: String!`, `$r${i}: String!`, `$n${i}: Int!`);
    Object.assign(variables, { [`o${i}`]: request.owner, [`r${i}`]: repo, [`n${i}`]: number });
    fields.push(
      `p${i}: repository(owner: $o${i}, name: $r${i}) { pullRequest(number: $n${i}) ` +
        `{ additions deletions changedFiles commits { totalCount } } }`,
    );
  });
  request.logins.forEach((login, i) => {
    params.push(`$l${i}: String!`);
    variables[`l${i}`] = login;
    fields.push(`u${i}: user(login: $l${i}) { email }`);
  });
  const query = `query(${params.join(", ")}) {\n  ${fields.join("\n  ")}\n}`;
  const res = await http.post<unknown>(graphqlUrl(http), { query, variables });
  const body = res.body;
  if (!isObject(body) || !("data" in body || "errors" in body)) {
    throw unexpected(http, res.url, "a GraphQL answer");
  }
  const errors = Array.isArray(body.errors) ? body.errors : [];
  // A pull request or user deleted since it was listed: null, as the REST 404 would say.
  if (errors.some((e) => !isObject(e) || e.type !== "NOT_FOUND")) {
    throw http.failure(res.status, body, res.headers);
  }
  const data = isObject(body.data) ? body.data : {};
  const count = (v: unknown) => (typeof v === "number" ? v : null);
  return {
    pulls: request.pulls.map((_, i) => {
      const repo = data[`p${i}`];
      const pr = isObject(repo) && isObject(repo.pullRequest) ? repo.pullRequest : undefined;
      if (!pr) return null;
      return {
        additions: count(pr.additions),
        deletions: count(pr.deletions),
        changed_files: count(pr.changedFiles),
        commits: isObject(pr.commits) ? count(pr.commits.totalCount) : null,
      };
    }),
    emails: request.logins.map((_, i) => {
      const user = data[`u${i}`];
      // GraphQL gives "" for a user who shows no public email; REST gives null.
      return isObject(user) && typeof user.email === "string" && user.email !== ""
        ? user.email
        : null;
    }),
  };
}

/** GitHub's GraphQL endpoint for a connection: `/graphql`, or `/api/graphql` beside `/api/v3`. */
function graphqlUrl(http: SourceClient): string {
  const base = http.url("");
  return base.pathname.endsWith("/api/v3/")
    ? new URL("../graphql", base).toString()
    : new URL("graphql", base).toString();
}

/**
 * The pages of `GET /search/issues` (paged by `Link`, records in `items`), each with the
 * search's `total_count`.
 *
 * @example
 * ```ts ignore
 * for await (const { items, total } of searchPages(http, { q: "is:pr repo:acme/web", per_page: 5 })) {}
 * ```
 */
export async function* searchPages(
  http: SourceClient,
  query: QueryParams,
): AsyncGenerator<{ items: GhSearchItem[]; total: number }> {
  const style: PageStyle = { style: "link", items: "items" };
  for await (const page of paginate(http, style, { url: "/search/issues", query })) {
    const total = (page.response.body as { total_count?: unknown }).total_count;
    yield {
      items: page.items as GhSearchItem[],
      total: typeof total === "number" ? total : Infinity,
    };
  }
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function unexpected(http: SourceClient, url: string, what: string): OmniError {
  return http.error("SOURCE_ERROR", `unexpected reply from ${new URL(url).pathname} (not ${what})`);
}
