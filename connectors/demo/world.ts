/**
 * The demo world behind the sandboxes: one deterministic set of people, repositories, pull
 * requests and Jira issues per organisation, generated from a seed so every run (and every test
 * computing expected rows) sees the same data. GitHub and Jira sandboxes each serve their slice;
 * branch names tie them together as they do in real teams (`feature/MOB-12-…`).
 *
 * @module
 */

/** A person of the organisation, as both apps know them. */
export interface DemoPerson {
  login: string;
  name: string;
  /** Public email on GitHub; often null there, always set in Jira. */
  publicEmail: string | null;
  email: string;
  accountId: string;
  team: string;
}

/** A pull request as GitHub stores it. */
export interface DemoPull {
  repo: string;
  number: number;
  title: string;
  author: string;
  state: "open" | "closed";
  draft: boolean;
  head: string;
  base: string;
  createdAt: string;
  updatedAt: string;
  closedAt: string | null;
  mergedAt: string | null;
  additions: number;
  deletions: number;
  changedFiles: number;
  commits: number;
  labels: string[];
}

/** A Jira issue. */
export interface DemoIssue {
  id: string;
  key: string;
  project: string;
  summary: string;
  status: "To Do" | "In Progress" | "In Review" | "Done";
  assignee: string | null;
  branch: string | null;
  storyPoints: number | null;
  created: string;
  updated: string;
}

/** One organisation's data. */
export interface DemoOrg {
  owner: string;
  repos: { name: string; team: string }[];
  projects: { key: string; team: string; repos: string[] }[];
  people: DemoPerson[];
  pulls: DemoPull[];
  issues: DemoIssue[];
}

/** The organisations of the demo tenants. */
export const DEMO_ORGS: Record<string, Omit<DemoOrg, "people" | "pulls" | "issues">> = {
  acme: {
    owner: "acme",
    repos: [
      { name: "mobile-app", team: "mobile" },
      { name: "ios-app", team: "mobile" },
      { name: "web-app", team: "web" },
      { name: "web-dashboard", team: "web" },
    ],
    projects: [
      { key: "MOB", team: "mobile", repos: ["mobile-app", "ios-app"] },
      { key: "WEB", team: "web", repos: ["web-app", "web-dashboard"] },
    ],
  },
  globex: {
    owner: "globex",
    repos: [{ name: "platform-api", team: "platform" }, { name: "platform-ui", team: "platform" }],
    projects: [{ key: "PLT", team: "platform", repos: ["platform-api", "platform-ui"] }],
  },
};

const FIRST = ["ana", "ben", "chloe", "dev", "emre", "fatima", "goran", "hana", "ivan", "julia"];
const VERBS = ["Fix", "Add", "Refactor", "Speed up", "Remove", "Document", "Harden", "Migrate"];
const THINGS = [
  "login flow",
  "push notifications",
  "billing page",
  "search index",
  "dark mode",
  "session refresh",
  "CSV export",
  "rate limiter",
  "audit trail",
  "onboarding tour",
];
const STATUSES: DemoIssue["status"][] = ["To Do", "In Progress", "In Review", "Done"];
const EPOCH = Date.UTC(2026, 0, 1);
const DAY = 86_400_000;

/**
 * Builds one organisation's data deterministically.
 *
 * @example
 * ```ts
 * import { demoOrg } from "./world.ts";
 * const acme = demoOrg("acme");
 * console.assert(acme.pulls.length > 100 && acme.issues.length > 100);
 * console.assert(demoOrg("acme").pulls[7].title === acme.pulls[7].title);
 * ```
 */
