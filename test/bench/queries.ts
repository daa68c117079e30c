/**
 * The seed's four queries, verbatim, as the bench runs them (OmniSQL) and the naive script
 * answers them.
 *
 * @module
 */
import type { Question } from "./naive.ts";

/** One seed query. */
export interface SeedQuery {
  id: Question;
  title: string;
  sql: string;
  /** Part of scenario 2 (federated joins). */
  join: boolean;
}

/** The seed queries, in the seed's order. */
export const SEED_QUERIES: readonly SeedQuery[] = [
  {
    id: "single_source",
    title: "Single-source (merged PRs, every column)",
    sql: "SELECT * FROM github.pull_requests WHERE status = 'merged'",
    join: false,
  },
  {
    id: "cross_app_join",
    title: "Cross-app join (PRs ⋈ In-Progress tickets)",
    sql: `SELECT gh.pr_id, gh.author, jira.issue_key, jira.status as jira_status
FROM github.pull_requests gh
JOIN jira.issues jira ON gh.branch = jira.branch_name
WHERE jira.status = 'In Progress'`,
    join: true,
  },
  {
    id: "security_audit",
    title: "Security audit (merged PRs ⋈ unresolved tickets)",
    sql: `SELECT gh.pr_id, gh.merged_at, jira.issue_key, jira.status
FROM github.pull_requests gh
JOIN jira.issues jira ON gh.branch = jira.branch_name
WHERE gh.status = 'merged' AND jira.status != 'Done'`,
    join: true,
  },
  {
    id: "effort_mapping",
    title: "Effort mapping (story points vs LOC, top 10)",
    sql: `SELECT jira.issue_key, jira.story_points,
       (gh.additions + gh.deletions) as total_loc
FROM jira.issues jira
JOIN github.pull_requests gh ON jira.branch_name = gh.branch
ORDER BY total_loc DESC LIMIT 10`,
    join: true,
  },
];

/** Scenario 1's query: small, single-source, the kind a dashboard repeats. */
export const CACHED_SQL =
  "SELECT pr_id, title, status FROM github.pull_requests WHERE status = 'merged' LIMIT 5";
