/**
 * Streaming `pull_requests` for a plan: list pages per repository (first pages of all repos at
 * once; once a first page's `Link` reveals `rel="last"`, the remaining pages at once by `page=`,
 * bounded by the connection's `pageConcurrency`, yielded in order), an ordered LIMIT merged across repos or served by one search call, and the detail and
 * email calls only when the plan's columns need them.
 *
 * @module
 */
import { OmniError } from "../../src/errors.ts";
import { matchesPredicate, type Row, type ScanContext, type ScanPlan } from "../sdk/mod.ts";
import { type GithubConfig, teamOf } from "./_config.ts";
import { connectionLimiter, Limiter, mapLimited } from "./_pool.ts";
import type { ListQuery, PullsPlanState } from "./_pull_requests_plan.ts";
import {
  getPage,
  getPull,
  getUserEmail,
  type GhPage,
  type GhPull,
  type GhPullDetail,
  type GhSearchItem,
  listOrgRepos,
  pullsPath,
  searchIssues,
} from "./client.ts";

/** At most this many extra calls (details, emails) or first pages in flight. */
const IN_FLIGHT = 8;

/**
 * Streams pages of rows for a plan made by `planPulls`.
 *
 * @example
 * ```ts ignore
 * for await (const page of scanPulls(ctx, plan)) console.log(page.length);
 * ```
 */
export async function* scanPulls(
  ctx: ScanContext,
  plan: ScanPlan<PullsPlanState>,
): AsyncGenerator<Row[]> {
  const s = plan.state;
  if (s.empty) return;
  const scan = new Scan(ctx, s);
  if (s.search) {
    let rows: Row[][] | undefined;
    try {
      rows = await scan.search();
    } catch (err) {
      // The search budget (30/min) is spent: the same rows from per-repo lists.
      if (!(err instanceof OmniError && err.code === "RATE_LIMIT_EXHAUSTED")) throw err;
    }
    if (rows) {
      yield* rows;
      return;
    }
  }
  const repos = s.repos ?? await scan.orgRepos();
  if (s.topN) yield await scan.topN(repos);
  else if (s.limit !== undefined) yield* scan.sequential(repos, s.limit);
  else yield* scan.all(repos);
}

class Scan {
  readonly #ctx: ScanContext;
  readonly #s: PullsPlanState;
  readonly #lists: Limiter;
  readonly #extra = new Limiter(IN_FLIGHT);
  readonly #emails = new Map<string, Promise<string | null>>();

  constructor(ctx: ScanContext, state: PullsPlanState) {
    this.#ctx = ctx;
    this.#s = state;
    this.#lists = connectionLimiter(ctx.connection.id, state.config.pageConcurrency);
  }

