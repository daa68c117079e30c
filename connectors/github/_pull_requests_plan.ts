/**
 * Pushdown negotiation for `pull_requests`: which predicates, order and limit GitHub's list and
 * search endpoints can take, and the native requests that implies.
 *
 * @module
 */
import {
  type Connection,
  matchesPredicate,
  type Predicate,
  type QueryParams,
  type ScanOffer,
  type ScanPlan,
} from "../sdk/mod.ts";
import { type GithubConfig, readGithubConfig, teamOf } from "./_config.ts";
import { DETAILS_BATCH, pullsPath, requestLine } from "./client.ts";

/** Columns that need the single-PR call. */
export const DETAIL_COLUMNS = ["additions", "deletions", "changed_files", "commits"] as const;
/** Columns a search item cannot fill (its `id` is the issue's; it has no head/base refs). */
export const SEARCH_MISSING = ["pr_id", "draft", "branch", "base_branch"] as const;
/** Largest LIMIT served from search when the rows must be filled by single-PR calls. */
export const SEARCH_FILL_MAX = 10;
/**
 * Most search results a branch filter fills by single-PR calls before lists are cheaper: past
 * this, the scan lists the repositories instead.
 */
export const BRANCH_FILL_MAX = 20;

type Status = "open" | "closed" | "merged";
const STATUSES: readonly Status[] = ["open", "closed", "merged"];
const apiState = (s: Status): "open" | "closed" => (s === "open" ? "open" : "closed");
/** Values safe as a search qualifier without quoting. */
const QUALIFIER_RE = /^[A-Za-z0-9._/-]{1,100}$/;

/**
 * Query parameters of `GET /repos/{o}/{r}/pulls`, in the order they are sent. No `head`: it
 * takes `owner:branch`, so it would miss pull requests from forks; a branch filter is applied
 * to each listed row's `head.ref` instead (or found by search).
 */
export interface ListQuery extends QueryParams {
  state: "open" | "closed" | "all";
  base?: string;
  sort?: "created" | "updated";
  direction?: "asc" | "desc";
  per_page: number;
}

/** Query parameters of `GET /search/issues`. */
export interface SearchQuery extends QueryParams {
  q: string;
  sort: "created" | "updated";
  order: "asc" | "desc";
  per_page: number;
}

/** The plan's private state, handed to the scan. */
export interface PullsPlanState {
  config: GithubConfig;
  /** The repos to list; null: every repo of the org, listed at scan time and filtered. */
  repos: string[] | null;
  /** `repo`/`team_id` predicates applied to the org listing when `repos` is null. */
  repoFilter: Predicate[];
  /** The predicates cannot hold for any row: no calls at all. */
  empty: boolean;
  list: ListQuery;
  /**
   * Pushed predicates the requests apply only as a superset (or not at all: `branch`), rechecked
   * on each row.
   */
  local: Predicate[];
  /**
   * Set when search (plus fills) serves the scan better than lists: an ordered LIMIT, or one
   * branch (`head:` finds forks' pull requests too; a prefix match, so rows are rechecked).
   * `maxFill`: more results than this to fill and the scan lists instead.
   */
  search?: SearchQuery & { fill: boolean; maxFill?: number };
  /** An ordered LIMIT served exactly (`ORDER BY created_at|updated_at … LIMIT n`). */
  topN?: { column: "created_at" | "updated_at"; direction: "asc" | "desc"; limit: number };
  /** An unordered LIMIT served exactly. */
  limit?: number;
  detail: boolean;
  email: boolean;
}

/**
 * Negotiates a scan of `pull_requests`: takes what GitHub can express, returns the rest.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { planPulls } from "./_pull_requests_plan.ts";
 * const plan = planPulls(
 *   { predicates: [{ column: "status", op: "=", value: "open" }], columns: ["pr_id"] },
 *   { id: "c", tenantId: "t", connector: "github", name: "github", baseUrl: "https://api.github.com",
 *     credentials: {}, config: { owner: "acme", repos: ["web"] } },
 * );
 * assert.ok(plan.native[0] === "GET /repos/acme/web/pulls?state=open&per_page=100");
 * ```
 */
