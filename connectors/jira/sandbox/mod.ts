/**
 * A Jira Cloud site on localhost: a real HTTP server speaking the parts of REST v3 the connector
 * uses (`/rest/api/3/search/jql`, `/field`, `/status`, `/myself`), with Basic auth, Jira's
 * error bodies, a per-minute rate limit, and injected faults. It serves one demo organisation
 * from `connectors/demo/world.ts`, so tests can compute expected rows independently.
 *
 * @module
 */
import { type DemoOrg, demoOrg } from "../../demo/world.ts";
import { faultAnswer, FaultQueue, type SandboxFault, serveSandbox } from "../../sandbox/mod.ts";
import { sandboxHandle } from "../../sandbox/serve.ts";
import { sandboxChanges } from "../../sandbox/webhooks.ts";
import { compileJql, JqlError, type JqlIssue, type JqlSchema, parseJql } from "./_jql_eval.ts";

/** Options of {@link startJiraSandbox}. */
export interface JiraSandboxOptions {
  /** Port to listen on; 0 picks a free one. @default 0 */
  port?: number;
  /** @default "127.0.0.1" */
  hostname?: "127.0.0.1";
  /** Demo organisation served by this site: `acme` or `globex`. */
  org: string;
  /** The account email Basic auth expects. */
  email: string;
  /** The API token Basic auth expects. */
  apiToken: string;
  /** The app's latency: no answer leaves sooner after its request arrived (`ServeOptions.latencyMs`). @default 0 */
  latencyMs?: number;
  /** Requests allowed per minute before 429s. @default unlimited */
  ratePerMinute?: number;
  /** Multiplies the demo data (benchmarks), as `demoOrg`'s `scale`. @default 1 */
  scale?: number;
}

/** A fault the next matching requests get instead of (or before) their normal answer. */
export interface JiraSandboxFault extends SandboxFault {
  /** Only requests whose path (with query) matches. @default every request */
  path?: RegExp;
}

/** A recorded request. */
export interface JiraSandboxRequest {
  method: string;
  /** Path with query string. */
  path: string;
  /** Decoded JSON body, if any. */
  body?: unknown;
}

/** A running sandbox. */
export interface JiraSandbox {
  /** Base URL of the site, e.g. `http://127.0.0.1:41234`. */
  url: string;
  close(): Promise<void>;
  /** Every request received, in order. */
  requests: JiraSandboxRequest[];
  /** Clears recorded requests, pending faults and the rate-limit window. */
  reset(): void;
  inject(fault: JiraSandboxFault): void;
}

/** Custom field ids the demo sites use. */
export const SANDBOX_FIELDS = { storyPoints: "customfield_10016", branch: "customfield_10050" };

const CATEGORIES = [
  { id: "2", key: "new", name: "To Do", colorName: "blue-gray" },
  { id: "4", key: "indeterminate", name: "In Progress", colorName: "yellow" },
  { id: "3", key: "done", name: "Done", colorName: "green" },
];
const STATUSES = [
  { id: "10000", name: "To Do", categoryKey: "new" },
  { id: "3", name: "In Progress", categoryKey: "indeterminate" },
  { id: "10001", name: "In Review", categoryKey: "indeterminate" },
  { id: "10002", name: "Done", categoryKey: "done" },
];
const NAVIGABLE = [
  "summary",
  "status",
  "assignee",
  "project",
  "created",
  "updated",
  SANDBOX_FIELDS.storyPoints,
  SANDBOX_FIELDS.branch,
];

/** The demo organisation as a Jira site: issues and dictionaries for the JQL evaluator. */
export interface JiraSite {
  org: DemoOrg;
  issues: JqlIssue[];
  schema: JqlSchema;
}

/**
 * Builds the site a sandbox serves for one organisation (also used by tests to evaluate JQL).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { jiraSite } from "./mod.ts";
 * const site = jiraSite("acme", "bot@acme.example");
 * assert.ok(site.issues.length === site.org.issues.length);
 * ```
 */
