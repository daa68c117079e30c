/**
 * The console's query templates: the seed queries, as written in the design documents.
 *
 * @module
 */

/** A query template the console offers. */
export interface QueryTemplate {
  title: string;
  sql: string;
}

/**
 * The seed queries.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { TEMPLATES } from "./templates.ts";
 * assert.ok(TEMPLATES.some((t) => t.sql.includes("JOIN jira.issues")));
 * ```
 */
export const TEMPLATES: readonly QueryTemplate[] = [
  {
    title: "Merged pull requests",
    sql: "SELECT * FROM github.pull_requests\nWHERE status = 'merged'",
  },
  {
    title: "PRs and their Jira tickets in progress",
    sql: "SELECT gh.pr_id, gh.author, jira.issue_key, jira.status as jira_status\n" +
      "FROM github.pull_requests gh\nJOIN jira.issues jira ON gh.branch = jira.branch_name\n" +
      "WHERE jira.status = 'In Progress'",
  },
  {
    title: "Security audit: merged PRs with open tickets",
    sql: "SELECT gh.pr_id, gh.merged_at, jira.issue_key, jira.status\n" +
      "FROM github.pull_requests gh\nJOIN jira.issues jira ON gh.branch = jira.branch_name\n" +
      "WHERE gh.status = 'merged' AND jira.status != 'Done'",
  },
  {
    title: "Effort mapping: story points vs code changes",
    sql: "SELECT jira.issue_key, jira.story_points,\n" +
      "       (gh.additions + gh.deletions) as total_loc\n" +
      "FROM jira.issues jira\nJOIN github.pull_requests gh ON jira.branch_name = gh.branch\n" +
      "ORDER BY total_loc DESC LIMIT 10",
  },
  {
    title: "PRs with authors' emails (masked for QA)",
    sql: "SELECT pr_id, author, email, title\nFROM github.pull_requests\n" +
      "WHERE status = 'merged'\nLIMIT 20",
  },
  {
    title: "GitHub, Jira and Linear together",
    sql: "SELECT gh.pr_id, ji.issue_key, li.title\nFROM github.pull_requests gh\n" +
      "JOIN jira.issues ji ON gh.branch = ji.branch_name\n" +
      "JOIN linear.issues li ON gh.team_id = li.team\nWHERE gh.status = 'merged'",
  },
];
