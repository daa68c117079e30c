/**
 * The demo world behind the sandboxes: one deterministic set of people, repositories, pull
 * requests and Jira issues per organisation, generated from a seed so every run (and every test
 * computing expected rows) sees the same data. GitHub and Jira sandboxes each serve their slice;
 * branch names tie them together as they do in real teams (`feature/MOB-12-…`). Linear
 * workspaces ({@link demoLinear}) and Salesforce orgs ({@link demoSalesforce}) come from their
 * own PRNG streams, so adding them changed no GitHub or Jira row: Linear team keys are the demo
 * team ids and some `branchName`s are PR branches; Salesforce records are owned by the teams'
 * people (team in `User.Department`) and opportunities carry Jira keys in `Jira_Issue_Key__c`.
 *
 * @module
 */
import { hash, mulberry32 } from "./random.ts";

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
  /** Owner of the fork the head branch lives in; absent when it is in the repo itself. */
  headOwner?: string;
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

/** Options of {@link demoOrg}. */
export interface DemoOrgOptions {
  /**
   * Multiplies the tickets per project (150) and the ticket-less pull requests per repository
   * (8), for benchmarks that need thousands of rows; 1 gives exactly the demo data.
   * @default 1
   */
  scale?: number;
}

/**
 * Builds one organisation's data deterministically.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { demoOrg } from "./world.ts";
 * const acme = demoOrg("acme");
 * assert.ok(acme.pulls.length > 100 && acme.issues.length > 100);
 * assert.ok(demoOrg("acme").pulls[7].title === acme.pulls[7].title);
 * assert.ok(demoOrg("acme", { scale: 2 }).issues.length === 2 * acme.issues.length);
 * ```
 */