  get #owner(): string {
    return this.#s.config.owner;
  }

  /** Every repo of the org, narrowed by the plan's `repo`/`team_id` predicates. */
  async orgRepos(): Promise<string[]> {
    const listed = await listOrgRepos(this.#ctx.http, this.#owner);
    const value = (column: string, repo: string) =>
      column === "repo" ? repo : teamOf(this.#s.config, repo);
    return listed.map((r) => r.name).filter((repo) =>
      this.#s.repoFilter.every((p) => matchesPredicate(p, value(p.column, repo), "text"))
    );
  }

  /** All pages of all repos: first pages fetched at once, yielded in repo order. */
  async *all(repos: string[]): AsyncGenerator<Row[]> {
    const firsts = repos.map((repo) =>
      this.#lists.run(() =>
        getPage<GhPull>(this.#ctx.http, pullsPath(this.#owner, repo), this.#s.list)
      )
    );
    firsts.forEach((p) => p.catch(() => {})); // awaited below, in order
    const rest: Promise<GhPage<GhPull>>[] = [];
    try {
      for (const [i, repo] of repos.entries()) {
        let page = await firsts[i];
        yield await this.#rows(page.items, repo);
        const urls = pageUrls(page);
        if (urls) {
          rest.length = 0;
          for (const url of urls) {
            const p = this.#lists.run(() => getPage<GhPull>(this.#ctx.http, url));
            p.catch(() => {}); // awaited below, in order
            rest.push(p);
          }
          for (const p of rest) yield await this.#rows((await p).items, repo);
          continue;
        }
        while (page.next) {
          page = await getPage<GhPull>(this.#ctx.http, page.next);
          yield await this.#rows(page.items, repo);
        }
      }
    } finally {
      // Nothing left running when the consumer stops.
      await Promise.allSettled([...firsts, ...rest]);
    }
  }

  /** An unordered LIMIT: repo after repo, stopping as soon as `limit` rows are out. */
  async *sequential(repos: string[], limit: number): AsyncGenerator<Row[]> {
    let left = limit;
    for (const repo of repos) {
      let next: string | undefined = pullsPath(this.#owner, repo);
      let query: ListQuery | undefined = this.#s.list;
      while (next && left > 0) {
        const page: GhPage<GhPull> = await getPage<GhPull>(this.#ctx.http, next, query);
        const rows = this.#filter(page.items.map((p) => pullRow(p, repo, this.#s.config)));
        const taken = rows.slice(0, left);
        left -= taken.length;
        yield await this.#enrich(taken);
        [next, query] = [page.next, undefined]; // a Link URL carries the query
      }
      if (left <= 0) return;
    }
  }

  /** An ordered LIMIT from per-repo sorted lists, merged: one page of at most `limit` rows. */
  async topN(repos: string[]): Promise<Row[]> {
    const { column, direction, limit } = this.#s.topN!;
    const perRepo = await mapLimited(repos, this.#lists, async (repo) => {
      const rows: Row[] = [];
      let page = await getPage<GhPull>(this.#ctx.http, pullsPath(this.#owner, repo), this.#s.list);
      for (;;) {
        rows.push(...this.#filter(page.items.map((p) => pullRow(p, repo, this.#s.config))));
        if (rows.length >= limit || !page.next) return rows.slice(0, limit);
        page = await getPage<GhPull>(this.#ctx.http, page.next);
      }
    });
    const sign = direction === "asc" ? 1 : -1;
    const key = (r: Row) => String(r[column]);
    const merged = perRepo.flat().sort((a, b) =>
      key(a) < key(b) ? -sign : key(a) > key(b) ? sign : 0
    );
    return await this.#enrich(merged.slice(0, limit));
  }

  /** An ordered LIMIT from search: one page of rows per search call. */
  async search(): Promise<Row[][]> {
    const { fill, ...query } = this.#s.search!;
    let left = this.#s.topN!.limit;
    const pages: Row[][] = [];
    let page = await searchIssues(this.#ctx.http, "/search/issues", query);
    for (;;) {
      const items = page.items.filter((i) => i.pull_request).slice(0, left);
      left -= items.length;
      const rows = fill
        ? await mapLimited(items, this.#extra, async (item) => {
          const { owner, repo } = repoOfItem(item);
          const pr = await getPull(this.#ctx.http, owner, repo, item.number);
          return withDetail(pullRow(pr, repo, this.#s.config), pr);
        })
        : items.map((item) => searchRow(item, this.#s.config));
      pages.push(await this.#enrich(rows, fill));
      if (left <= 0 || !page.next) return pages;
      page = await searchIssues(this.#ctx.http, page.next);
    }
  }

  #filter(rows: Row[]): Row[] {
    const local = this.#s.local;
    return local.length === 0
      ? rows
      : rows.filter((row) => local.every((p) => matchesPredicate(p, row[p.column], "text")));
  }

  async #rows(items: GhPull[], repo: string): Promise<Row[]> {
    return await this.#enrich(this.#filter(items.map((p) => pullRow(p, repo, this.#s.config))));
  }

  /** Adds detail columns and emails when the plan needs them. */
  async #enrich(rows: Row[], haveDetail = false): Promise<Row[]> {
    const http = this.#ctx.http;
    if (this.#s.detail && !haveDetail) {
      await mapLimited(rows, this.#extra, async (row) => {
        const pr = await getPull(http, this.#owner, String(row.repo), Number(row.number));
        withDetail(row, pr);
      });
    }
    if (this.#s.email) {
      const logins = [...new Set(rows.map((r) => r.author).filter((a) => typeof a === "string"))];
      for (const login of logins as string[]) {
        if (!this.#emails.has(login)) {
          const p = this.#extra.run(() => getUserEmail(http, login));
          p.catch(() => {}); // awaited below
          this.#emails.set(login, p);
        }
      }
      const settled = await Promise.allSettled(logins.map((l) => this.#emails.get(l as string)!));
      const failed = settled.find((x): x is PromiseRejectedResult => x.status === "rejected");
      if (failed) throw failed.reason;
      for (const row of rows) {
        row.email = typeof row.author === "string" ? await this.#emails.get(row.author)! : null;
      }
    }
    return rows;
  }
}

/**
 * The URLs of pages 2..last when the first page's links address pages by `page=` (GitHub's list
 * endpoints do; a cursor-paginated answer has no usable `last`), else null.
 */
function pageUrls(first: GhPage<unknown>): string[] | null {
  if (!first.next || !first.last) return null;
  const next = new URL(first.next), last = new URL(first.last);
  const lastPage = Number(last.searchParams.get("page"));
  if (next.searchParams.get("page") !== "2" || !Number.isSafeInteger(lastPage) || lastPage < 2) {
    return null;
  }
  const urls: string[] = [];
  for (let n = 2; n <= lastPage; n++) {
    last.searchParams.set("page", String(n));
    urls.push(last.toString());
  }
  return urls;
}

/** A row from a list item (or a single-PR answer); detail columns null until filled. */
export function pullRow(p: GhPull, repo: string, config: GithubConfig): Row {
  return {
    pr_id: p.id,
    number: p.number,
    repo,
    title: p.title,
    author: p.user?.login ?? null,
    email: null,
    status: p.merged_at ? "merged" : p.state,
    state: p.state,
    draft: p.draft ?? false,
    branch: p.head?.ref ?? null,
    base_branch: p.base?.ref ?? null,
    team_id: teamOf(config, repo),
    labels: (p.labels ?? []).map((l) => l.name),
    created_at: p.created_at,
    updated_at: p.updated_at,
    closed_at: p.closed_at ?? null,
    merged_at: p.merged_at ?? null,
    url: p.html_url,
    additions: null,
    deletions: null,
    changed_files: null,
    commits: null,
  };
}

function withDetail(row: Row, pr: GhPullDetail): Row {
  row.additions = pr.additions ?? null;
  row.deletions = pr.deletions ?? null;
  row.changed_files = pr.changed_files ?? null;
  row.commits = pr.commits ?? null;
  return row;
}

/** A row from a search item: no `pr_id` (the item's id is the issue's), head or base refs. */
function searchRow(item: GhSearchItem, config: GithubConfig): Row {
  const { repo } = repoOfItem(item);
  const mergedAt = item.pull_request?.merged_at ?? null;
  return {
    pr_id: null,
    number: item.number,
    repo,
    title: item.title,
    author: item.user?.login ?? null,
    email: null,
    status: mergedAt ? "merged" : item.state,
    state: item.state,
    draft: null,
    branch: null,
    base_branch: null,
    team_id: teamOf(config, repo),
    labels: (item.labels ?? []).map((l) => l.name),
    created_at: item.created_at,
    updated_at: item.updated_at,
    closed_at: item.closed_at ?? null,
    merged_at: mergedAt,
    url: item.pull_request?.html_url ?? item.html_url,
    additions: null,
    deletions: null,
    changed_files: null,
    commits: null,
  };
}

function repoOfItem(item: GhSearchItem): { owner: string; repo: string } {
  const parts = new URL(item.repository_url).pathname.split("/");
  return {
    owner: decodeURIComponent(parts.at(-2) ?? ""),
    repo: decodeURIComponent(parts.at(-1) ?? ""),
  };
}