export function jiraSite(orgName: string, email: string, scale = 1): JiraSite {
  const org = demoOrg(orgName, { scale });
  const issues: JqlIssue[] = org.issues.map((i) => ({
    id: i.id,
    key: i.key,
    project: i.project,
    summary: i.summary,
    status: i.status,
    assigneeAccountId: i.assignee,
    created: Date.parse(i.created),
    updated: Date.parse(i.updated),
    custom: { [SANDBOX_FIELDS.storyPoints]: i.storyPoints, [SANDBOX_FIELDS.branch]: i.branch },
  }));
  const schema: JqlSchema = {
    projects: org.projects.map((p, n) => ({
      key: p.key,
      id: String(10000 + n),
      name: projectName(p),
    })),
    statuses: STATUSES,
    categories: CATEGORIES,
    users: org.people.map((p) => ({ accountId: p.accountId, email: p.email, displayName: p.name })),
    customFields: [
      { id: SANDBOX_FIELDS.storyPoints, name: "Story point estimate", type: "number" },
      { id: SANDBOX_FIELDS.branch, name: "Branch", type: "string" },
    ],
    issueIds: new Map(org.issues.map((i) => [i.key, i.id])),
    currentUser: botAccountId(email),
  };
  return { org, issues, schema };
}

function projectName(p: { key: string; team: string }): string {
  return `${p.team[0].toUpperCase()}${p.team.slice(1)} (${p.key})`;
}

function botAccountId(email: string): string {
  let h = 0;
  for (const ch of email) h = (h * 31 + ch.charCodeAt(0)) >>> 0;
  return `712020:${h.toString(16).padStart(8, "0")}-0000-4000-8000-00000000b07`;
}

/**
 * Starts a Jira sandbox.
 *
 * @example
 * ```ts ignore
 * const jira = await startJiraSandbox({ org: "acme", email: "bot@acme.example", apiToken: "t" });
 * try { console.log(jira.url); } finally { await jira.close(); }
 * ```
 */
