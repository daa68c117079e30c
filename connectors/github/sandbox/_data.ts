/**
 * The GitHub sandbox's data: the demo world ({@link demoOrg}) with deterministic GitHub ids, and
 * the JSON shapes GitHub's REST API gives repositories, users, pull requests and search items.
 *
 * @module
 */
import { DEMO_ORGS, demoOrg, type DemoPerson, type DemoPull } from "../../demo/world.ts";

/** A repository as the sandbox knows it. */
export interface SbRepo {
  owner: string;
  name: string;
  id: number;
  team: string;
}

/** A pull request with its repository and ids. */
export interface SbPull {
  repo: SbRepo;
  pull: DemoPull;
  /** The pull request id (`id` of the pulls endpoints). */
  id: number;
  /** The issue id behind it (`id` of search items), different from `id` as on GitHub. */
  issueId: number;
}

/** Everything the sandbox serves. */
export interface SbWorld {
  repos: SbRepo[];
  pulls: SbPull[];
  people: Map<string, DemoPerson & { id: number }>;
}

const ORG_NAMES = Object.keys(DEMO_ORGS).sort();

function repoIndex(owner: string, repo: string): number {
  let i = 0;
  for (const org of ORG_NAMES) {
    for (const r of DEMO_ORGS[org].repos) {
      if (org === owner && r.name === repo) return i;
      i++;
    }
  }
  throw new Error(`no demo repository ${owner}/${repo}`);
}

/**
 * The sandbox's pull request id for a demo PR: stable, below 2^31, unique across orgs.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { pullRequestId } from "./_data.ts";
 * assert.ok(pullRequestId("acme", "mobile-app", 1) !== pullRequestId("acme", "ios-app", 1));
 * ```
 */
export function pullRequestId(owner: string, repo: string, number: number): number {
  return 1_600_000_000 + repoIndex(owner, repo) * 100_000 + number;
}

/**
 * The issue id behind a demo PR (what a search item's `id` holds), never equal to its PR id.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { issueId, pullRequestId } from "./_data.ts";
 * assert.ok(issueId("acme", "web-app", 3) !== pullRequestId("acme", "web-app", 3));
 * ```
 */
export function issueId(owner: string, repo: string, number: number): number {
  return 2_000_000_000 + repoIndex(owner, repo) * 100_000 + number;
}

/** Builds the data of the given organisations (`scale` as in {@link demoOrg}). */
export function buildWorld(orgs: string[], scale = 1): SbWorld {
  const repos: SbRepo[] = [];
  const pulls: SbPull[] = [];
  const people = new Map<string, DemoPerson & { id: number }>();
  for (const owner of orgs) {
    const org = demoOrg(owner, { scale });
    for (const r of org.repos) {
      repos.push({ owner, name: r.name, id: 700_000_000 + repoIndex(owner, r.name), team: r.team });
    }
    for (const p of org.people) people.set(p.login.toLowerCase(), { ...p, id: 0 });
    for (const pull of org.pulls) {
      const repo = repos.find((r) => r.owner === owner && r.name === pull.repo)!;
      pulls.push({
        repo,
        pull,
        id: pullRequestId(owner, pull.repo, pull.number),
        issueId: issueId(owner, pull.repo, pull.number),
      });
    }
  }
  for (const p of people.values()) p.id = 100_000 + (fnv(p.login) % 9_000_000);
  return { repos, pulls, people };
}

/** A 32-bit FNV-1a hash. */
export function fnv(s: string): number {
  let h = 2166136261;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 16777619);
  return h >>> 0;
}

/** A deterministic 40-hex-digit "commit sha". */
export function sha(s: string): string {
  let out = "";
  for (let i = 0; out.length < 40; i++) out += fnv(`${i}:${s}`).toString(16).padStart(8, "0");
  return out.slice(0, 40);
}

const nodeId = (prefix: string, id: number) =>
  `${prefix}_kwDO${btoa(String(id)).replace(/=+$/, "")}`;

/** Serializes objects with the API's base URL (origin plus any `/api/v3` prefix). */
export class Shapes {
  constructor(readonly api: string, readonly world: SbWorld) {}

  account(login: string, type: "User" | "Organization" = "User") {
    const person = this.world.people.get(login.toLowerCase());
    const id = person?.id ?? 900_000 + (fnv(login) % 100_000);
    return {
      login,
      id,
      node_id: nodeId(type === "User" ? "U" : "O", id),
      avatar_url: `https://avatars.githubusercontent.com/u/${id}?v=4`,
      url: `${this.api}/users/${login}`,
      html_url: `https://github.com/${login}`,
      type,
      site_admin: false,
    };
  }

  repo(r: SbRepo) {
    const full = `${r.owner}/${r.name}`;
    return {
      id: r.id,
      node_id: nodeId("R", r.id),
      name: r.name,
      full_name: full,
      private: true,
      owner: this.account(r.owner, "Organization"),
      html_url: `https://github.com/${full}`,
      description: null,
      fork: false,
      url: `${this.api}/repos/${full}`,
      pulls_url: `${this.api}/repos/${full}/pulls{/number}`,
      default_branch: "main",
      archived: false,
      disabled: false,
      visibility: "private",
    };
  }