export function demoOrg(owner: string, options: DemoOrgOptions = {}): DemoOrg {
  const base = DEMO_ORGS[owner];
  if (!base) throw new Error(`no demo organisation ${owner}`);
  const scale = options.scale ?? 1;
  if (!Number.isInteger(scale) || scale < 1) throw new Error(`bad demo scale ${scale}`);
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
    for (let n = 1; n <= 150 * scale; n++) {
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
      const author = pick(members).login;
      pulls.push({
        repo,
        number,
        title: `${key}: ${summary}`,
        author,
        state: closedAt ? "closed" : "open",
        draft: !closedAt && rand() < 0.1,
        head: branch,
        // Some members open pull requests from their own forks (no draw: the world stays put).
        ...(number % 9 === 4 ? { headOwner: author } : {}),
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
      for (let i = 0; i < 8 * scale; i++) {
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

// ---------------------------------------------------------------------------------------------
// Linear and Salesforce: appended generators with their own PRNG streams, so the GitHub and Jira
// data above never changes.

/** A Linear workflow state. */
export interface DemoLinearState {
  name: string;
  type: "backlog" | "unstarted" | "started" | "completed" | "canceled";
}

/** A Linear issue, as Linear's GraphQL API answers it. */
export interface DemoLinearIssue {
  id: string;
  identifier: string;
  number: number;
  title: string;
  description: string | null;
  branchName: string;
  estimate: number | null;
  priority: number;
  priorityLabel: string;
  createdAt: string;
  updatedAt: string;
  startedAt: string | null;
  completedAt: string | null;
  canceledAt: string | null;
  url: string;
  state: DemoLinearState;
  /** The team's key: the demo team id (`mobile`, `web`, `platform`). */
  team: { key: string; name: string };
  assignee: { name: string; email: string } | null;
}

/** One organisation's Linear workspace. */
export interface DemoLinear {
  workspace: string;
  teams: { key: string; name: string }[];
  issues: DemoLinearIssue[];
}

const LINEAR_STATES: DemoLinearState[] = [
  { name: "Backlog", type: "backlog" },
  { name: "Todo", type: "unstarted" },
  { name: "In Progress", type: "started" },
  { name: "In Review", type: "started" },
  { name: "Done", type: "completed" },
  { name: "Canceled", type: "canceled" },
];
const PRIORITY_LABELS = ["No priority", "Urgent", "High", "Medium", "Low"];

/**
 * The organisation's Linear workspace: one team per demo team (its key is the team id, so
 * `github.pull_requests.team_id = linear.issues.team` joins), 30 issues per team. About a third
 * of the issues carry the branch of one of the team's pull requests as `branchName` (teams that
 * name branches after their tickets); the rest have Linear's generated `user/key-n-slug` name.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { demoLinear } from "./world.ts";
 * const linear = demoLinear("acme");
 * assert.ok(linear.issues.length === 60 && linear.teams.map((t) => t.key).join() === "mobile,web");
 * ```
 */
export function demoLinear(owner: string): DemoLinear {
  const org = demoOrg(owner);
  const rand = mulberry32(hash(`${owner}/linear`));
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)];
  const int = (lo: number, hi: number) => lo + Math.floor(rand() * (hi - lo + 1));
  const iso = (ms: number) => new Date(ms).toISOString();
  const teams = [...new Set(org.repos.map((r) => r.team))].map((key) => ({
    key,
    name: `${key[0].toUpperCase()}${key.slice(1)}`,
  }));
  const issues: DemoLinearIssue[] = [];
  for (const team of teams) {
    const members = org.people.filter((p) => p.team === team.key);
    const repos = new Set(org.repos.filter((r) => r.team === team.key).map((r) => r.name));
    const branches = org.pulls.filter((p) => repos.has(p.repo) && p.head.startsWith("feature/"))
      .map((p) => p.head);
    for (let n = 1; n <= 30; n++) {
      const identifier = `${team.key.toUpperCase()}-${n}`;
      const thing = pick(THINGS);
      const title = `${pick(VERBS)} ${thing}`;
      const slug = thing.toLowerCase().replace(/[^a-z0-9]+/g, "-");
      const created = EPOCH - int(3, 200) * DAY + int(0, 86_399_999);
      const updated = created + int(0, 30) * DAY + int(0, 86_399_999);
      const state = pick(LINEAR_STATES);
      const assignee = rand() < 0.8 ? pick(members) : null;
      const priority = int(0, 4);
      const started = state.type === "started" || state.type === "completed"
        ? created + int(0, 5) * DAY
        : null;
      const branchName = rand() < 0.35 && branches.length
        ? pick(branches)
        : `${(assignee ?? pick(members)).login.split("-")[0]}/${identifier.toLowerCase()}-${slug}`;
      issues.push({
        id: uuid(rand),
        identifier,
        number: n,
        title,
        description: rand() < 0.6 ? `${title} for the ${team.name} team.` : null,
        branchName,
        estimate: rand() < 0.7 ? pick([1, 2, 3, 5, 8]) : null,
        priority,
        priorityLabel: PRIORITY_LABELS[priority],
        createdAt: iso(created),
        updatedAt: iso(updated),
        startedAt: started === null ? null : iso(started),
        completedAt: state.type === "completed" ? iso(updated) : null,
        canceledAt: state.type === "canceled" ? iso(updated) : null,
        url: `https://linear.app/${owner}/issue/${identifier}/${slug}`,
        state,
        team,
        assignee: assignee ? { name: assignee.name, email: assignee.email } : null,
      });
    }
  }
  return { workspace: owner, teams, issues };
}

/** A Salesforce user: the demo people, with their team as `Department`. */
export interface DemoSfUser {
  Id: string;
  Name: string;
  Email: string;
  Department: string;
}

/** A Salesforce Account. */
export interface DemoSfAccount {
  Id: string;
  Name: string;
  Industry: string | null;
  AnnualRevenue: number | null;
  Type: string;
  OwnerId: string;
  CreatedDate: string;
}

/** A Salesforce Opportunity; `Jira_Issue_Key__c` is the org's custom field linking a ticket. */
export interface DemoSfOpportunity {
  Id: string;
  AccountId: string;
  Name: string;
  Amount: number | null;
  StageName: string;
  CloseDate: string;
  IsClosed: boolean;
  IsWon: boolean;
  Probability: number;
  OwnerId: string;
  CreatedDate: string;
  Jira_Issue_Key__c: string | null;
}

/** One organisation's Salesforce org. */
export interface DemoSalesforce {
  users: DemoSfUser[];
  accounts: DemoSfAccount[];
  opportunities: DemoSfOpportunity[];
}

const COMPANIES = [
  "Northwind",
  "Contoso",
  "Initech",
  "Umbrella",
  "Hooli",
  "Stark",
  "Wayne",
  "Tyrell",
  "Cyberdyne",
  "Soylent",
  "Vandelay",
  "Wonka",
];
const SUFFIXES = ["Ltd", "Inc", "GmbH", "SA", "LLC", "Group"];
const INDUSTRIES = ["Technology", "Finance", "Healthcare", "Retail", "Energy", "Education"];
const ACCOUNT_TYPES = ["Customer - Direct", "Customer - Channel", "Prospect", "Partner"];
const STAGES: { name: string; probability: number }[] = [
  { name: "Prospecting", probability: 10 },
  { name: "Qualification", probability: 20 },
  { name: "Needs Analysis", probability: 40 },
  { name: "Proposal/Price Quote", probability: 60 },
  { name: "Negotiation/Review", probability: 80 },
  { name: "Closed Won", probability: 100 },
  { name: "Closed Lost", probability: 0 },
];

/**
 * The organisation's Salesforce org: its people as users (team in `Department`), 12 accounts per
 * team owned by the team's people, and 1–5 opportunities per account. About half of the
 * opportunities carry a Jira issue key of the owner's team in the custom field
 * `Jira_Issue_Key__c` (what Jira–Salesforce integrations add), so opportunities join
 * `jira.issues` on `jira_issue_key = issue_key`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { demoSalesforce } from "./world.ts";
 * const sf = demoSalesforce("acme");
 * assert.ok(sf.accounts.length === 24 && sf.opportunities.some((o) => o.Jira_Issue_Key__c));
 * ```
 */
export function demoSalesforce(owner: string): DemoSalesforce {
  const org = demoOrg(owner);
  const rand = mulberry32(hash(`${owner}/salesforce`));
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)];
  const int = (lo: number, hi: number) => lo + Math.floor(rand() * (hi - lo + 1));
  const iso = (ms: number) => new Date(ms).toISOString().replace("Z", "+0000");
  const orgPrefix = owner === "acme" ? "Dn" : "Gx";
  const sfId = (prefix: string, n: number) =>
    `${prefix}${orgPrefix}${n.toString(36).toUpperCase().padStart(10, "0")}AAA`;
  const users: DemoSfUser[] = org.people.map((p, n) => ({
    Id: sfId("005", n + 1),
    Name: p.name,
    Email: p.email,
    Department: p.team,
  }));
  const accounts: DemoSfAccount[] = [];
  const opportunities: DemoSfOpportunity[] = [];
  const teams = [...new Set(org.people.map((p) => p.team))];
  for (const team of teams) {
    const owners = users.filter((u) => u.Department === team);
    const keys = org.issues.filter((i) =>
      org.projects.find((p) => p.key === i.project)?.team === team
    )
      .map((i) => i.key);
    for (let a = 0; a < 12; a++) {
      const created = EPOCH - int(100, 700) * DAY + int(0, 86_399) * 1000;
      const account: DemoSfAccount = {
        Id: sfId("001", accounts.length + 1),
        Name: `${COMPANIES[(a + teams.indexOf(team) * 5) % COMPANIES.length]} ${
          pick(SUFFIXES)
        } (${team} ${a + 1})`,
        Industry: rand() < 0.9 ? pick(INDUSTRIES) : null,
        AnnualRevenue: rand() < 0.85 ? int(5, 900) * 100_000 : null,
        Type: pick(ACCOUNT_TYPES),
        OwnerId: pick(owners).Id,
        CreatedDate: iso(created),
      };
      accounts.push(account);
      for (let o = int(1, 5); o > 0; o--) {
        const stage = pick(STAGES);
        const closed = stage.name.startsWith("Closed");
        const opened = created + int(1, 90) * DAY + int(0, 86_399) * 1000;
        opportunities.push({
          Id: sfId("006", opportunities.length + 1),
          AccountId: account.Id,
          Name: `${account.Name.split(" (")[0]} — ${pick(THINGS)}`,
          Amount: rand() < 0.9 ? int(1, 500) * 1000 : null,
          StageName: stage.name,
          CloseDate: new Date(EPOCH + int(-120, 180) * DAY).toISOString().slice(0, 10),
          IsClosed: closed,
          IsWon: stage.name === "Closed Won",
          Probability: stage.probability,
          OwnerId: rand() < 0.7 ? account.OwnerId : pick(owners).Id,
          CreatedDate: iso(opened),
          Jira_Issue_Key__c: rand() < 0.5 && keys.length ? pick(keys) : null,
        });
      }
    }
  }
  return { users, accounts, opportunities };
}

function uuid(rand: () => number): string {
  const hex = Array.from({ length: 32 }, () => Math.floor(rand() * 16).toString(16)).join("");
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-4${hex.slice(13, 16)}-a${hex.slice(17, 20)}-${
    hex.slice(20)
  }`;
}
