/**
 * The sandbox's routes: GitHub's REST paths it serves and the answers it gives (pagination,
 * validation errors, search), independent of auth, rate limits and faults.
 *
 * @module
 */
import type { SbPull, SbRepo, SbWorld, Shapes } from "./_data.ts";
import { inScope, parseSearch } from "./_search.ts";

/** GitHub's documentation link in error bodies. */
export const DOCS = "https://docs.github.com/rest";

/** A route's answer before headers common to all answers are added. */
export interface Answer {
  status: number;
  body?: unknown;
  headers?: Record<string, string>;
}

export type Route =
  | { name: "rate_limit" }
  | { name: "org_repos"; org: string }
  | { name: "repo"; owner: string; repo: string }
  | { name: "pulls"; owner: string; repo: string }
  | { name: "pulls_by_id"; id: number }
  | { name: "pull"; owner: string; repo: string; number: string }
  | { name: "user"; login: string }
  | { name: "search" };

export function routeOf(path: string): Route | undefined {
  const seg = path.split("/").slice(1).map((s) => {
    try {
      return decodeURIComponent(s);
    } catch {
      return "\u0000";
    }
  });
  if (seg.at(-1) === "" && seg.length > 1) seg.pop();
  const [a, b, c, d, e] = seg;
  if (seg.length === 1 && a === "rate_limit") return { name: "rate_limit" };
  if (seg.length === 3 && a === "orgs" && c === "repos") return { name: "org_repos", org: b };
  if (a === "repos" && seg.length === 3) return { name: "repo", owner: b, repo: c };
  if (a === "repos" && seg.length === 4 && d === "pulls") {
    return { name: "pulls", owner: b, repo: c };
  }
  if (a === "repos" && seg.length === 5 && d === "pulls") {
    return { name: "pull", owner: b, repo: c, number: e };
  }
  if (a === "repositories" && seg.length === 3 && c === "pulls" && /^\d+$/.test(b)) {
    return { name: "pulls_by_id", id: Number(b) };
  }
  if (seg.length === 2 && a === "users") return { name: "user", login: b };
  if (seg.length === 2 && a === "search" && b === "issues") return { name: "search" };
  return undefined;
}

export function answerRoute(
  route: Route,
  url: URL,
  shapes: Shapes,
  world: SbWorld,
  owners: string[],
): Answer {
  // A grant is an owner (every repo) or one `owner/repo` (a user token scoped to that repo).
  const readable = (r: SbRepo) =>
    owners.includes(lower(r.owner)) || owners.includes(lower(`${r.owner}/${r.name}`));
  const findRepo = (owner: string, name: string) =>
    world.repos.find((r) => lower(r.owner) === lower(owner) && lower(r.name) === lower(name));
  switch (route.name) {
    case "org_repos": {
      if (!world.repos.some((r) => lower(r.owner) === lower(route.org))) {
        return { status: 404, body: notFound() };
      }
      const repos = world.repos.filter((r) => lower(r.owner) === lower(route.org) && readable(r));
      return paginate(url, repos, `${shapes.api}/orgs/${route.org}/repos`, (r) => shapes.repo(r));
    }
    case "repo": {
      const repo = findRepo(route.owner, route.repo);
      return repo && readable(repo)
        ? { status: 200, body: shapes.repo(repo) }
        : { status: 404, body: notFound() };
    }
    case "pulls":
    case "pulls_by_id": {
      const repo = route.name === "pulls"
        ? findRepo(route.owner, route.repo)
        : world.repos.find((r) => r.id === route.id);
      if (!repo || !readable(repo)) return { status: 404, body: notFound() };
      return listPulls(url, shapes, world, repo);
    }
    case "pull": {
      const repo = findRepo(route.owner, route.repo);
      const pr = repo && readable(repo) && /^\d+$/.test(route.number)
        ? world.pulls.find((p) => p.repo === repo && p.pull.number === Number(route.number))
        : undefined;
      return pr ? { status: 200, body: shapes.pullDetail(pr) } : { status: 404, body: notFound() };
    }
    case "user": {
      const person = world.people.get(lower(route.login));
      return person
        ? { status: 200, body: shapes.user(person) }
        : { status: 404, body: notFound() };
    }
    case "search":
      return search(url, shapes, world, readable);
    case "rate_limit":
      return { status: 404, body: notFound() };
  }
}

