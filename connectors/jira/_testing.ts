/**
 * Test helpers for the Jira connector: demo connections and the rows `jira.issues` must return,
 * computed from the demo world independently of the connector and the sandbox.
 *
 * @module
 */
import { demoOrg } from "../demo/world.ts";
import type { Connection, Row } from "../sdk/mod.ts";

/** Demo credentials and projects the catalog seeds per tenant. */
export const DEMO = {
  acme: {
    email: "bot@acme.example",
    apiToken: "jira_demo_acme_token",
    projects: ["MOB", "WEB"],
    projectTeams: { MOB: "mobile", WEB: "web" } as Record<string, string>,
  },
  globex: {
    email: "bot@globex.example",
    apiToken: "jira_demo_globex_token",
    projects: ["PLT"],
    projectTeams: { PLT: "platform" } as Record<string, string>,
  },
};

/** A Jira connection to a sandbox for a demo tenant. */
export function demoConnection(
  baseUrl: string,
  org: "acme" | "globex" = "acme",
  overrides: Partial<Connection> & { fields?: Record<string, string> | null } = {},
): Connection {
  const d = DEMO[org];
  const { fields, ...rest } = overrides;
  return {
    id: `c-${org}`,
    tenantId: org,
    connector: "jira",
    name: "jira",
    baseUrl,
    credentials: { email: d.email, apiToken: d.apiToken },
    config: {
      projects: d.projects,
      projectTeams: d.projectTeams,
      ...(fields === null
        ? {}
        : { fields: fields ?? { branch: "customfield_10050", storyPoints: "customfield_10016" } }),
    },
    ...rest,
  };
}

const CATEGORY: Record<string, string> = {
  "To Do": "new",
  "In Progress": "indeterminate",
  "In Review": "indeterminate",
  "Done": "done",
};

/** Every row of `jira.issues` for an org, all columns, straight from the demo world. */
export function expectedRows(org: "acme" | "globex"): Row[] {
  const world = demoOrg(org);
  const teams = DEMO[org].projectTeams;
  const iso = (s: string) => new Date(Date.parse(s)).toISOString();
  return world.issues.map((i) => {
    const person = world.people.find((p) => p.accountId === i.assignee) ?? null;
    return {
      issue_key: i.key,
      id: i.id,
      summary: i.summary,
      status: i.status,
      status_category: CATEGORY[i.status],
      assignee: person?.name ?? null,
      assignee_email: person?.email ?? null,
      assignee_account_id: person?.accountId ?? null,
      branch_name: i.branch,
      story_points: i.storyPoints,
      project: i.project,
      team: teams[i.project] ?? null,
      created: iso(i.created),
      updated: iso(i.updated),
    };
  });
}

/** All columns of the table. */
export const ALL_COLUMNS = [
  "issue_key",
  "id",
  "summary",
  "status",
  "status_category",
  "assignee",
  "assignee_email",
  "assignee_account_id",
  "branch_name",
  "story_points",
  "project",
  "team",
  "created",
  "updated",
];
