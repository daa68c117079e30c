/**
 * Jira Cloud REST v3 calls the connector makes, all through the SDK's {@link SourceClient}
 * (auth, retries, error mapping): authentication headers, rate-limit and error reading, the
 * connection's config, and the per-connection dictionaries (custom field ids, status names)
 * cached for a few minutes.
 *
 * @module
 */
import { OmniError } from "../../src/errors.ts";
import {
  type AppProtocol,
  type Connection,
  type ConnectionSchema,
  type PageStyle,
  paginate,
  type SourceClient,
} from "../sdk/mod.ts";

/** The `config` of a Jira connection. */
export interface JiraConfig {
  /** Project keys the connection spans. */
  projects: string[];
  /** Project key → team name, for the `team` column. @default {} */
  projectTeams: Record<string, string>;
  /** Custom field ids; discovered via `GET /rest/api/3/field` when absent. */
  fields: { branch?: string; storyPoints?: string };
}

/** What a Jira connection holds (`connections describe jira`). */
export const JIRA_CONNECTION: ConnectionSchema = {
  baseUrl: "https://SITE.atlassian.net, or https://api.atlassian.com/ex/jira/CLOUD_ID for OAuth",
  config: [
    {
      name: "projects",
      type: "string[]",
      required: true,
      description: "Project keys the issues table spans.",
    },
    { name: "projectTeams", type: "object", description: "Project key → team (the team column)." },
    {
      name: "fields",
      type: "object",
      description: "Custom field ids {branch, storyPoints} (customfield_N); discovered via " +
        "GET /rest/api/3/field when absent.",
    },
  ],
  credentials: [
    [
      { name: "email", type: "string", required: true, description: "The Atlassian account." },
      { name: "apiToken", type: "string", required: true, description: "Its API token (Basic)." },
    ],
    [{
      name: "accessToken",
      type: "string",
      required: true,
      description: "An OAuth 2.0 (3LO) access token (Bearer).",
    }],
  ],
  example: {
    baseUrl: "https://acme.atlassian.net",
    config: {
      projects: ["MOB", "WEB"],
      projectTeams: { MOB: "mobile", WEB: "web" },
      fields: { branch: "customfield_10100", storyPoints: "customfield_10016" },
    },
    credentials: { email: "bot@acme.com", apiToken: "ATATT…" },
  },
};

/**
 * Reads and checks a connection's config.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { jiraConfig } from "./client.ts";
 * const c = jiraConfig({ config: { projects: ["MOB"] } } as never);
 * assert.ok(c.projects[0] === "MOB" && Object.keys(c.projectTeams).length === 0);
 * ```
 */
export function jiraConfig(connection: Pick<Connection, "config" | "name">): JiraConfig {
  const c = connection.config ?? {};
  const bad = (what: string) =>
    new OmniError("SOURCE_ERROR", `${connection.name}: the Jira connection's config ${what}`);
  const projects = c.projects;
  if (
    !Array.isArray(projects) || projects.length === 0 ||
    !projects.every((p) => typeof p === "string" && p)
  ) {
    throw bad("needs `projects`: a non-empty list of project keys");
  }
  const teams = c.projectTeams ?? {};
  if (
    typeof teams !== "object" || Array.isArray(teams) ||
    !Object.values(teams).every((t) => typeof t === "string")
  ) {
    throw bad("has an invalid `projectTeams` (project key → team)");
  }
  const fields = (c.fields ?? {}) as Record<string, unknown>;
  const fieldId = (v: unknown, name: string) => {
    if (v === undefined || v === null || v === "") return undefined;
    if (typeof v !== "string" || !/^customfield_\d+$/.test(v)) {
      throw bad(`has an invalid fields.${name} (customfield_NNNNN)`);
    }
    return v;
  };
  return {
    projects: [...new Set(projects as string[])],
    projectTeams: { ...(teams as Record<string, string>) },
    fields: {
      branch: fieldId(fields.branch, "branch"),
      storyPoints: fieldId(fields.storyPoints, "storyPoints"),
    },
  };
}

/**
 * `Authorization` for a Jira connection: Basic with `email` and `apiToken`, or Bearer with an
 * OAuth `accessToken`.
 */
export function jiraAuthorize(connection: Connection): HeadersInit {
  const { email, apiToken, accessToken } = connection.credentials ?? {};
  if (accessToken) return { authorization: `Bearer ${accessToken}` };
  if (!email || !apiToken) {
    throw new OmniError(
      "SOURCE_ERROR",
      `${connection.name}: the Jira connection has no credentials (email and apiToken)`,
    );
  }
  const bytes = new TextEncoder().encode(`${email}:${apiToken}`);
  let bin = "";
  for (const b of bytes) bin += String.fromCharCode(b);
  return { authorization: `Basic ${btoa(bin)}` };
}

/**
 * How Jira Cloud's answers read: `X-RateLimit-*` headers with an ISO-8601 reset, `Retry-After`
 * (on 429 and some 503s), and errors `{errorMessages: [...], errors: {field: message}}`.
 */
