/**
 * The physical floor of a query's fetches: the least time the calls it made could take at the
 * sandboxes' fixed latency, given what each call must wait for and how many may be in flight —
 * and the time its answer actually spent with a fetch running (the union of `sources[]`'s fetch
 * intervals), so the overhead is the time no fetch ran.
 *
 * @module
 */

/** Calls a GitHub connection keeps in flight: list pages (`pageConcurrency`), and as many extras. */
export const GITHUB_IN_FLIGHT = 8;
/** Jira project searches a scan runs at once (the connector's `PROJECT_CONCURRENCY`). */
export const JIRA_CHAINS_IN_FLIGHT = 4;

/** A request as the GitHub sandbox logs it. */
export interface GithubCall {
  method: string;
  path: string;
  search: string;
}

/** A request as the Jira sandbox logs it. */
export interface JiraCall {
  method: string;
  path: string;
  body?: unknown;
}

/**
 * Round trips GitHub's calls need at the least: a repository's pages 2..N wait for its first
 * page (whose `Link` numbers them), a detail batch waits for the page whose rows it fills, and
 * list pages and extra calls each run {@link GITHUB_IN_FLIGHT} at a time; an org's repository
 * list, when fetched, comes before everything.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { githubRounds } from "./floor.ts";
 * const list = (page?: number) => ({ method: "GET", path: "/repos/acme/web/pulls",
 *   search: page ? `?state=all&page=${page}` : "?state=all" });
 * const graphql = { method: "POST", path: "/graphql", search: "" };
 * assert.equal(githubRounds([list(), list(2), list(3)]), 2);
 * assert.equal(githubRounds([list(), list(2), graphql, graphql]), 3);
 * assert.equal(githubRounds([]), 0);
 * ```
 */
export function githubRounds(calls: readonly GithubCall[]): number {
  const isList = (c: GithubCall) => c.method === "GET" && /\/pulls$/.test(c.path);
  const lists = calls.filter(isList);
  const firsts = lists.filter((c) => !/[?&]page=/.test(c.search)).length;
  const later = lists.length - firsts;
  const orgRepos = calls.some((c) => /^\/(api\/v3\/)?orgs\/[^/]+\/repos$/.test(c.path)) ? 1 : 0;
  const extras = calls.length - lists.length - orgRepos;
  if (lists.length === 0) return orgRepos + Math.ceil(extras / GITHUB_IN_FLIGHT);
  const depth = 1 + (later > 0 ? 1 : 0) + (extras > 0 ? 1 : 0);
  const listRounds = Math.ceil(lists.length / GITHUB_IN_FLIGHT) + (extras > 0 ? 1 : 0);
  const extraRounds = extras > 0 ? 1 + Math.ceil(extras / GITHUB_IN_FLIGHT) : 0;
  return orgRepos + Math.max(depth, listRounds, extraRounds);
}

/**
 * Round trips Jira's calls need at the least: each distinct JQL search is a chain of token
 * pages (a page's token comes from the one before), chains run {@link JIRA_CHAINS_IN_FLIGHT} at
 * a time, and the status or field lists, when fetched, come before the searches that use them.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { jiraRounds } from "./floor.ts";
 * const search = (jql: string) => ({ method: "POST", path: "/rest/api/3/search/jql", body: { jql } });
 * assert.equal(jiraRounds([search("project = MOB"), search("project = MOB"), search("project = WEB")]), 2);
 * assert.equal(jiraRounds([{ method: "GET", path: "/rest/api/3/status" }, search("x")]), 2);
 * ```
 */
export function jiraRounds(calls: readonly JiraCall[]): number {
  const chains = new Map<string, number>();
  let other = 0;
  for (const c of calls) {
    if (c.method === "POST" && c.path.startsWith("/rest/api/3/search/jql")) {
      const jql = String((c.body as { jql?: unknown } | undefined)?.jql ?? "");
      chains.set(jql, (chains.get(jql) ?? 0) + 1);
    } else other++;
  }
  const lengths = [...chains.values()];
  const searches = lengths.reduce((n, l) => n + l, 0);
  const longest = Math.max(0, ...lengths);
  return (other > 0 ? 1 : 0) + Math.max(longest, Math.ceil(searches / JIRA_CHAINS_IN_FLIGHT));
}

/**
 * A source's fetch as an answer's `sources[]` reports it: the calls to the app ran `app_ms` from
 * `app_started_ms`, within the fetch (`fetch_ms` from `started_ms`, cache reads and writes
 * included).
 */
export interface FetchInterval {
  started_ms?: number;
  fetch_ms: number;
  app_started_ms?: number;
  app_ms?: number;
}

/**
 * How long at least one source's calls to the app were running: the union of the intervals
 * (`app_started_ms` + `app_ms`, else the whole fetch). A dependent join's probe starts after its
 * build side, so a chain counts in full, while sources fetched side by side count once. The
 * answer's time outside it is overhead: no call to an app ran.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { fetchPathMs } from "./floor.ts";
 * assert.equal(fetchPathMs([{ started_ms: 5, fetch_ms: 100 }, { started_ms: 10, fetch_ms: 50 }]), 100);
 * assert.equal(fetchPathMs([{ started_ms: 5, fetch_ms: 100 }, { started_ms: 110, fetch_ms: 50 }]), 150);
 * ```
 */
export function fetchPathMs(sources: readonly FetchInterval[]): number {
  const spans = sources
    .map((s) =>
      s.app_started_ms !== undefined && s.app_ms !== undefined
        ? [s.app_started_ms, s.app_started_ms + s.app_ms] as const
        : s.started_ms !== undefined
        ? [s.started_ms, s.started_ms + s.fetch_ms] as const
        : undefined
    )
    .filter((s) => s !== undefined)
    .sort((a, b) => a[0] - b[0]);
  let total = 0, end = -Infinity;
  for (const [from, to] of spans) {
    if (to <= end) continue;
    total += to - Math.max(from, end);
    end = to;
  }
  // Without start offsets (an older server), the slowest source alone.
  return spans.length > 0 ? total : Math.max(0, ...sources.map((s) => s.fetch_ms));
}