  user(p: DemoPerson & { id: number }) {
    return {
      ...this.account(p.login),
      name: p.name,
      company: null,
      blog: "",
      location: null,
      email: p.publicEmail,
      hireable: null,
      bio: null,
      public_repos: 0,
      followers: 0,
      following: 0,
      created_at: "2020-01-01T00:00:00Z",
      updated_at: "2025-01-01T00:00:00Z",
    };
  }

  #labels(s: SbPull) {
    return s.pull.labels.map((name) => {
      const id = 5_000_000 + (fnv(`${s.repo.owner}/${s.repo.name}#${name}`) % 1_000_000);
      return {
        id,
        node_id: nodeId("LA", id),
        url: `${this.api}/repos/${s.repo.owner}/${s.repo.name}/labels/${encodeURIComponent(name)}`,
        name,
        color: sha(name).slice(0, 6),
        default: name === "bug" || name === "enhancement",
        description: null,
      };
    });
  }

  #ref(s: SbPull, ref: string, fork?: string) {
    const owner = fork ?? s.repo.owner;
    return {
      label: `${owner}:${ref}`,
      ref,
      sha: sha(`${owner}/${s.repo.name}@${ref}#${s.pull.number}`),
      user: fork ? this.account(fork) : this.account(s.repo.owner, "Organization"),
      // A fork's head names the fork, not the repository the pull request is in.
      repo: fork
        ? {
          ...this.repo(s.repo),
          full_name: `${fork}/${s.repo.name}`,
          owner: this.account(fork),
          fork: true,
        }
        : this.repo(s.repo),
    };
  }

  /**
   * Where a pull request lives: its repository's full name and API root, its API URL as an
   * issue, and the four links GitHub gives wherever it names a pull request.
   */
  #where(s: SbPull) {
    const full = `${s.repo.owner}/${s.repo.name}`;
    const api = `${this.api}/repos/${full}`;
    const html = `https://github.com/${full}/pull/${s.pull.number}`;
    return {
      full,
      api,
      issue: `${api}/issues/${s.pull.number}`,
      links: {
        url: `${api}/pulls/${s.pull.number}`,
        html_url: html,
        diff_url: `${html}.diff`,
        patch_url: `${html}.patch`,
      },
    };
  }

  pull(s: SbPull) {
    const { pull } = s;
    const { full, api, issue, links } = this.#where(s);
    return {
      ...links,
      id: s.id,
      node_id: nodeId("PR", s.id),
      issue_url: issue,
      number: pull.number,
      state: pull.state,
      locked: false,
      title: pull.title,
      user: this.account(pull.author),
      body: null,
      created_at: pull.createdAt,
      updated_at: pull.updatedAt,
      closed_at: pull.closedAt,
      merged_at: pull.mergedAt,
      merge_commit_sha: pull.mergedAt ? sha(`${full}#${pull.number}:merge`) : null,
      assignee: null,
      assignees: [],
      requested_reviewers: [],
      requested_teams: [],
      labels: this.#labels(s),
      milestone: null,
      draft: pull.draft,
      commits_url: `${api}/pulls/${pull.number}/commits`,
      review_comments_url: `${api}/pulls/${pull.number}/comments`,
      comments_url: `${issue}/comments`,
      statuses_url: `${api}/statuses/${sha(`${full}@${pull.head}#${pull.number}`)}`,
      head: this.#ref(s, pull.head, pull.headOwner),
      base: this.#ref(s, pull.base),
      author_association: "MEMBER",
      auto_merge: null,
      active_lock_reason: null,
    };
  }

  pullDetail(s: SbPull) {
    const { pull } = s;
    const merged = pull.mergedAt !== null;
    return {
      ...this.pull(s),
      merged,
      mergeable: pull.state === "open" ? true : null,
      rebaseable: pull.state === "open" ? true : null,
      mergeable_state: pull.state === "open" ? "clean" : "unknown",
      merged_by: merged ? this.account(pull.author) : null,
      comments: 0,
      review_comments: 0,
      maintainer_can_modify: false,
      commits: pull.commits,
      additions: pull.additions,
      deletions: pull.deletions,
      changed_files: pull.changedFiles,
    };
  }

  searchItem(s: SbPull) {
    const { pull } = s;
    const { api, issue, links } = this.#where(s);
    return {
      url: issue,
      repository_url: api,
      labels_url: `${issue}/labels{/name}`,
      comments_url: `${issue}/comments`,
      events_url: `${issue}/events`,
      html_url: links.html_url,
      id: s.issueId,
      node_id: nodeId("PR", s.id),
      number: pull.number,
      title: pull.title,
      user: this.account(pull.author),
      labels: this.#labels(s),
      state: pull.state,
      locked: false,
      assignee: null,
      assignees: [],
      milestone: null,
      comments: 0,
      created_at: pull.createdAt,
      updated_at: pull.updatedAt,
      closed_at: pull.closedAt,
      author_association: "MEMBER",
      active_lock_reason: null,
      draft: pull.draft,
      pull_request: { ...links, merged_at: pull.mergedAt },
      body: null,
      timeline_url: `${issue}/timeline`,
      performed_via_github_app: null,
      state_reason: pull.state === "closed" ? "completed" : null,
      score: 1.0,
    };
  }
}