export const JIRA_PROTOCOL: AppProtocol = {
  rateLimit: {
    buckets: [{
      limit: "x-ratelimit-limit",
      remaining: "x-ratelimit-remaining",
      reset: "x-ratelimit-reset",
    }],
    resetUnit: "iso",
  },
  errors: { messages: ["errorMessages[]", "errors.*", "message"] },
};

// ---------------------------------------------------------------------------------------------
// Per-connection dictionaries

const TTL_MS = 5 * 60_000;
interface CacheEntry {
  at: number;
  value: Promise<unknown>;
  resolved?: unknown;
}
const cache = new Map<string, CacheEntry>();

function cacheKey(connection: Connection, what: string): string {
  const c = connection;
  return [what, c.tenantId, c.id, c.baseUrl, c.credentials?.email ?? ""].join("\u0000");
}

function cached<T>(connection: Connection, what: string, load: () => Promise<T>): Promise<T> {
  const key = cacheKey(connection, what);
  const hit = cache.get(key);
  if (hit && Date.now() - hit.at < TTL_MS) return hit.value as Promise<T>;
  const entry: CacheEntry = { at: Date.now(), value: load() };
  cache.set(key, entry);
  entry.value.then((v) => (entry.resolved = v), () => cache.delete(key));
  return entry.value as Promise<T>;
}

/** A cached dictionary, read without I/O (planning uses it when warm), or undefined. */
export function peekCached<T>(connection: Connection, what: "statuses" | "fields"): T | undefined {
  const hit = cache.get(cacheKey(connection, what));
  return hit && Date.now() - hit.at < TTL_MS ? hit.resolved as T | undefined : undefined;
}

/** Forgets every cached dictionary (tests). */
export function clearJiraCaches(): void {
  cache.clear();
}

/** Resolved custom field ids; `null` when the site has no such field. */
export interface ResolvedFields {
  branch: string | null;
  storyPoints: string | null;
}

/**
 * The custom field ids to use: the configured ones, else discovered from `GET /rest/api/3/field`
 * ("Branch"; "Story point estimate" or "Story Points"), cached per connection.
 */
export async function resolveFieldIds(
  http: SourceClient,
  connection: Connection,
  config: JiraConfig,
): Promise<ResolvedFields> {
  if (config.fields.branch && config.fields.storyPoints) {
    return { branch: config.fields.branch, storyPoints: config.fields.storyPoints };
  }
  const discovered = await cached(connection, "fields", async () => {
    const res = await http.get<unknown>("/rest/api/3/field");
    if (!Array.isArray(res.body)) throw malformed(http, "/rest/api/3/field");
    const list = res.body as {
      id?: string;
      name?: string;
      custom?: boolean;
      schema?: { type?: string };
    }[];
    const find = (names: string[], type?: string) => {
      for (const name of names) {
        const hit = list.find((f) =>
          f.custom && f.name?.toLowerCase() === name.toLowerCase() &&
          (!type || f.schema?.type === type)
        );
        if (hit?.id) return hit.id;
      }
      return null;
    };
    return {
      branch: find(["Branch"]),
      storyPoints: find(["Story point estimate", "Story Points"], "number"),
    } as ResolvedFields;
  });
  return {
    branch: config.fields.branch ?? discovered.branch,
    storyPoints: config.fields.storyPoints ?? discovered.storyPoints,
  };
}

/** The site's status names (`GET /rest/api/3/status`), cached per connection. */
export function knownStatuses(http: SourceClient, connection: Connection): Promise<string[]> {
  return cached(connection, "statuses", async () => {
    const res = await http.get<unknown>("/rest/api/3/status");
    if (!Array.isArray(res.body)) throw malformed(http, "/rest/api/3/status");
    return (res.body as { name?: unknown }[])
      .map((s) => s?.name)
      .filter((n): n is string => typeof n === "string");
  });
}

/** An issue as the search answers it (only the requested fields present). */
export interface JiraIssue {
  id: string;
  key?: string;
  fields?: Record<string, unknown>;
}

/** The search request body. */
export interface SearchRequest {
  jql: string;
  fields: string[];
  maxResults: number;
}

/** `POST /rest/api/3/search/jql` pages by `nextPageToken` in the body, until `isLast`. */
const SEARCH_PAGES: PageStyle = {
  style: "token",
  items: "issues",
  field: "nextPageToken",
  next: "nextPageToken",
  last: "isLast",
};

/**
 * The pages of a JQL search, first to last.
 *
 * @example
 * ```ts ignore
 * for await (const issues of searchPages(http, { jql: "project = MOB", fields: ["key"], maxResults: 100 })) {}
 * ```
 */
export async function* searchPages(
  http: SourceClient,
  request: SearchRequest,
  signal?: AbortSignal,
): AsyncGenerator<JiraIssue[]> {
  const first = { method: "POST" as const, url: "/rest/api/3/search/jql", body: { ...request } };
  for await (const page of paginate(http, SEARCH_PAGES, first, { signal })) {
    yield page.items as JiraIssue[];
  }
}

function malformed(http: SourceClient, path: string): OmniError {
  return http.error("SOURCE_ERROR", `malformed reply from ${path}`);
}
