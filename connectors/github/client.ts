/**
 * The GitHub REST calls the connector makes, typed, each a thin wrapper over the SDK's
 * {@link SourceClient} (which owns auth, retries and error mapping). Also the subset of GitHub's
 * JSON shapes the connector reads.
 *
 * @module
 */
import { OmniError } from "../../src/errors.ts";
import { parseLinkHeader, type QueryParams, type SourceClient } from "../sdk/mod.ts";

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

/** One page of a list call, with the `Link rel="next"` (and `rel="last"`) URLs when present. */
export interface GhPage<T> {
  items: T[];
  next?: string;
  /** The last page's URL: with `page=` in it, every page is addressable at once. */
  last?: string;
}

/**
 * The path of a repository's pull requests, segments URL-encoded.
 *
 * @example
 * ```ts
 * import { pullsPath } from "./client.ts";
 * console.assert(pullsPath("acme", "web-app") === "/repos/acme/web-app/pulls");
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
 * import { requestLine } from "./client.ts";
 * console.assert(requestLine("/x", { head: "a:b c" }) === "GET /x?head=a%3Ab+c");
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

/**
 * GETs one page of a list endpoint (a path with a query, or a `Link` URL) and reads its `next`.
 *
 * @example
 * ```ts ignore
 * const page = await getPage<GhPull>(http, "/repos/acme/web/pulls", { state: "all" });
 * ```
 */
export async function getPage<T>(
  http: SourceClient,
  pathOrUrl: string,
  query?: QueryParams,
): Promise<GhPage<T>> {
  const res = await http.get<unknown>(pathOrUrl, query);
  if (!Array.isArray(res.body)) throw unexpected(res.url, "a JSON array");
  const links = parseLinkHeader(res.headers.get("link"));
  return { items: res.body as T[], next: links.next, last: links.last };
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
  let page = await getPage<GhRepo>(http, `/orgs/${encodeURIComponent(org)}/repos`, {
    per_page: 100,
  });
  repos.push(...page.items);
  while (page.next) {
    page = await getPage<GhRepo>(http, page.next);
    repos.push(...page.items);
  }
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
    throw unexpected(res.url, "a pull request object");
  }
  return res.body as unknown as GhPullDetail;
}

/**
 * Reads a user's public email (`GET /users/{login}`); `null` when they show none.
 *
 * @example
 * ```ts ignore
 * const email = await getUserEmail(http, "octocat");
 * ```
 */
export async function getUserEmail(http: SourceClient, login: string): Promise<string | null> {
  const res = await http.get<unknown>(`/users/${encodeURIComponent(login)}`);
  if (!isObject(res.body)) throw unexpected(res.url, "a user object");
  const email = res.body.email;
  return typeof email === "string" && email !== "" ? email : null;
}

/**
 * One page of `GET /search/issues`.
 *
 * @example
 * ```ts ignore
 * const page = await searchIssues(http, "/search/issues", { q: "is:pr repo:acme/web", per_page: 5 });
 * ```
 */
export async function searchIssues(
  http: SourceClient,
  pathOrUrl: string,
  query?: QueryParams,
): Promise<GhPage<GhSearchItem> & { total: number }> {
  const res = await http.get<unknown>(pathOrUrl, query);
  if (!isObject(res.body) || !Array.isArray(res.body.items)) {
    throw unexpected(res.url, "a search result");
  }
  return {
    items: res.body.items as GhSearchItem[],
    total: typeof res.body.total_count === "number" ? res.body.total_count : 0,
    next: parseLinkHeader(res.headers.get("link")).next,
  };
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function unexpected(url: string, what: string): OmniError {
  const path = new URL(url).pathname;
  return new OmniError("SOURCE_ERROR", `github: unexpected reply from ${path} (not ${what})`, {
    details: { connector: "github" },
  });
}