export function planPulls(offer: ScanOffer, connection: Connection): ScanPlan<PullsPlanState> {
  const config = readGithubConfig(connection);
  const pushed: Predicate[] = [];
  const residual: Predicate[] = [];
  const repoPreds: Predicate[] = [];
  const statusPreds: Predicate[] = [];
  const branchPreds: Predicate[] = [];
  let allowed = new Set<Status>(STATUSES);
  let head: string | undefined, base: string | undefined, empty = false;

  for (const p of offer.predicates) {
    if (p.column === "repo" || p.column === "team_id") {
      repoPreds.push(p); // evaluated per repository: exact for every operator
      pushed.push(p);
    } else if (p.column === "status" || p.column === "state") {
      const matched = STATUSES.filter((s) =>
        matchesPredicate(p, p.column === "status" ? s : apiState(s), "text")
      );
      allowed = new Set(matched.filter((s) => allowed.has(s)));
      if (new Set(matched.map(apiState)).size === 2) residual.push(p); // cannot narrow `state=`
      else {
        statusPreds.push(p);
        pushed.push(p);
      }
    } else if (p.column === "branch" && branchValues(p)) {
      // Checked on every row's head.ref, whichever repository (fork or not) the branch is in.
      const values = branchValues(p)!;
      if (values.length === 0) empty = true;
      if (values.length === 1) {
        if (head !== undefined && head !== values[0]) empty = true;
        head = values[0];
      }
      branchPreds.push(p);
      pushed.push(p);
    } else if (p.column === "base_branch" && equalsString(p)) {
      const value = equalsString(p)!;
      if (base !== undefined && base !== value) empty = true;
      base = value;
      pushed.push(p);
    } else residual.push(p);
  }
  if (allowed.size === 0) empty = true;

  const valueOf = (column: string, repo: string) => column === "repo" ? repo : teamOf(config, repo);
  const keep = (repo: string) =>
    repoPreds.every((p) => matchesPredicate(p, valueOf(p.column, repo), "text"));
  const repos = config.repos ? config.repos.filter(keep) : null;
  if (repos?.length === 0) empty = true;

  const states = new Set([...allowed].map(apiState));
  const listExact = !(allowed.has("closed") !== allowed.has("merged"));
  const columns = [
    ...new Set([
      ...offer.columns,
      ...offer.predicates.map((p) => p.column),
      ...(offer.orderBy ?? []).map((k) => k.column),
    ]),
  ];
  const detail = DETAIL_COLUMNS.some((c) => columns.includes(c));
  const email = columns.includes("email");

  // Order and limit are only worth taking when nothing is left to DuckDB.
  const order = offer.orderBy?.length === 1 ? offer.orderBy[0] : undefined;
  const n = residual.length === 0 ? offer.limit : undefined;
  const topN = n !== undefined && order &&
      (order.column === "created_at" || order.column === "updated_at")
    ? { column: order.column as "created_at" | "updated_at", direction: order.direction, limit: n }
    : undefined;
  const limit = n !== undefined && !offer.orderBy?.length ? n : undefined;
  if ((topN?.limit ?? limit) === 0) empty = true;
  const wanted = topN?.limit ?? limit;

  const list: ListQuery = {
    state: states.size === 1 ? [...states][0] : "all",
    base,
    sort: topN ? (topN.column === "created_at" ? "created" : "updated") : undefined,
    direction: topN?.direction,
    per_page: wanted !== undefined && listExact && branchPreds.length === 0
      ? Math.max(1, Math.min(wanted, 100))
      : 100,
  };

  let search: PullsPlanState["search"];
  if (head !== undefined && !empty) {
    // One branch: search finds its pull requests in every repo, forks' included; each result
    // is filled (head.ref, pr_id) and rechecked. Lists when search cannot say it.
    const q = searchQuery(config, repos, repoPreds, allowed, head, base);
    if (q !== undefined) {
      search = {
        q,
        sort: topN?.column === "updated_at" ? "updated" : "created",
        order: topN?.direction ?? "desc",
        per_page: 100,
        fill: true,
        maxFill: BRANCH_FILL_MAX,
      };
    }
  } else if (topN && !empty) {
    const fill = SEARCH_MISSING.some((c) => columns.includes(c)) || detail;
    const q = searchQuery(config, repos, repoPreds, allowed, head, base);
    const reposInCalls = repos?.length ?? Infinity;
    if (
      q !== undefined && topN.limit <= 1000 &&
      (!fill || detail || topN.limit <= SEARCH_FILL_MAX) &&
      (reposInCalls > 1 || !listExact)
    ) {
      search = {
        q,
        sort: list.sort!,
        order: topN.direction,
        per_page: Math.min(topN.limit, 100),
        fill,
      };
    }
  }

  const state: PullsPlanState = {
    config,
    repos,
    repoFilter: repos ? [] : repoPreds,
    empty,
    list,
    local: [...(listExact ? [] : statusPreds), ...branchPreds],
    search,
    topN,
    limit,
    detail,
    email,
  };
  return {
    native: empty ? [] : nativeLines(state),
    pushed,
    residual,
    columns,
    limit: wanted,
    ...(detail && !search ? { perRowCalls: 1 / DETAILS_BATCH } : {}),
    state,
  };
}

