/**
 * The `issues` table: Jira issues of the connection's projects, searched with JQL through
 * `POST /rest/api/3/search/jql`, with predicates, projection, order and limit pushed down where
 * JQL can express them.
 *
 * @module
 */
import { OmniError } from "../../src/errors.ts";
import {
  type ColumnDef,
  defineTable,
  mergePartitions,
  type Row,
  type ScanContext,
  type ScanPlan,
} from "../sdk/mod.ts";
import {
  jiraConfig,
  type JiraIssue,
  knownStatuses,
  peekCached,
  type ResolvedFields,
  resolveFieldIds,
  searchPages,
} from "./client.ts";
import {
  applyKnownStatuses,
  dropUnknownValue,
  type JqlQuery,
  keysWithinProjects,
  planJql,
  renderJql,
} from "./jql.ts";

/** Columns of `jira.issues`. */
export const ISSUE_COLUMNS: ColumnDef[] = [
  { name: "issue_key", type: "text", description: "Issue key, e.g. MOB-12." },
  { name: "id", type: "text", description: "Jira's numeric issue id, as text." },
  { name: "summary", type: "text", description: "The issue's summary line." },
  { name: "status", type: "text", description: "Workflow status name (fields.status.name)." },
  {
    name: "status_category",
    type: "text",
    description: "Status category key: new, indeterminate or done.",
  },
  {
    name: "assignee",
    type: "text",
    description: "Assignee's display name; NULL when unassigned.",
    classification: "pii.person",
  },
  {
    name: "assignee_email",
    type: "text",
    description: "Assignee's email; NULL when unassigned or hidden by their privacy settings.",
    classification: "pii.email",
  },
  { name: "assignee_account_id", type: "text", description: "Assignee's Atlassian account id." },
  {
    name: "branch_name",
    type: "text",
    description: "Git branch, from the connection's Branch custom field.",
    // Branches are often named after their author (`chloe/mob-12-login`).
    classification: "pii.person_text",
  },
  {
    name: "story_points",
    type: "double",
    description: "Story point estimate, from the connection's story points custom field.",
  },
  { name: "project", type: "text", description: "Project key." },
  { name: "team", type: "text", description: "Team owning the project (connection config)." },
  { name: "created", type: "timestamp", description: "When the issue was created (UTC)." },
  { name: "updated", type: "timestamp", description: "When the issue was last updated (UTC)." },
];

/** Jira field each column is read from (`branch`/`storyPoints` resolve to custom field ids). */
const COLUMN_FIELD: Record<string, string | null> = {
  issue_key: null,
  id: null,
  summary: "summary",
  status: "status",
  status_category: "status",
  assignee: "assignee",
  assignee_email: "assignee",
  assignee_account_id: "assignee",
  branch_name: "branch",
  story_points: "storyPoints",
  project: "project",
  team: "project",
  created: "created",
  updated: "updated",
};

/** Plan state handed to the scan. */
export interface IssuesState {
  query: JqlQuery;
  /** Logical fields the query needs (`branch`/`storyPoints` not yet resolved to ids). */
  fields: string[];
  maxResults: number;
}

/** Bounds the retries after Jira names an unknown value in a pushed clause. */
const MAX_UNKNOWN_VALUE_RETRIES = 20;

/**
 * The `jira.issues` table.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { issues } from "./issues.ts";
 * const plan = issues.plan(
 *   { predicates: [{ column: "status", op: "!=", value: "Done" }], columns: ["issue_key", "status"] },
 *   { id: "c", tenantId: "t", connector: "jira", name: "jira", baseUrl: "https://x.atlassian.net",
 *     credentials: {}, config: { projects: ["MOB", "WEB"] } },
 * );
 * assert.ok(plan.native[0] ===
 *   'POST /rest/api/3/search/jql jql=project in ("MOB", "WEB") AND status != "Done" fields=key,status');
 * ```
 */