function listPulls(url: URL, shapes: Shapes, world: SbWorld, repo: SbRepo): Answer {
  const p = url.searchParams;
  const state = p.get("state") ?? "open";
  const sort = p.get("sort") ?? "created";
  const direction = p.get("direction") ?? (sort === "created" ? "desc" : "asc");
  const invalid = [
    ["state", state, ["open", "closed", "all"]],
    ["sort", sort, ["created", "updated", "popularity", "long-running"]],
    ["direction", direction, ["asc", "desc"]],
  ].filter(([, v, ok]) => !(ok as string[]).includes(v as string)).map(([field, value]) => ({
    resource: "PullRequest",
    field,
    code: "invalid",
    value,
  }));
  if (invalid.length) return validationFailed(invalid, `${DOCS}/pulls/pulls#list-pull-requests`);
  const head = p.get("head");
  const base = p.get("base");
  let pulls = world.pulls.filter((x) =>
    x.repo === repo && (state === "all" || x.pull.state === state)
  );
  if (head !== null) {
    const colon = head.indexOf(":");
    const [user, ref] = colon >= 0 ? [head.slice(0, colon), head.slice(colon + 1)] : [null, head];
    pulls = pulls.filter((x) =>
      (user === null || lower(user) === lower(x.pull.headOwner ?? repo.owner)) &&
      x.pull.head === ref
    );
  }
  if (base !== null) pulls = pulls.filter((x) => x.pull.base === base);
  const now = Date.now();
  const key = (x: SbPull): string | number =>
    sort === "created"
      ? x.pull.createdAt
      : sort === "updated"
      ? x.pull.updatedAt
      : sort === "long-running"
      ? (x.pull.closedAt ? Date.parse(x.pull.closedAt) : now) - Date.parse(x.pull.createdAt)
      : 0; // popularity: comment counts, all zero here
  const sign = direction === "asc" ? 1 : -1;
  pulls = [...pulls].sort((a, b) => {
    const ka = key(a), kb = key(b);
    return (ka < kb ? -sign : ka > kb ? sign : 0) || sign * (a.id - b.id);
  });
  const self = `${shapes.api}/repositories/${repo.id}/pulls`;
  return paginate(url, pulls, self, (x) => shapes.pull(x));
}

