/**
 * zod schemas of what the HTTP API answers: the query result, the plan of `EXPLAIN`, the error
 * body, the catalog listing and whoami. The OpenAPI document is generated from these and from
 * the request schema that validates every query (`src/query/request.ts`). Compile-time checks
 * below tie each schema to the type the code returns, so neither can drift from the other.
 *
 * @module
 */
import { z } from "zod";
import { ERROR_STATUS, type ErrorBody } from "../errors.ts";
import type { ExplainResponse, QueryResponse } from "../query/execute.ts";

const Pushdown = z.object({
  native: z.array(z.string()).describe("The native API requests the source is read with."),
  pushed: z.array(z.string()).describe("Predicates the app applies."),
  residual: z.array(z.string()).describe("Predicates DuckDB applies after the fetch."),
  columns: z.array(z.string()).describe("Columns fetched."),
  limit: z.number().optional().describe("A row limit the app applies."),
  dependent: z.string().optional().describe("How a dependent join fetched this source."),
});

/**
 * The figures of the budget closest to running out.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { RateLimitStatusSchema } from "./api_schemas.ts";
 * assert.ok(RateLimitStatusSchema.safeParse({ remaining: 1, reset_ms: 0 }).success);
 * ```
 */
export const RateLimitStatusSchema = z.object({
  remaining: z.number().describe("Requests left; -1 when no source reported a budget."),
  reset_ms: z.number().describe("Time until the budget refills, in ms."),
  level: z.string().optional().describe("Whose budget: `user`, `tenant` or `source:<table>`."),
});

/**
 * The 200 answer of `POST /v1/query`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { QueryResponseSchema } from "./api_schemas.ts";
 * assert.ok("rows" in QueryResponseSchema.shape);
 * ```
 */
export const QueryResponseSchema = z.object({
  columns: z.array(z.string()),
  rows: z.array(z.record(z.string(), z.unknown())).describe("One object per row, by column."),
  freshness_ms: z.number().describe("Age of the oldest data in the answer, in ms."),
  from_cache: z.boolean(),
  rate_limit_status: RateLimitStatusSchema,
  trace_id: z.string(),
  region: z.string().describe("The residency zone that ran the query."),
  truncated: z.boolean().describe("Rows were cut at the result-size limit."),
  stale: z.boolean().optional().describe("Some data is older than `max_staleness_ms`."),
  timing: z.object({
    total_ms: z.number(),
    planning_ms: z.number(),
    fetch_ms: z.number(),
    security_ms: z.number(),
    duckdb_ms: z.number(),
  }),
  sources: z.array(z.object({
    table: z.string(),
    rows: z.number(),
    pages: z.number().optional().describe(
      "Pages fetched. Absent, with calls and revalidated, for a source whose requests would " +
        "count rows or values the caller may not see (its planned requests are shown instead).",
    ),
    calls: z.number().optional().describe("Requests the app charged."),
    revalidated: z.number().optional().describe(
      "Requests the app answered 304 Not Modified: pages rebuilt from stored validators, not charged.",
    ),
    from_cache: z.boolean(),
    freshness_ms: z.number(),
    fetch_ms: z.number(),
    started_ms: z.number().optional().describe(
      "When the source's fetch started, in ms from the query's start (absent when cached).",
    ),
    app_ms: z.number().optional().describe(
      "Of fetch_ms, the time the calls to the app ran (the rest: cache reads and writes).",
    ),
    app_started_ms: z.number().optional().describe(
      "When the calls to the app started, in ms from the query's start.",
    ),
    estimated_rows: z.number().optional().describe("Rows the planner expected."),
    pushdown: Pushdown,
  })),
});

/**
 * The answer of `EXPLAIN <query>`: the plan per source, nothing fetched.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { ExplainResponseSchema } from "./api_schemas.ts";
 * assert.ok("sources" in ExplainResponseSchema.shape);
 * ```
 */
export const ExplainResponseSchema = z.object({
  explain: z.literal(true),
  trace_id: z.string(),
  region: z.string(),
  sql: z.string(),
  sources: z.array(z.object({
    table: z.string(),
    pushdown: Pushdown,
    offered_columns: z.array(z.string()),
    estimated_rows: z.number().optional().describe("Rows the planner expects."),
  })),
});

/**
 * Every error answer.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { ErrorBodySchema } from "./api_schemas.ts";
 * assert.ok(ErrorBodySchema.safeParse({ error: { code: "PLAN_FAILED", message: "x" } }).success);
 * ```
 */
export const ErrorBodySchema = z.object({
  error: z.object({
    code: z.enum(Object.keys(ERROR_STATUS) as [keyof typeof ERROR_STATUS]),
    message: z.string(),
    retry_after_ms: z.number().optional().describe("Wait this long before retrying."),
    details: z.record(z.string(), z.unknown()).optional(),
  }),
  trace_id: z.string().optional(),
});

/**
 * `GET /v1/catalog`: the tables and columns the caller may query.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { CatalogListingSchema } from "./api_schemas.ts";
 * assert.ok(CatalogListingSchema.safeParse({ tenant: "acme", tables: [] }).success);
 * ```
 */
export const CatalogListingSchema = z.object({
  tenant: z.string(),
  tables: z.array(z.object({
    table: z.string().describe("`schema.table` as written in SQL."),
    connector: z.string(),
    description: z.string(),
    columns: z.array(z.object({
      name: z.string(),
      type: z.string(),
      description: z.string(),
      filterable: z.array(z.string()).describe("Operators the app can filter this column by."),
    })),
  })),
});

/**
 * `GET /v1/whoami`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { WhoamiSchema } from "./api_schemas.ts";
 * assert.ok("zone" in WhoamiSchema.shape);
 * ```
 */
export const WhoamiSchema = z.object({
  user: z.string(),
  tenant: z.string(),
  role: z.string().nullable(),
  team_id: z.string().nullable(),
  zone: z.string(),
  endpoint_url: z.string().nullable().describe("The zone's own query endpoint."),
});

// Compile-time ties between the schemas and the types the code returns: a field added to one
// and not the other (at any of these levels) fails `deno check` here.
type SameKeys<A, B> = [keyof A] extends [keyof B] ? ([keyof B] extends [keyof A] ? true : false)
  : false;
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? SameKeys<A, B> : false) : false;
type Query = z.infer<typeof QueryResponseSchema>;
type Explain = z.infer<typeof ExplainResponseSchema>;
const _query: Same<Query, QueryResponse> = true;
const _timing: Same<Query["timing"], QueryResponse["timing"]> = true;
const _budget: Same<Query["rate_limit_status"], QueryResponse["rate_limit_status"]> = true;
const _source: Same<Query["sources"][number], QueryResponse["sources"][number]> = true;
const _pushdown: Same<
  Query["sources"][number]["pushdown"],
  QueryResponse["sources"][number]["pushdown"]
> = true;
const _explain: Same<Explain, ExplainResponse> = true;
const _explainSource: Same<Explain["sources"][number], ExplainResponse["sources"][number]> = true;
const _error: Same<z.infer<typeof ErrorBodySchema>, ErrorBody> = true;
const _errorFields: Same<z.infer<typeof ErrorBodySchema>["error"], ErrorBody["error"]> = true;