export const issues = defineTable<IssuesState>({
  name: "issues",
  description: "Jira issues of the connection's projects (Jira Cloud REST v3, JQL search).",
  columns: ISSUE_COLUMNS,
  // `exact`: what JQL selects exactly as DuckDB would. Status names match case-insensitively,
  // keys also by old keys of moved issues, branch by word search, email only via the assignee,
  // and times at minute precision in the user's zone (widened by a day): those are widenings.
  keyColumns: [
    {
      column: "project",
      operators: ["=", "!=", "in", "not in", "is null", "is not null"],
      exact: ["=", "!=", "in", "not in", "is null", "is not null"],
    },
    {
      column: "team",
      operators: ["=", "!=", "in", "not in", "is null", "is not null"],
      exact: ["=", "!=", "in", "not in", "is null", "is not null"],
    },
    { column: "status", operators: ["=", "!=", "in", "not in"] },
    {
      column: "status_category",
      operators: ["=", "!=", "in", "not in"],
      exact: ["=", "!=", "in", "not in"],
    },
    { column: "issue_key", operators: ["=", "in"] },
    {
      column: "assignee_account_id",
      operators: ["=", "in", "is null", "is not null"],
      exact: ["=", "in", "is null", "is not null"],
    },
    {
      column: "assignee",
      operators: ["is null", "is not null"],
      exact: ["is null", "is not null"],
    },
    { column: "assignee_email", operators: ["is not null"] },
    {
      column: "branch_name",
      operators: ["=", "is null", "is not null"],
      exact: ["is null", "is not null"],
    },
    {
      column: "story_points",
      operators: ["=", "!=", "<", "<=", ">", ">=", "in", "not in", "is null", "is not null"],
      exact: ["=", "<", "<=", ">", ">=", "in", "is null", "is not null"],
    },
    {
      column: "created",
      operators: ["<", "<=", ">", ">=", "=", "is null", "is not null"],
      exact: ["is null", "is not null"],
    },
    {
      column: "updated",
      operators: ["<", "<=", ">", ">=", "=", "is null", "is not null"],
      exact: ["is null", "is not null"],
    },
  ],

  plan(offer, connection): ScanPlan<IssuesState> {
    const config = jiraConfig(connection);
    const known = new Set(ISSUE_COLUMNS.map((c) => c.name));
    for (const c of [...offer.columns, ...offer.predicates.map((p) => p.column)]) {
      if (!known.has(c)) {
        throw new OmniError("PLAN_FAILED", `unknown column ${connection.name}.issues.${c}`);
      }
    }
    const push = planJql(offer, config);
    // DuckDB re-applies the whole WHERE, so every predicate's column is fetched.
    const columns = [...new Set([...offer.columns, ...offer.predicates.map((p) => p.column)])];
    const fields = [
      ...new Set(columns.map((c) => COLUMN_FIELD[c]).filter((f): f is string => f !== null)),
    ];
    const planned = keysWithinProjects(push.query);
    // With warm dictionaries the EXPLAIN shows the exact request the scan will send.
    let query = planned;
    const statuses = peekCached<string[]>(connection, "statuses");
    if (statuses) query = applyKnownStatuses(query, statuses);
    const ids = fieldIds(config.fields, peekCached<ResolvedFields>(connection, "fields"));
    const native = query.none
      ? ["(no request: no issue can match)"]
      : [describeRequest(renderJql(query, ids), apiFields(fields, ids), push.maxResults)];
    return {
      native,
      pushed: push.pushed,
      residual: push.residual,
      columns,
      ...(push.limit !== undefined ? { limit: push.limit } : {}),
      state: { query: planned, fields, maxResults: push.maxResults },
    };
  },

  async *scan(ctx: ScanContext, plan: ScanPlan<IssuesState>): AsyncIterable<Row[]> {
    const { connection, http } = ctx;
    const config = jiraConfig(connection);
    let query = plan.state.query;
    if (query.none) return;
    const needsCustom = plan.state.fields.some((f) => f === "branch" || f === "storyPoints") ||
      query.clauses.some((c) => c.field === "branch" || c.field === "storyPoints");
    const ids: ResolvedFields = needsCustom
      ? await resolveFieldIds(http, connection, config)
      : { branch: config.fields.branch ?? null, storyPoints: config.fields.storyPoints ?? null };
    if (query.clauses.some((c) => c.kind === "values" && c.field === "status")) {
      query = applyKnownStatuses(query, await knownStatuses(http, connection));
      if (query.none) return;
    }
    const fields = apiFields(plan.state.fields, ids);
    const wanted = new Set(plan.columns);
    const search = (q: JqlQuery) =>
      searchRows(
        ctx,
        q,
        { ids, fields, maxResults: plan.state.maxResults },
        (issue) => toRow(issue, ids, config.projectTeams, wanted),
      );
    if (plan.limit === undefined && query.orderBy.length === 0 && query.projects.length > 1) {
      // Projects are independent partitions: searched in parallel, pages merged as they come.
      const partitions = query.projects.map((project) => () =>
        search({ ...query, projects: [project] })
      );
      yield* mergePartitions(partitions, PROJECT_CONCURRENCY);
      return;
    }
    let emitted = 0;
    for await (let rows of search(query)) {
      if (plan.limit !== undefined && emitted + rows.length > plan.limit) {
        rows = rows.slice(0, plan.limit - emitted);
      }
      emitted += rows.length;
      yield rows;
      if (plan.limit !== undefined && emitted >= plan.limit) return;
    }
  },
});

/** Projects of one scan searched at once. */
const PROJECT_CONCURRENCY = 4;

/**
 * The rows of one JQL search, page by page. Jira refuses a query naming a value it does not know
 * (a status renamed since we cached the list, an issue key or account that does not exist): no
 * issue carries that value, so it is dropped and the search asked again.
 */