export function startJiraSandbox(options: JiraSandboxOptions): Promise<JiraSandbox> {
  const site = jiraSite(options.org, options.email, options.scale);
  const expectedAuth = "Basic " + base64(`${options.email}:${options.apiToken}`);
  const requests: JiraSandboxRequest[] = [];
  const faults = new FaultQueue<JiraSandboxFault, string>((f, path) =>
    !f.path || f.path.test(path)
  );
  let window = { start: 0, used: 0 };
  let url = "";

  // Data changes send Jira's secret-signed `jira:issue_updated` webhooks
  // (connectors/sandbox/webhooks.ts).
  const changes = sandboxChanges({
    style: "jira",
    collection: "issues",
    find: (key) => site.issues.find((i) => i.key === key),
    apply: (issue, change) => {
      if (typeof change.summary === "string") issue.summary = change.summary;
      issue.updated = Date.now();
      return {
        event: "jira:issue_updated",
        payload: {
          issue_event_type_name: "issue_updated",
          issue: {
            id: issue.id,
            key: issue.key,
            fields: { summary: issue.summary, updated: new Date(issue.updated).toISOString() },
          },
        },
      };
    },
  });

  const handler = async (req: Request): Promise<Response> => {
    const u = new URL(req.url);
    const path = u.pathname + u.search;
    let text = "";
    try {
      text = req.method === "GET" || req.method === "HEAD" ? "" : await req.text();
    } catch {
      text = "";
    }
    let body: unknown = undefined;
    let badJson = false;
    if (text !== "") {
      try {
        body = JSON.parse(text);
      } catch {
        badJson = true;
        body = text;
      }
    }
    requests.push(
      body === undefined ? { method: req.method, path } : { method: req.method, path, body },
    );
    const changed = await changes(req.method, u.pathname, body);
    if (changed) return Response.json(changed.body, { status: changed.status });

    const faulted = await faultAnswer(faults.take(path), {
      headers: { "content-type": "application/json;charset=UTF-8" },
      errorBody: (status) => jiraError(`Injected fault (HTTP ${status}).`),
      partial: '{"issues": [{"id": "1',
    });
    if (faulted) return faulted;

    if (req.headers.get("authorization") !== expectedAuth) {
      return json(401, jiraError("Client must be authenticated to access this resource."), {
        "www-authenticate": 'Basic realm="protected-by-atlassian-id"',
        "x-seraph-loginreason": "AUTHENTICATED_FAILED",
      });
    }

    const rateHeaders: Record<string, string> = {};
    if (options.ratePerMinute !== undefined) {
      const now = Date.now();
      if (now - window.start >= 60_000) window = { start: now, used: 0 };
      const limit = options.ratePerMinute;
      const resetAt = window.start + 60_000;
      if (window.used >= limit) {
        return json(429, jiraError("Rate limit exceeded."), {
          "retry-after": String(Math.max(1, Math.ceil((resetAt - now) / 1000))),
          "x-ratelimit-limit": String(limit),
          "x-ratelimit-remaining": "0",
          "x-ratelimit-reset": new Date(resetAt).toISOString(),
          "ratelimit-reason": "jira-quota-global-based",
        });
      }
      window.used++;
      const remaining = limit - window.used;
      if (remaining < limit * 0.2) rateHeaders["x-ratelimit-nearlimit"] = "true";
    }

    try {
      if (badJson) {
        return json(400, jiraError("Unexpected character in the request body: not valid JSON."));
      }
      return withHeaders(route(req.method, u, body), rateHeaders);
    } catch (err) {
      // Never a 500: every failure is a client error with Jira's body.
      const message = err instanceof JqlError ? err.message : `Bad request: ${String(err)}`;
      return withHeaders(json(400, jiraError(message)), rateHeaders);
    }
  };

  const route = (method: string, u: URL, body: unknown): Response => {
    const p = u.pathname.replace(/\/+$/, "");
    if (p === "/rest/api/3/search" || p === "/rest/api/2/search") {
      return json(
        410,
        jiraError(
          "The requested API has been removed. Please migrate to the /rest/api/3/search/jql API. A full migration guideline is available at https://developer.atlassian.com/changelog/#CHANGE-2046",
        ),
      );
    }
    if (p === "/rest/api/3/search/jql") {
      if (method === "GET") {
        const q = u.searchParams;
        return search({
          jql: q.get("jql") ?? "",
          fields: q.getAll("fields").flatMap((f) => f.split(",")),
          maxResults: q.get("maxResults") ?? undefined,
          nextPageToken: q.get("nextPageToken") ?? undefined,
        });
      }
      if (method === "POST") {
        const b = (body ?? {}) as Record<string, unknown>;
        if (typeof b !== "object" || Array.isArray(b)) {
          return json(400, jiraError("Invalid request payload."));
        }
        const fields = Array.isArray(b.fields)
          ? b.fields.map(String)
          : typeof b.fields === "string"
          ? b.fields.split(",")
          : [];
        return search({
          jql: typeof b.jql === "string" ? b.jql : "",
          fields,
          maxResults: b.maxResults === undefined ? undefined : String(b.maxResults),
          nextPageToken: typeof b.nextPageToken === "string" ? b.nextPageToken : undefined,
        });
      }
      return methodNotAllowed();
    }
    if (method !== "GET") return methodNotAllowed();
    switch (p) {
      case "/rest/api/3/field":
        return json(200, fieldList());
      case "/rest/api/3/status":
        return json(200, STATUSES.map((s) => statusJson(s)));
      case "/rest/api/3/myself":
        return json(200, {
          self: `${url}/rest/api/3/user?accountId=${site.schema.currentUser}`,
          accountId: site.schema.currentUser,
          accountType: "atlassian",
          emailAddress: options.email,
          displayName: "OmniSQL bot",
          active: true,
          timeZone: "UTC",
          locale: "en_US",
        });
      case "/rest/api/3/serverInfo":
        return json(200, { baseUrl: url, version: "1001.0.0-SNAPSHOT", deploymentType: "Cloud" });
    }
    const issue = p.match(/^\/rest\/api\/3\/issue\/([^/]+)$/);
    if (issue) {
      const id = decodeURIComponent(issue[1]);
      const found = site.issues.find((i) => i.id === id || i.key === id.toUpperCase());
      if (!found) {
        return json(
          404,
          jiraError("Issue does not exist or you do not have permission to see it."),
        );
      }
      return json(200, issueJson(found, new Set(NAVIGABLE), true));
    }
    return json(404, jiraError(`No API found at ${p}.`));
  };

  const search = (
    req: { jql: string; fields: string[]; maxResults?: string; nextPageToken?: string },
  ): Response => {
    const query = parseJql(req.jql);
    const compiled = compileJql(query, site.schema);
    if (!compiled.bounded) {
      return json(
        400,
        jiraError(
          "Unbounded JQL queries are not allowed here. Please add a search restriction to your query.",
        ),
      );
    }
    const fields = resolveFields(req.fields.map((f) => f.trim()).filter(Boolean));
    const idOnly = [...fields.set].every((f) => f === "id" || f === "key");
    const cap = idOnly ? 5000 : 100;
    let max = 50;
    if (req.maxResults !== undefined) {
      max = Number(req.maxResults);
      if (!Number.isInteger(max) || max < 0) {
        return json(400, jiraError(`The maxResults parameter '${req.maxResults}' is invalid.`));
      }
    }
    max = Math.min(Math.max(max, 1), cap);
    const digest = hashText(req.jql);
    let offset = 0;
    if (req.nextPageToken !== undefined) {
      const decoded = decodeToken(req.nextPageToken);
      if (!decoded || decoded.h !== digest) {
        return json(400, jiraError("The provided next page token is invalid or expired."));
      }
      offset = decoded.o;
    }
    const hits = site.issues.filter(compiled.matches).sort(compiled.compare);
    const page = hits.slice(offset, offset + max);
    const end = offset + page.length;
    const isLast = end >= hits.length;
    const out: Record<string, unknown> = {
      issues: page.map((i) => issueJson(i, fields.set, fields.key)),
    };
    if (!isLast) out.nextPageToken = encodeToken({ o: end, h: digest });
    out.isLast = isLast;
    return json(200, out);
  };

  const issueJson = (issue: JqlIssue, fields: Set<string>, withKey: boolean) => {
    const out: Record<string, unknown> = {
      expand: "",
      id: issue.id,
      self: `${url}/rest/api/3/issue/${issue.id}`,
    };
    if (withKey) out.key = issue.key;
    const f: Record<string, unknown> = {};
    for (const name of fields) {
      switch (name) {
        case "summary":
          f.summary = issue.summary;
          break;
        case "status": {
          const s = STATUSES.find((s) => s.name === issue.status)!;
          f.status = statusJson(s);
          break;
        }
        case "assignee": {
          const person = site.org.people.find((p) => p.accountId === issue.assigneeAccountId);
          f.assignee = person
            ? {
              self: `${url}/rest/api/3/user?accountId=${person.accountId}`,
              accountId: person.accountId,
              emailAddress: person.email,
              displayName: person.name,
              active: true,
              timeZone: "UTC",
              accountType: "atlassian",
            }
            : null;
          break;
        }
        case "project": {
          const p = site.schema.projects.find((p) => p.key === issue.project)!;
          f.project = {
            self: `${url}/rest/api/3/project/${p.id}`,
            id: p.id,
            key: p.key,
            name: p.name,
            projectTypeKey: "software",
          };
          break;
        }
        case "created":
        case "updated":
          f[name] = jiraTime(issue[name]);
          break;
        default:
          if (name in issue.custom) f[name] = issue.custom[name] ?? null;
      }
    }
    if (Object.keys(f).length) out.fields = f;
    return out;
  };

  const statusJson = (s: (typeof STATUSES)[number]) => {
    const c = CATEGORIES.find((c) => c.key === s.categoryKey)!;
    return {
      self: `${url}/rest/api/3/status/${s.id}`,
      description: "",
      iconUrl: `${url}/images/icons/statuses/generic.png`,
      name: s.name,
      untranslatedName: s.name,
      id: s.id,
      statusCategory: {
        self: `${url}/rest/api/3/statuscategory/${c.id}`,
        id: Number(c.id),
        key: c.key,
        colorName: c.colorName,
        name: c.name,
      },
    };
  };

  const server = serveSandbox(handler, options);
  url = server.url;

  return Promise.resolve(
    sandboxHandle(server, requests, faults, () => {
      window = { start: 0, used: 0 };
    }),
  );
}

