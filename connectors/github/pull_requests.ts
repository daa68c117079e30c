/**
 * The `pull_requests` table: the pull requests of the repositories a GitHub connection spans,
 * with pushdown of repo, team, status, state, branch and base branch, ORDER BY created/updated
 * with LIMIT, and sizes and emails fetched only when the query reads them.
 *
 * @module
 */
import { type ColumnDef, defineTable, type KeyColumn } from "../sdk/mod.ts";
import { planPulls, type PullsPlanState } from "./_pull_requests_plan.ts";

/** Keys of a dependent join a branch filter takes in one scan (a set lookup per row). */
const MAX_DEPENDENT_KEYS = 1000;
import { scanPulls } from "./_pull_requests_scan.ts";

const COLUMNS: ColumnDef[] = [
  { name: "pr_id", type: "integer", description: "The pull request's id (the API's `id`)." },
  { name: "number", type: "integer", description: "The pull request's number in its repo." },
  { name: "repo", type: "text", description: "Repository name (without the owner)." },
  { name: "title", type: "text", description: "Title." },
  {
    name: "author",
    type: "text",
    description: "Login of the user who opened it.",
    classification: "pii.person",
  },
  {
    name: "email",
    type: "text",
    description: "The author's public email (`GET /users/{login}`); often null.",
    classification: "pii.email",
  },
  {
    name: "status",
    type: "text",
    description: "`merged` when merged_at is set, else the API's state (`open` or `closed`).",
  },
  { name: "state", type: "text", description: "The API's state: `open` or `closed`." },
  { name: "draft", type: "boolean", description: "Whether it is a draft." },
  {
    name: "branch",
    type: "text",
    description: "Head branch (head.ref).",
    // Branches are often named after their author (`chloe/mob-12-login`).
    classification: "pii.person_text",
  },
  { name: "base_branch", type: "text", description: "Base branch it merges into (base.ref)." },
  {
    name: "team_id",
    type: "text",
    description: "Team owning the repo, from the connection's repo → team mapping.",
  },
  { name: "labels", type: "json", description: "Label names, a JSON array." },
  { name: "created_at", type: "timestamp", description: "When it was opened." },
  { name: "updated_at", type: "timestamp", description: "Last update." },
  { name: "closed_at", type: "timestamp", description: "When it was closed (merged or not)." },
  { name: "merged_at", type: "timestamp", description: "When it was merged; null if not." },
  { name: "url", type: "text", description: "Web page of the pull request (html_url)." },
  { name: "additions", type: "integer", description: "Lines added.", detail: true },
  { name: "deletions", type: "integer", description: "Lines deleted.", detail: true },
  { name: "changed_files", type: "integer", description: "Files changed.", detail: true },
  { name: "commits", type: "integer", description: "Commits in the pull request.", detail: true },
];

const ALL_OPS: KeyColumn["operators"] = [
  "=",
  "!=",
  "<",
  "<=",
  ">",
  ">=",
  "in",
  "not in",
  "is null",
  "is not null",
  "like",
];

/**
 * What GitHub's list and search endpoints can filter on. `branch =` through search's `head:`
 * (which finds forks' pull requests too; the list's `head` takes `owner:branch` and misses them),
 * a prefix match rechecked on each filled row; `branch IN` on the lists, checked on each row's
 * `head.ref` before any detail or email call — so a dependent join sends all its keys in one
 * scan, and only the pull requests they match cost a detail call (a semi-join).
 */
// Exact (for LIMIT pushdown): repo and team are decided per repository from the connection's own
// list, status/state by the list's `state` plus a local check, branches by `head.ref` checked
// on each row, base by GitHub's exact `base` match.
const KEY_COLUMNS: KeyColumn[] = [
  { column: "repo", operators: ALL_OPS, exact: ALL_OPS },
  { column: "team_id", operators: ALL_OPS, exact: ALL_OPS },
  { column: "status", operators: ["=", "!=", "in", "not in"], exact: ["=", "!=", "in", "not in"] },
  { column: "state", operators: ["=", "!=", "in", "not in"], exact: ["=", "!=", "in", "not in"] },
  {
    column: "branch",
    operators: ["=", "in"],
    exact: ["=", "in"],
    maxValues: MAX_DEPENDENT_KEYS,
    matchedOnRows: true,
  },
  { column: "base_branch", operators: ["="], exact: ["="] },
];

/**
 * The `pull_requests` table declaration.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { pullRequests } from "./pull_requests.ts";
 * const plan = pullRequests.plan(
 *   { predicates: [{ column: "repo", op: "=", value: "web" }], columns: ["pr_id"] },
 *   { id: "c", tenantId: "t", connector: "github", name: "github", baseUrl: "https://api.github.com",
 *     credentials: {}, config: { owner: "acme", repos: ["web", "api"] } },
 * );
 * assert.ok(plan.native.length === 1 && plan.residual.length === 0);
 * ```
 */
export const pullRequests = defineTable<PullsPlanState>({
  name: "pull_requests",
  description: "Pull requests of the connection's repositories (one owner, configured repos).",
  columns: COLUMNS,
  keyColumns: KEY_COLUMNS,
  plan: planPulls,
  scan: scanPulls,
});