function search(
  url: URL,
  shapes: Shapes,
  world: SbWorld,
  readable: (r: SbRepo) => boolean,
): Answer {
  const p = url.searchParams;
  const q = p.get("q");
  const searchDocs = `${DOCS}/search/search#search-issues-and-pull-requests`;
  if (q === null || q.trim() === "") {
    return validationFailed([{ resource: "Search", field: "q", code: "missing" }], searchDocs);
  }
  if (q.length > 256) {
    return validationFailed([{
      message: "The search is longer than 256 characters.",
      resource: "Search",
      field: "q",
      code: "invalid",
    }], searchDocs);
  }
  const sort = p.get("sort");
  const order = p.get("order") ?? "desc";
  if (
    (sort !== null && !["created", "updated", "comments"].includes(sort)) ||
    !["asc", "desc"].includes(order)
  ) {
    return validationFailed([{
      resource: "Search",
      field: sort === null ? "order" : "sort",
      code: "invalid",
    }], searchDocs);
  }
  const parsed = parseSearch(q);
  const cannot = {
    message:
      "The listed users and repositories cannot be searched either because the resources do not exist or you do not have permission to view them.",
    resource: "Search",
    field: "q",
    code: "invalid",
  };
  if ("error" in parsed) {
    return validationFailed([{ ...cannot, message: parsed.error }], searchDocs);
  }
  for (const name of parsed.repos) {
    const repo = world.repos.find((r) => `${r.owner}/${r.name}`.toLowerCase() === name);
    if (!repo || !readable(repo)) return validationFailed([cannot], searchDocs);
  }
  for (const owner of parsed.owners) {
    if (!world.repos.some((r) => lower(r.owner) === owner)) {
      return validationFailed([cannot], searchDocs);
    }
  }
  const sign = order === "asc" ? 1 : -1;
  const key = (x: SbPull) => sort === "updated" ? x.pull.updatedAt : x.pull.createdAt;
  const hits = world.pulls
    .filter((x) => readable(x.repo) && inScope(parsed, x.repo) && parsed.test(x))
    .sort((a, b) => (key(a) < key(b) ? -sign : key(a) > key(b) ? sign : 0) || sign * (a.id - b.id));
  const perPage = perPageOf(p);
  const page = pageOf(p);
  if ((page - 1) * perPage >= 1000) {
    return {
      status: 422,
      body: {
        message: "Only the first 1000 search results are available",
        documentation_url: searchDocs,
      },
    };
  }
  const capped = hits.slice(0, 1000);
  const answer = paginate(url, capped, `${shapes.api}/search/issues`, (x) => shapes.searchItem(x));
  return {
    ...answer,
    body: { total_count: hits.length, incomplete_results: false, items: answer.body },
  };
}

/**
 * One page of `items` with GitHub's `Link` header (prev, next, last, first as they apply), each
 * item shaped only when it is on the page: shaping a repository's every pull request to answer
 * one page of them made the sandbox's own work, not the protocol, the cost of a list call.
 */
function paginate<T>(url: URL, items: T[], self: string, shape: (item: T) => unknown): Answer {
  const perPage = perPageOf(url.searchParams);
  const page = pageOf(url.searchParams);
  const last = Math.max(1, Math.ceil(items.length / perPage));
  const link = (n: number, rel: string) => {
    const u = new URL(self);
    for (const [k, v] of url.searchParams) if (k !== "page") u.searchParams.append(k, v);
    u.searchParams.set("page", String(n));
    return `<${u}>; rel="${rel}"`;
  };
  const links: string[] = [];
  if (page > 1) links.push(link(Math.min(page - 1, last), "prev"));
  if (page < last) links.push(link(page + 1, "next"), link(last, "last"));
  if (page > 1) links.push(link(1, "first"));
  return {
    status: 200,
    body: items.slice((page - 1) * perPage, page * perPage).map(shape),
    headers: links.length ? { link: links.join(", ") } : {},
  };
}

function perPageOf(p: URLSearchParams): number {
  const n = Number(p.get("per_page") ?? "30");
  return Number.isInteger(n) && n >= 1 ? Math.min(n, 100) : 30;
}

function pageOf(p: URLSearchParams): number {
  const n = Number(p.get("page") ?? "1");
  return Number.isInteger(n) && n >= 1 ? Math.min(n, 1_000_000) : 1;
}

function validationFailed(errors: unknown[], documentation_url: string): Answer {
  return { status: 422, body: { message: "Validation Failed", errors, documentation_url } };
}

export function notFound() {
  return { message: "Not Found", documentation_url: DOCS };
}

export function json(status: number, body: unknown, headers = new Headers()): Response {
  headers.set("content-type", "application/json; charset=utf-8");
  return new Response(JSON.stringify(body), { status, headers });
}

export const lower = (s: string) => s.toLowerCase();

export const STATUS_TEXT: Record<number, string> = {
  400: "Bad Request",
  403: "Forbidden",
  404: "Not Found",
  422: "Validation Failed",
  429: "Too Many Requests",
  500: "Server Error",
  502: "Server Error",
  503: "Service Unavailable",
  504: "Gateway Timeout",
};