export function demoOrg(owner: string): DemoOrg {
  const base = DEMO_ORGS[owner];
  if (!base) throw new Error(`no demo organisation ${owner}`);
  const rand = mulberry32(hash(owner));
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)];
  const int = (lo: number, hi: number) => lo + Math.floor(rand() * (hi - lo + 1));
  const iso = (ms: number) => new Date(ms).toISOString().replace(/\.\d{3}Z$/, "Z");

  const teams = [...new Set(base.repos.map((r) => r.team))];
  const people: DemoPerson[] = [];
  for (const team of teams) {
    for (let i = 0; i < 5; i++) {
      const first = FIRST[(people.length * 3 + i) % FIRST.length];
      const login = `${first}-${team}-${owner}`;
      people.push({
        login,
        name: `${first[0].toUpperCase()}${first.slice(1)} ${team[0].toUpperCase()}${team.slice(1)}`,
        publicEmail: i % 2 === 0 ? `${first}.${team}@${owner}.example` : null,
        email: `${first}.${team}@${owner}.example`,
        accountId: `5b10ac8d82e05b22cc7d${String(hash(login) % 100000).padStart(5, "0")}`,
        team,
      });
    }
  }

  const pulls: DemoPull[] = [];
  const issues: DemoIssue[] = [];
  for (const project of base.projects) {
    const members = people.filter((p) => p.team === project.team);
    const perRepoNumber = new Map(project.repos.map((r) => [r, 0]));
    for (let n = 1; n <= 150; n++) {
      const key = `${project.key}-${n}`;
      const thing = pick(THINGS);
      const summary = `${pick(VERBS)} ${thing}`;
      const slug = `${key}-${thing.toLowerCase().replace(/[^a-z0-9]+/g, "-")}`;
      const created = EPOCH - int(5, 300) * DAY + int(0, 86_399) * 1000;
      const status = pick(STATUSES);
      const hasPull = rand() < 0.7;
      const branch = hasPull || rand() < 0.3 ? `feature/${slug}` : null;
      const assignee = rand() < 0.85 ? pick(members) : null;
      issues.push({
        id: String(10000 + issues.length),
        key,
        project: project.key,
        summary,
        status,
        assignee: assignee?.accountId ?? null,
        branch,
        storyPoints: rand() < 0.8 ? pick([1, 2, 3, 5, 8, 13]) : null,
        created: iso(created),
        updated: iso(created + int(1, 20) * DAY),
      });
      if (!hasPull || !branch) continue;
      const repo = pick(project.repos);
      const number = (perRepoNumber.get(repo) ?? 0) + 1;
      perRepoNumber.set(repo, number);
      const opened = created + int(0, 10) * DAY + int(0, 86_399) * 1000;
      const merged = status === "Done" || (status === "In Review" && rand() < 0.5) ||
        rand() < 0.25;
      const closedUnmerged = !merged && rand() < 0.15;
      const closedAt = merged || closedUnmerged ? opened + int(1, 9) * DAY : null;
      const additions = int(1, 900);
      pulls.push({
        repo,
        number,
        title: `${key}: ${summary}`,
        author: pick(members).login,
        state: closedAt ? "closed" : "open",
        draft: !closedAt && rand() < 0.1,
        head: branch,
        base: "main",
        createdAt: iso(opened),
        updatedAt: iso(closedAt ?? opened + int(0, 5) * DAY),
        closedAt: closedAt ? iso(closedAt) : null,
        mergedAt: merged && closedAt ? iso(closedAt) : null,
        additions,
        deletions: int(0, Math.ceil(additions / 2)),
        changedFiles: int(1, 40),
        commits: int(1, 15),
        labels: rand() < 0.3 ? [pick(["bug", "enhancement", "security", "chore"])] : [],
      });
    }
    // Pull requests with no ticket: chores and dependency bumps.
    for (const repo of project.repos) {
      for (let i = 0; i < 8; i++) {
        const number = (perRepoNumber.get(repo) ?? 0) + 1;
        perRepoNumber.set(repo, number);
        const opened = EPOCH - int(1, 200) * DAY;
        const merged = rand() < 0.6;
        pulls.push({
          repo,
          number,
          title: `Bump dependency ${i + 1} in ${repo}`,
          author: pick(members).login,
          state: merged ? "closed" : "open",
          draft: false,
          head: `chore/${repo}-deps-${number}`,
          base: "main",
          createdAt: iso(opened),
          updatedAt: iso(opened + DAY),
          closedAt: merged ? iso(opened + DAY) : null,
          mergedAt: merged ? iso(opened + DAY) : null,
          additions: int(1, 40),
          deletions: int(1, 40),
          changedFiles: int(1, 3),
          commits: 1,
          labels: ["dependencies"],
        });
      }
    }
  }
  pulls.sort((a, b) => a.repo.localeCompare(b.repo) || a.number - b.number);
  return { ...base, people, pulls, issues };
}

function hash(s: string): number {
  let h = 2166136261;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 16777619);
  return h >>> 0;
}

function mulberry32(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