/** The branches a predicate allows, when it is `=` or `IN` of strings. */
function branchValues(p: Predicate): string[] | undefined {
  if (p.op === "=" && typeof p.value === "string") return [p.value];
  if (p.op === "in" && p.values.every((v) => typeof v === "string")) {
    return [...new Set(p.values as string[])];
  }
  return undefined;
}

function equalsString(p: Predicate): string | undefined {
  if (p.op === "=" && typeof p.value === "string") return p.value;
  if (p.op === "in" && p.values.length === 1 && typeof p.values[0] === "string") {
    return p.values[0];
  }
  return undefined;
}

/** The search query for a plan, or undefined when search cannot express it exactly. */
function searchQuery(
  config: GithubConfig,
  repos: string[] | null,
  repoPreds: Predicate[],
  allowed: Set<Status>,
  head: string | undefined,
  base: string | undefined,
): string | undefined {
  // `head:` is a prefix match in search: the scan rechecks each filled row's branch.
  if (head !== undefined && !QUALIFIER_RE.test(head)) return undefined;
  if (base !== undefined && !QUALIFIER_RE.test(base)) return undefined;
  let scope: string[];
  if (repos) scope = repos.map((r) => `repo:${config.owner}/${r}`);
  else if (repoPreds.length === 0) scope = [`org:${config.owner}`];
  else return undefined;
  const key = ["open", "closed", "merged"].filter((s) => allowed.has(s as Status)).join(",");
  const status = ({
    "open": "is:open",
    "closed": "is:closed is:unmerged",
    "merged": "is:merged",
    "open,closed": "is:unmerged",
    "closed,merged": "is:closed",
    "open,closed,merged": "",
  } as Record<string, string>)[key];
  if (status === undefined) return undefined; // open or merged: no single qualifier
  const q = [
    "is:pr",
    ...scope,
    status,
    head === undefined ? "" : `head:${head}`,
    base === undefined ? "" : `base:${base}`,
  ].filter(Boolean).join(" ");
  return q.length <= 256 ? q : undefined;
}

function nativeLines(s: PullsPlanState): string[] {
  const owner = s.config.owner;
  const lines: string[] = [];
  const template = `/repos/${encodeURIComponent(owner)}/{repo}/pulls`;
  const perRow = `GET ${template}/{number}`;
  if (s.search) {
    const { fill: _fill, maxFill, ...query } = s.search;
    lines.push(requestLine("/search/issues", query));
    if (s.search.fill) lines.push(`${perRow} (per result)`);
    if (maxFill !== undefined) {
      // One line, marked "(per …)": the lists are a fallback, not requests the plan counts on.
      const list = requestLine(`/repos/${encodeURIComponent(owner)}/{repo}/pulls`, s.list);
      lines.push(`(more than ${maxFill} results: ${list} (per repo) instead, branch per row)`);
    }
  } else {
    lines.push(...listLines(s));
    if (s.detail) lines.push(`POST /graphql (sizes, per ${DETAILS_BATCH} rows)`);
  }
  if (s.email) lines.push(`POST /graphql (public emails, per ${DETAILS_BATCH} distinct authors)`);
  return lines;
}

function listLines(s: PullsPlanState): string[] {
  const owner = s.config.owner;
  if (s.repos) return s.repos.map((repo) => requestLine(pullsPath(owner, repo), s.list));
  return [
    requestLine(`/orgs/${encodeURIComponent(owner)}/repos`, { per_page: 100 }),
    requestLine(`/repos/${encodeURIComponent(owner)}/{repo}/pulls`, s.list) + " (per repo)",
  ];
}
