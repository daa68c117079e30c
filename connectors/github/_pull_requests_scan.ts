/**
 * Streaming `pull_requests` for a plan: list pages per repository through the SDK's `Link`
 * pagination (repositories are partitions fetched in parallel: first pages of all repos at once,
 * each repo's remaining pages at once when its first page's `rel="last"` numbers them; all
 * within the connection's `pageConcurrency`, yielded in order), an ordered LIMIT merged across repos or served by one search call, and sizes and
 * emails only when the plan's columns need them: batched, a hundred per GraphQL request.
 *
 * @module
 */
import { OmniError } from "../../src/errors.ts";
import {
  concatPartitions,
  connectionLimiter,
  Limiter,
  mapLimited,
  matchesPredicate,
  type Row,
  type ScanContext,
  type ScanPlan,
} from "../sdk/mod.ts";
import { type GithubConfig, teamOf } from "./_config.ts";
import type { PullsPlanState } from "./_pull_requests_plan.ts";
import {
  DETAILS_BATCH,
  getDetailsBatch,
  getPull,
  type GhPull,
  type GhPullDetail,
  type GhPullSizes,
  type GhSearchItem,
  keptPulls,
  listOrgRepos,
  listPages,
  pullsPath,
  searchPages,
} from "./client.ts";

/** At most this many extra calls (detail batches, search fills) in flight. */
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

  /**
   * All pages of all repos, every repository a partition driven on its own: first pages at once,
   * each repo's remaining pages as soon as its first page numbers them (all within the
   * connection's page budget), so no repository's pages wait for another's. Each page's sizes
   * and emails are asked for as soon as the page arrives (within the extra-call budget); pages
   * are yielded in repo and page order.
   */
  async *all(repos: string[]): AsyncGenerator<Row[]> {
    const started = new Set<Promise<Row[]>>();
    const partitions = repos.map((repo) => () => this.#enriched(repo, started));
    try {
      for await (const page of concatPartitions(partitions, partitions.length)) {
        yield await page.rows;
      }
    } finally {
      // Nothing left running when the consumer stops.
      await Promise.allSettled(started);
    }
  }

  /**
   * One repository's pages, each one's detail and email calls started as it arrives (wrapped: an
   * async generator would wait for a promise it yields).
   */
  async *#enriched(
    repo: string,
    started: Set<Promise<Row[]>>,
  ): AsyncGenerator<{ rows: Promise<Row[]> }> {
    const path = pullsPath(this.#owner, repo);
    const options = {
      signal: this.#ctx.signal,
      limiter: this.#lists,
      parallel: true,
      keep: keptPulls,
    };
    for await (const items of listPages<GhPull>(this.#ctx.http, path, this.#s.list, options)) {
      const rows = this.#rows(items, repo);
      rows.catch(() => {}); // awaited in order by `all`
      started.add(rows);
      yield { rows };
    }
  }

  /** An unordered LIMIT: repo after repo, stopping as soon as `limit` rows are out. */
  async *sequential(repos: string[], limit: number): AsyncGenerator<Row[]> {
    let left = limit;
    for (const repo of repos) {
      const path = pullsPath(this.#owner, repo);
      for await (
        const pulls of listPages<GhPull>(this.#ctx.http, path, this.#s.list, {
          keep: keptPulls,
        })
      ) {
        const rows = this.#filter(pulls.map((p) => pullRow(p, repo, this.#s.config)));
        const taken = rows.slice(0, left);
        left -= taken.length;
        yield await this.#enrich(taken);
        if (left <= 0) return;
      }
    }
  }

  /** An ordered LIMIT from per-repo sorted lists, merged: one page of at most `limit` rows. */
  async topN(repos: string[]): Promise<Row[]> {
    const { column, direction, limit } = this.#s.topN!;
    const perRepo = await mapLimited(repos, this.#lists, async (repo) => {
      const rows: Row[] = [];
      const path = pullsPath(this.#owner, repo);
      for await (
        const pulls of listPages<GhPull>(this.#ctx.http, path, this.#s.list, {
          keep: keptPulls,
        })
      ) {
        rows.push(...this.#filter(pulls.map((p) => pullRow(p, repo, this.#s.config))));
        if (rows.length >= limit) break;
      }
      return rows.slice(0, limit);
    });
    const sign = direction === "asc" ? 1 : -1;
    const key = (r: Row) => String(r[column]);
    const merged = perRepo.flat().sort((a, b) =>
      key(a) < key(b) ? -sign : key(a) > key(b) ? sign : 0
    );
    return await this.#enrich(merged.slice(0, limit));
  }

  /**
   * Rows from search: one page of rows per search call, each result filled by a single-PR call
   * when the plan needs fields search lacks, and rechecked (a `head:` match is a prefix match).
   * Undefined when more results would need filling than the plan allows: lists are cheaper.
   */
  async search(): Promise<Row[][] | undefined> {
    const { fill, maxFill, ...query } = this.#s.search!;
    let left = this.#s.topN?.limit ?? Infinity;
    const pages: Row[][] = [];
    for await (const { items: found, total } of searchPages(this.#ctx.http, query)) {
      if (maxFill !== undefined && total > maxFill) return undefined;
      // Without a recheck that may drop rows, a page needs no more fills than rows wanted.
      const items = found.filter((i) => i.pull_request).slice(0, maxFill ? undefined : left);
      const rows = fill
        ? await mapLimited(items, this.#extra, async (item) => {
          const { owner, repo } = repoOfItem(item);
          const pr = await getPull(this.#ctx.http, owner, repo, item.number);
          return withDetail(pullRow(pr, repo, this.#s.config), pr);
        })
        : items.map((item) => searchRow(item, this.#s.config));
      const kept = this.#filter(rows).slice(0, left);
      left -= kept.length;
      pages.push(await this.#enrich(kept, fill));
      if (left <= 0) break;
    }
    return pages;
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

  /**
   * Adds sizes and emails when the plan needs them: one GraphQL request per hundred pull
   * requests and new authors (an author's email is asked once per scan).
   */
  async #enrich(rows: Row[], haveDetail = false): Promise<Row[]> {
    const pulls = this.#s.detail && !haveDetail ? rows : [];
    const logins = this.#s.email
      ? [...new Set(rows.map((r) => r.author))].filter((a): a is string =>
        typeof a === "string" && !this.#emails.has(a)
      )
      : [];
    const items = [...pulls, ...logins];
    const batches: { pulls: Row[]; logins: string[] }[] = [];
    for (let i = 0; i < items.length; i += DETAILS_BATCH) {
      const batch = items.slice(i, i + DETAILS_BATCH);
      batches.push({
        pulls: batch.filter((x): x is Row => typeof x !== "string"),
        logins: batch.filter((x): x is string => typeof x === "string"),
      });
    }
    const answers = batches.map((b) =>
      this.#extra.run(() =>
        getDetailsBatch(this.#ctx.http, {
          owner: this.#owner,
          pulls: b.pulls.map((r) => ({ repo: String(r.repo), number: Number(r.number) })),
          logins: b.logins,
        })
      )
    );
    // Registered before awaiting: a later page by the same authors waits for these answers.
    batches.forEach((b, i) =>
      b.logins.forEach((login, j) => {
        const email = answers[i].then((a) => a.emails[j]);
        email.catch(() => {}); // awaited below
        this.#emails.set(login, email);
      })
    );
    const settled = await Promise.allSettled(answers);
    const failed = settled.find((x): x is PromiseRejectedResult => x.status === "rejected");
    if (failed) throw failed.reason;
    settled.forEach((answer, i) => {
      const { pulls: sizes } = (answer as PromiseFulfilledResult<{ pulls: (GhPullSizes | null)[] }>)
        .value;
      batches[i].pulls.forEach((row, j) => withDetail(row, sizes[j]));
    });
    if (this.#s.email) {
      for (const row of rows) {
        row.email = typeof row.author === "string" ? await this.#emails.get(row.author)! : null;
      }
    }
    return rows;
  }
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

function withDetail(row: Row, pr: GhPullSizes | GhPullDetail | null): Row {
  row.additions = pr?.additions ?? null;
  row.deletions = pr?.deletions ?? null;
  row.changed_files = pr?.changed_files ?? null;
  row.commits = pr?.commits ?? null;
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