/** Resolves the `fields` parameter: ids, `*all`, `*navigable`, `-name` exclusions. */
function resolveFields(requested: string[]): { set: Set<string>; key: boolean } {
  const set = new Set<string>();
  const list = requested.length ? requested : ["id"];
  let key = false;
  for (const f of list) {
    if (f === "*all" || f === "*navigable") {
      NAVIGABLE.forEach((n) => set.add(n));
      key = true;
    } else if (f.startsWith("-")) set.delete(f.slice(1));
    else if (f === "key") {
      key = true;
      set.add("key");
    } else set.add(f === "id" ? "id" : f);
  }
  return { set, key };
}

function fieldList() {
  const system = (id: string, name: string, type: string, clauseNames = [id]) => ({
    id,
    key: id,
    name,
    custom: false,
    orderable: true,
    navigable: true,
    searchable: true,
    clauseNames,
    schema: { type, system: id },
  });
  const custom = (id: string, name: string, type: string, kind: string) => {
    const n = id.replace("customfield_", "");
    return {
      id,
      key: id,
      name,
      untranslatedName: name,
      custom: true,
      orderable: true,
      navigable: true,
      searchable: true,
      clauseNames: [`cf[${n}]`, name],
      schema: { type, custom: kind, customId: Number(n) },
    };
  };
  return [
    system("issuekey", "Key", "string", ["id", "issue", "issuekey", "key"]),
    system("summary", "Summary", "string"),
    system("status", "Status", "status"),
    system("assignee", "Assignee", "user"),
    system("project", "Project", "project"),
    system("created", "Created", "datetime", ["created", "createdDate"]),
    system("updated", "Updated", "datetime", ["updated", "updatedDate"]),
    system("statusCategory", "Status Category", "statusCategory"),
    custom(
      SANDBOX_FIELDS.storyPoints,
      "Story point estimate",
      "number",
      "com.atlassian.jira.plugin.system.customfieldtypes:float",
    ),
    custom(
      SANDBOX_FIELDS.branch,
      "Branch",
      "string",
      "com.atlassian.jira.plugin.system.customfieldtypes:textfield",
    ),
  ];
}

