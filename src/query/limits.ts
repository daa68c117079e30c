/**
 * Every input limit of a query in one place, with the checks that enforce the ones no other
 * module owns. Each refusal is an `INVALID_REQUEST` naming the limit and the value it saw, so a
 * caller knows what to change.
 *
 * | limit | default | where it is enforced |
 * |---|---|---|
 * | request body | 1 MB | `readJsonBody` (`src/http/json_body.ts`) |
 * | SQL text | 100 000 characters | `parseQuery` (`src/sql/parse.ts`) |
 * | nesting depth | 128 levels of brackets, CASE, NOT, signs | {@link checkNesting}, before parsing |
 * | expression depth | 512 AST levels (chains of AND, OR, +) | `parseQuery`, before any tree walk |
 * | NUL characters | none | {@link checkNesting}, before parsing |
 * | tables per query | 16 | {@link checkTableCount}, after parsing |
 * | result rows | 10 000, tenant `settings.maxRows` | DuckDB stops converting; `truncated: true` |
 * | deadline | 30 s, tenant `settings.maxTimeoutMs` | {@link effectiveTimeoutMs}; the engine pool stops DuckDB |
 * | engine memory | 512 MiB (jobs 2 GiB), tenant `settings.maxMemoryMb` / `jobMemoryMb` | the engine pool |
 *
 * @module
 */
import { OmniError } from "../errors.ts";
import { MAX_SQL_LENGTH } from "../sql/parse.ts";
import { checkNestingDepth, MAX_NESTING_DEPTH } from "../sql/nesting.ts";
import { DEFAULT_MAX_ROWS } from "../duckdb/engine.ts";
import { MAX_BODY_BYTES, MAX_TIMEOUT_MS } from "./request.ts";

export { MAX_BODY_BYTES, MAX_SQL_LENGTH, MAX_TIMEOUT_MS };

/** The limits applied to one query; a tenant's settings may lower or raise some of them. */
export interface QueryLimits {
  /** Deepest nesting of brackets, CASE and prefix operators in the SQL text. @default 128 */
  maxNestingDepth: number;
  /** Base-table references in one query (joins, subqueries and CTE bodies included). @default 16 */
  maxTables: number;
  /** Rows a query answers at most; the rest is cut and `truncated` is set. @default 10000 */
  maxRows: number;
  /** Deadline when the request sets none, ms. @default 30000 */
  defaultTimeoutMs: number;
  /** Longest deadline a request may ask for, ms. @default 30000 */
  maxTimeoutMs: number;
  /** Memory one interactive query may use in the engine, MiB. @default 512 */
  memoryLimitMb: number;
  /** Memory an async job's query may use in the engine, MiB. @default 2048 */
  jobMemoryLimitMb: number;
}

/**
 * The defaults of {@link QueryLimits}.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { DEFAULT_LIMITS } from "./limits.ts";
 * assert.ok(DEFAULT_LIMITS.maxTables === 16);
 * ```
 */
export const DEFAULT_LIMITS: Readonly<QueryLimits> = Object.freeze({
  maxNestingDepth: MAX_NESTING_DEPTH,
  maxTables: 16,
  maxRows: DEFAULT_MAX_ROWS,
  defaultTimeoutMs: 30_000,
  maxTimeoutMs: 30_000,
  memoryLimitMb: 512,
  jobMemoryLimitMb: 2048,
});

/** The per-tenant overrides `tenants.settings` may carry. */
export interface TenantLimitSettings {
  maxTimeoutMs?: number;
  maxRows?: number;
  /** Lowers (never raises) the deployment's memory limit of an interactive query, MiB. */
  maxMemoryMb?: number;
  /** Lowers (never raises) the deployment's memory limit of an async job, MiB. */
  jobMemoryMb?: number;
}

/**
 * The limits for one tenant: the defaults, overridden by the tenant's settings.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { limitsFor } from "./limits.ts";
 * assert.ok(limitsFor({ maxTimeoutMs: 5_000 }).maxTimeoutMs === 5_000);
 * ```
 */
export function limitsFor(
  settings: TenantLimitSettings | undefined,
  base: Readonly<QueryLimits> = DEFAULT_LIMITS,
): QueryLimits {
  const positive = (v: unknown): v is number => typeof v === "number" && v > 0 && isFinite(v);
  const maxTimeoutMs = positive(settings?.maxTimeoutMs)
    ? Math.min(settings.maxTimeoutMs, MAX_TIMEOUT_MS)
    : base.maxTimeoutMs;
  return {
    ...base,
    maxTimeoutMs,
    defaultTimeoutMs: Math.min(base.defaultTimeoutMs, maxTimeoutMs),
    maxRows: positive(settings?.maxRows) ? Math.floor(settings.maxRows) : base.maxRows,
    memoryLimitMb: positive(settings?.maxMemoryMb)
      ? Math.min(settings.maxMemoryMb, base.memoryLimitMb)
      : base.memoryLimitMb,
    jobMemoryLimitMb: positive(settings?.jobMemoryMb)
      ? Math.min(settings.jobMemoryMb, base.jobMemoryLimitMb)
      : base.jobMemoryLimitMb,
  };
}

/**
 * The deadline of a query: what the request asked for, capped by the tenant's limit.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { DEFAULT_LIMITS, effectiveTimeoutMs } from "./limits.ts";
 * assert.ok(effectiveTimeoutMs(90_000, DEFAULT_LIMITS) === 30_000);
 * assert.ok(effectiveTimeoutMs(undefined, DEFAULT_LIMITS) === 30_000);
 * ```
 */
export function effectiveTimeoutMs(requested: number | undefined, limits: QueryLimits): number {
  return Math.min(requested ?? limits.defaultTimeoutMs, limits.maxTimeoutMs);
}

/**
 * Refuses SQL nested deeper than the limit before the parser's recursion can meet it — every kind
 * of nesting counts: parentheses, brackets, `CASE` and prefix operators (`NOT`, unary signs; see
 * `nestingDepth` in `src/sql/nesting.ts`) — and SQL containing NUL, which no Postgres text column
 * (the audit log) can hold.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { checkNesting, DEFAULT_LIMITS } from "./limits.ts";
 * checkNesting("SELECT ((1))", DEFAULT_LIMITS);
 * assert.throws(() => checkNesting("SELECT " + "(".repeat(500), DEFAULT_LIMITS), /too deeply/);
 * assert.throws(() => checkNesting("SELECT " + "NOT ".repeat(5000) + "TRUE", DEFAULT_LIMITS));
 * ```
 */
export function checkNesting(sql: string, limits: Pick<QueryLimits, "maxNestingDepth">): void {
  if (sql.includes("\u0000")) {
    throw new OmniError("INVALID_REQUEST", "sql contains a NUL character", {
      details: { limit: "no_nul", offset: sql.indexOf("\u0000") },
    });
  }
  checkNestingDepth(sql, limits.maxNestingDepth);
}

/**
 * Refuses a query that reads more tables than the limit.
 *
 * @example
 * ```ts
 * import { checkTableCount, DEFAULT_LIMITS } from "./limits.ts";
 * checkTableCount(2, DEFAULT_LIMITS);
 * ```
 */
export function checkTableCount(count: number, limits: Pick<QueryLimits, "maxTables">): void {
  if (count > limits.maxTables) {
    throw new OmniError(
      "INVALID_REQUEST",
      `the query reads ${count} tables; at most ${limits.maxTables} are allowed`,
      { details: { limit: "max_tables", max: limits.maxTables, tables: count } },
    );
  }
}
