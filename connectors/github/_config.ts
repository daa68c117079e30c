/**
 * Reading a GitHub connection's settings from the catalog, checked once per plan.
 *
 * @module
 */
import { OmniError } from "../../src/errors.ts";
import type { Connection, ConnectionSchema } from "../sdk/mod.ts";

/** A GitHub connection's `config`. */
export interface GithubConfig {
  /** The organisation (or user) that owns the repositories. */
  owner: string;
  /** The repositories the table spans; every repo of the org when absent. */
  repos?: string[];
  /** Repository → team id, the source of the `team_id` column. */
  teams: Record<string, string>;
  /** List pages of this connection in flight at once, across its queries. @default 8 */
  pageConcurrency: number;
}

/** What a GitHub connection holds (`connections describe github`). */
export const GITHUB_CONNECTION: ConnectionSchema = {
  baseUrl: "https://api.github.com, or https://HOST/api/v3 for GitHub Enterprise Server",
  config: [
    {
      name: "owner",
      type: "string",
      required: true,
      description: "The organisation (or user) owning the repositories.",
    },
    {
      name: "repos",
      type: "string[]",
      description: "Repositories the table spans; every repo of the org when absent.",
    },
    { name: "teams", type: "object", description: "Repository → team id (the team_id column)." },
    {
      name: "pageConcurrency",
      type: "number",
      description: "List pages in flight at once, 1–32 (default 8).",
    },
  ],
  credentials: [[{
    name: "token",
    type: "string",
    required: true,
    description: "A personal access token or app installation token (sent as Bearer).",
  }]],
  example: {
    baseUrl: "https://api.github.com",
    config: {
      owner: "acme",
      repos: ["web-app", "mobile-app"],
      teams: { "web-app": "web", "mobile-app": "mobile" },
    },
    credentials: { token: "ghp_…" },
  },
};

/** List pages a connection has in flight at once unless its config says otherwise. */
export const DEFAULT_PAGE_CONCURRENCY = 8;

/** GitHub's owner and repository name alphabet. */
export const NAME_RE = /^[A-Za-z0-9._-]{1,100}$/;

/** Reads and checks a connection's config; throws `SOURCE_ERROR` on a misconfiguration. */
export function readGithubConfig(connection: Connection): GithubConfig {
  const { owner, repos, teams, pageConcurrency } = connection.config;
  const bad = (what: string) =>
    new OmniError("SOURCE_ERROR", `${connection.name}: connection misconfigured (${what})`, {
      details: { source: connection.name, connector: "github" },
    });
  if (typeof owner !== "string" || !NAME_RE.test(owner)) throw bad("config.owner");
  if (
    repos !== undefined &&
    (!Array.isArray(repos) || !repos.every((r) => typeof r === "string" && NAME_RE.test(r)))
  ) throw bad("config.repos");
  const teamMap: Record<string, string> = {};
  if (teams !== undefined) {
    if (typeof teams !== "object" || teams === null || Array.isArray(teams)) {
      throw bad("config.teams");
    }
    for (const [repo, team] of Object.entries(teams)) {
      if (typeof team !== "string") throw bad(`config.teams.${repo}`);
      teamMap[repo] = team;
    }
  }
  if (
    pageConcurrency !== undefined &&
    !(Number.isInteger(pageConcurrency) && (pageConcurrency as number) >= 1 &&
      (pageConcurrency as number) <= 32)
  ) throw bad("config.pageConcurrency");
  return {
    owner,
    repos: repos as string[] | undefined,
    teams: teamMap,
    pageConcurrency: (pageConcurrency as number | undefined) ?? DEFAULT_PAGE_CONCURRENCY,
  };
}

/** The team a repository maps to, or null (own keys only: `constructor` is not a team). */
export function teamOf(config: GithubConfig, repo: string): string | null {
  return Object.hasOwn(config.teams, repo) ? config.teams[repo] : null;
}