/** Jira's timestamp format: `2025-03-09T20:30:06.000+0000`. */
function jiraTime(ms: number): string {
  return new Date(ms).toISOString().replace("Z", "+0000");
}

function jiraError(message: string) {
  return { errorMessages: [message], errors: {} };
}

function json(status: number, body: unknown, headers: Record<string, string> = {}): Response {
  return new Response(JSON.stringify(body), {
    status,
    headers: { "content-type": "application/json;charset=UTF-8", ...headers },
  });
}

function withHeaders(res: Response, headers: Record<string, string>): Response {
  for (const [k, v] of Object.entries(headers)) res.headers.set(k, v);
  return res;
}

function methodNotAllowed(): Response {
  return json(405, jiraError("Method not allowed."));
}

function base64(text: string): string {
  let bin = "";
  for (const b of new TextEncoder().encode(text)) bin += String.fromCharCode(b);
  return btoa(bin);
}

function hashText(text: string): string {
  let h = 2166136261;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 16777619);
  return (h >>> 0).toString(36);
}

function encodeToken(t: { o: number; h: string }): string {
  return btoa(JSON.stringify(t)).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

function decodeToken(token: string): { o: number; h: string } | undefined {
  try {
    const t = JSON.parse(atob(token.replace(/-/g, "+").replace(/_/g, "/")));
    if (Number.isInteger(t?.o) && t.o >= 0 && typeof t.h === "string") return t;
  } catch {
    // invalid token
  }
  return undefined;
}
