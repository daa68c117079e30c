/**
 * The SQL front of the planner: parse and validate a user's query (one read-only statement,
 * optionally after `EXPLAIN`), list every base table it reads, and build what the planner offers
 * each table's connector — the columns the query reads, the conjuncts that touch that table
 * alone, and for a plain single-table query its ORDER BY and LIMIT.
 *
 * The user's SQL itself runs unchanged in DuckDB over the fetched tables, which re-applies the
 * whole WHERE clause: an offer may be looser than the query, never stricter.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { buildOffers, parseQuery } from "./mod.ts";
 * const parsed = parseQuery(
 *   "SELECT gh.pr_id, ji.issue_key FROM github.pull_requests gh " +
 *     "JOIN jira.issues ji ON gh.branch = ji.branch_name WHERE gh.status = 'merged'",
 * );
 * const col = (name: string) => ({ name, type: "text" as const, description: "" });
 * const offers = buildOffers(parsed, [
 *   { key: "github.pull_requests", columns: ["pr_id", "status", "branch"].map(col) },
 *   { key: "jira.issues", columns: ["issue_key", "status", "branch_name"].map(col) },
 * ]);
 * assert.ok(offers.get("github.pull_requests")!.predicates.length === 1);
 * assert.ok(offers.get("jira.issues")!.predicates.length === 0);
 * ```
 *
 * @module
 */
export { MAX_SQL_LENGTH, type ParsedQuery, parseQuery, type TableRef } from "./parse.ts";
export { ALLOWED_FUNCTIONS, checkFunctions } from "./functions.ts";
export { buildOffers, type ResolvedTable } from "./offers.ts";