async function* searchRows(
  ctx: ScanContext,
  start: JqlQuery,
  request: { ids: ResolvedFields; fields: string[]; maxResults: number },
  toRowOf: (issue: JiraIssue) => Row,
): AsyncGenerator<Row[]> {
  let query = start;
  let retries = 0;
  for (;;) {
    let pages = 0;
    try {
      const body = {
        jql: renderJql(query, request.ids),
        fields: request.fields,
        maxResults: request.maxResults,
      };
      for await (const issues of searchPages(ctx.http, body, ctx.signal)) {
        pages++;
        yield issues.map(toRowOf);
      }
      return;
    } catch (err) {
      const unknown = pages === 0 && retries < MAX_UNKNOWN_VALUE_RETRIES
        ? unknownValues(err, query)
        : [];
      if (unknown.length === 0) throw err;
      retries++;
      for (const u of unknown) query = dropUnknownValue(query, u.field, u.value);
      if (query.none) return;
    }
  }
}

function fieldIds(
  configured: { branch?: string; storyPoints?: string },
  discovered: ResolvedFields | undefined,
): { branch?: string | null; storyPoints?: string | null } {
  return {
    branch: configured.branch ?? discovered?.branch,
    storyPoints: configured.storyPoints ?? discovered?.storyPoints,
  };
}

/** The `fields` list sent to Jira: `key` plus only what the query reads. */
function apiFields(
  logical: string[],
  ids: { branch?: string | null; storyPoints?: string | null },
): string[] {
  const out = ["key"];
  for (const f of logical) {
    if (f === "branch" || f === "storyPoints") {
      const id = ids[f];
      if (id) out.push(id);
      else if (id === undefined) out.push(f === "branch" ? "<Branch>" : "<Story point estimate>");
    } else out.push(f);
  }
  return out;
}

function describeRequest(jql: string, fields: string[], maxResults: number): string {
  const max = maxResults === 100 ? "" : ` maxResults=${maxResults}`;
  return `POST /rest/api/3/search/jql jql=${jql} fields=${fields.join(",")}${max}`;
}

type ValueField = "status" | "key" | "assignee" | "statusCategory";

/** The pushed values a Jira 400 says do not exist (Jira lists every one), if any are ours. */
function unknownValues(err: unknown, query: JqlQuery): { field: ValueField; value: string }[] {
  if (!(err instanceof OmniError) || err.details?.status !== 400) return [];
  const patterns = [
    /The value '([^']*)' does not exist for the field '(status|assignee|statusCategory)'\./g,
    /An issue with key '([^']*)' does not exist for field '(key)'\./g,
    /The issue key '([^']*)' for field '(key)' is invalid\./g,
  ];
  const found: { field: ValueField; value: string }[] = [];
  for (const re of patterns) {
    for (const m of err.message.matchAll(re)) {
      const field = m[2] as ValueField;
      const value = m[1];
      const ours = query.clauses.some((c) =>
        c.kind === "values" && c.field === field &&
        c.values.some((v) => v.toLowerCase() === value.toLowerCase())
      );
      if (ours) found.push({ field, value });
    }
  }
  return found;
}

/** Jira's `2025-03-09T20:30:06.000+0000` → ISO-8601 UTC `2025-03-09T20:30:06.000Z`. */
export function jiraTimeToIso(value: unknown): string | null {
  if (typeof value !== "string") return null;
  const m = value.match(
    /^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(?::\d{2})?)(\.\d+)?(Z|[+-]\d{2}:?\d{2})?$/,
  );
  if (!m) return null;
  const zone = !m[3] || m[3] === "Z" ? "Z" : m[3].replace(/^([+-]\d{2}):?(\d{2})$/, "$1:$2");
  const frac = (m[2] ?? ".000").slice(0, 4).padEnd(4, "0");
  const ms = Date.parse(`${m[1]}${frac}${zone}`);
  return Number.isNaN(ms) ? null : new Date(ms).toISOString();
}

function toRow(
  issue: JiraIssue,
  ids: ResolvedFields,
  teams: Record<string, string>,
  wanted: Set<string>,
): Row {
  const f = (issue.fields ?? {}) as Record<string, unknown>;
  const status = f.status as
    | { name?: string; statusCategory?: { key?: string } }
    | null
    | undefined;
  const assignee = f.assignee as
    | { accountId?: string; displayName?: string; emailAddress?: string }
    | null
    | undefined;
  const project = (f.project as { key?: string } | null | undefined)?.key ??
    issue.key?.replace(/-\d+$/, "") ?? null;
  const text = (v: unknown) => (typeof v === "string" ? v : null);
  const all: Row = {
    issue_key: text(issue.key),
    id: issue.id === undefined || issue.id === null ? null : String(issue.id),
    summary: text(f.summary),
    status: text(status?.name),
    status_category: text(status?.statusCategory?.key),
    assignee: text(assignee?.displayName),
    assignee_email: text(assignee?.emailAddress),
    assignee_account_id: text(assignee?.accountId),
    branch_name: ids.branch ? text(f[ids.branch]) : null,
    story_points: ids.storyPoints && typeof f[ids.storyPoints] === "number"
      ? f[ids.storyPoints]
      : null,
    project,
    team: project ? teams[project] ?? null : null,
    created: jiraTimeToIso(f.created),
    updated: jiraTimeToIso(f.updated),
  };
  const row: Row = {};
  for (const c of wanted) row[c] = all[c];
  return row;
}
