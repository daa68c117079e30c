/**
 * The Jira Cloud connector: `jira.issues` over REST v3 (`POST /rest/api/3/search/jql`), with
 * Basic (email + API token) or OAuth bearer auth, Jira's rate-limit headers and error bodies, and
 * JQL pushdown. Its sandbox (`./sandbox/`) serves the demo world over the same protocol.
 *
 * Connection config: `{ projects: string[]; projectTeams?: Record<project, team>;
 * fields?: { branch?: "customfield_N"; storyPoints?: "customfield_N" } }`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { jira } from "./mod.ts";
 * assert.ok(jira.tables.some((t) => t.name === "issues"));
 * ```
 *
 * @module
 */
import { type ConnectorDef, protocolReaders } from "../sdk/mod.ts";
import { JIRA_CONNECTION, JIRA_PROTOCOL, jiraAuthorize } from "./client.ts";
import { issues } from "./issues.ts";

/** The Jira Cloud connector. */
export const jira: ConnectorDef = {
  id: "jira",
  description: "Jira Cloud (REST v3): issues of the configured projects, searched with JQL.",
  tables: [issues],
  connection: JIRA_CONNECTION,
  authorize: jiraAuthorize,
  ...protocolReaders(JIRA_PROTOCOL),
};

export { issues } from "./issues.ts";
export type { JiraConfig } from "./client.ts";
