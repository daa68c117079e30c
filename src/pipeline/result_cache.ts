/**
 * The result cache step (after the budgets, before the last step): a query whose answer is
 * cached in the tenant's zone, for the same entitlements and SQL, with data no older than its
 * `max_staleness_ms`, is answered from the cache — `from_cache: true`, `freshness_ms` the age of
 * the answer's oldest data — without reaching a worker or an app. Any other 200 answer is stored
 * for the next one. `max_staleness_ms: 0` never reads the cache; EXPLAIN and async queries pass
 * through.
 *
 * A hit costs a lookup, a decryption and a small envelope: the rows go out as the JSON text they
 * were first answered in.
 *
 * @module
 */
import type { UserClaims } from "../auth/user_token.ts";
import { type CachedResult, freshnessOf, type ResultCache } from "../cache/mod.ts";
import type { SecurityProvider } from "../policy/guard.ts";
import { type MetricsRecorder, NO_METRICS } from "../telemetry/metrics.ts";
import { parseQuery } from "../sql/parse.ts";
import { queryCacheKey } from "../sql/cache_key.ts";
import type { BudgetStatus, Step } from "./context.ts";

/** Computes the key part that stands for a user's effective entitlements. */
export type FingerprintOf = (tenantId: string, user: UserClaims) => string | Promise<string>;

/** Options of {@link serveFromCache}. */
export interface ResultCacheOptions {
  /** The result cache of each residency zone. */
  caches: Record<string, ResultCache>;
  /** The user's entitlements fingerprint. @default guardFingerprint() (per user) */
  fingerprint?: FingerprintOf;
}

/**
 * The entitlements fingerprint: the security provider's guard fingerprint when there is one;
 * without a provider, the user's own identity and attributes, so that no two users share an
 * entry unless a provider says their entitlements are equal.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { guardFingerprint } from "./result_cache.ts";
 * const fp = guardFingerprint();
 * assert.ok(await fp("acme", { sub: "a", tenant: "acme" }) !== await fp("acme", { sub: "b", tenant: "acme" }));
 * ```
 */
export function guardFingerprint(security?: SecurityProvider): FingerprintOf {
  return async (tenantId, user) =>
    security
      ? `guard:${(await security.guardFor(tenantId, user)).fingerprint}`
      : `user:${JSON.stringify([user.sub, user.role ?? null, user.team_id ?? null])}`;
}

/**
 * Step: serves the query from the result cache, or arranges for its 200 answer to be stored (a
 * step that does nothing without options, for apps built without a cache).
 *
 * @example
 * ```ts ignore
 * serveFromCache({ caches: stores.results, fingerprint: guardFingerprint(security) }, metrics)
 * ```
 */
export function serveFromCache(
  options?: ResultCacheOptions,
  metrics: Pick<MetricsRecorder, "cacheHit" | "cacheMiss"> = NO_METRICS,
): Step {
  if (!options) return function noResultCache() {};
  const fingerprintOf = options.fingerprint ?? guardFingerprint();
  return async function serveFromResultCache(ctx) {
    const request = ctx.request!;
    const user = ctx.user!;
    const tenant = ctx.tenant!;
    if (request.metadata.async || /^\s*explain\b/i.test(request.sql)) return;
    const cache = options.caches[tenant.zone];
    if (!cache) return;
    const { ttlMs, maxStalenessMs } = freshnessOf(tenant.settings);
    const maxStaleness = Math.min(request.metadata.max_staleness_ms ?? maxStalenessMs, ttlMs);
    // The key comes from the parse tree; SQL that does not parse is never cached (the worker
    // answers it with PLAN_FAILED).
    const query = cacheKeyOf(request.sql);
    if (query === undefined) return;
    const fingerprint = await fingerprintOf(user.tenant, user);
    if (maxStaleness > 0) {
      const hit = await cache.get(user.tenant, fingerprint, query);
      const fresh = hit != null && Date.now() - hit.oldestDataAt <= maxStaleness;
      metrics[fresh ? "cacheHit" : "cacheMiss"]("result");
      if (hit && fresh) {
        const template = templateOf(hit);
        const elapsedMs = performance.now() - ctx.started;
        ctx.answer = {
          status: 200,
          body: answerFromCache(hit, template, ctx.traceId, ctx.budget, elapsedMs),
          summary: { tables: template.tables, rows: hit.rowCount },
        };
        return;
      }
    }
    ctx.after.push(function fillResultCache(answer) {
      if (answer.status !== 200) return Promise.resolve();
      // Behind the answer: the caller does not wait for the rows to be decoded (an answer a
      // zone sent is relayed as text), sealed and stored.
      const { body } = answer;
      const decoded = typeof body === "string" ? () => JSON.parse(body) : () => body;
      cache.putBehind(user.tenant, fingerprint, query, decoded, ttlMs, ctx.input.delivered);
      return Promise.resolve();
    });
  };
}

/**
 * Parsed keys of recent SQL texts: a repeated query (the cached path) is not parsed again. Only
 * texts up to {@link SQL_REMEMBERED} characters: a thousand bodies of a megabyte each would
 * otherwise stay in memory.
 */
const KEYS_REMEMBERED = 1024;
const SQL_REMEMBERED = 8192;
const recentKeys = new Map<string, string | undefined>();

function cacheKeyOf(sql: string): string | undefined {
  if (recentKeys.has(sql)) return recentKeys.get(sql);
  let key: string | undefined;
  try {
    key = queryCacheKey(parseQuery(sql));
  } catch {
    key = undefined;
  }
  // The key is a pure function of the text, so remembering it by the exact text is safe.
  if (sql.length > SQL_REMEMBERED) return key;
  if (recentKeys.size >= KEYS_REMEMBERED) recentKeys.delete(recentKeys.keys().next().value!);
  recentKeys.set(sql, key);
  return key;
}

/** What a hit's answers share: everything but the values of this answer. */
interface AnswerTemplate {
  /** `{"columns":…,"rows":…` and the body's other lasting fields, unclosed. */
  head: string;
  /** Each source as answered from the cache, unclosed and without its `freshness_ms`. */
  sources: string[];
  tables: string[];
}

/**
 * Templates by hit: a hit held in memory is the same frozen object on every read, so its
 * answers are spliced from text encoded once (a hit read from a shared store is a new object and
 * gets its own).
 */
const templates = new WeakMap<CachedResult, AnswerTemplate>();

function templateOf(hit: CachedResult): AnswerTemplate {
  const known = templates.get(hit);
  if (known) return known;
  const {
    columns,
    sources,
    // This answer's own, written by `answerFromCache`.
    freshness_ms: _freshness,
    from_cache: _fromCache,
    rate_limit_status: _budget,
    trace_id: _traceId,
    timing: _timing,
    ...lasting
  } = hit.body;
  const rest = JSON.stringify(lasting).slice(1, -1);
  const listed = Array.isArray(sources) ? sources as Record<string, unknown>[] : [];
  const template: AnswerTemplate = {
    head: `{"columns":${JSON.stringify(columns ?? [])},"rows":${hit.rowsJson}${
      rest ? `,${rest}` : ""
    }`,
    sources: listed.map(({ freshness_ms: _, ...source }) =>
      JSON.stringify({
        ...source,
        from_cache: true,
        // No call made now; a source that conceals its counts shows none.
        ...("calls" in source ? { calls: 0, revalidated: 0, pages: 0 } : {}),
        fetch_ms: 0,
      }).slice(0, -1)
    ),
    tables: listed.map((s) => String(s.table)),
  };
  templates.set(hit, template);
  return template;
}

/** The encoded answer of a hit: its template with this answer's freshness, budget, trace, time. */
function answerFromCache(
  hit: CachedResult,
  template: AnswerTemplate,
  traceId: string,
  budget: BudgetStatus | undefined,
  elapsedMs: number,
): string {
  const now = Date.now();
  // Nothing was spent at a source: the caller's own budget is the one that bound this query.
  const rateLimit = budget ?? hit.body.rate_limit_status;
  const sources = template.sources.map((source, i) =>
    `${source},"freshness_ms":${now - (hit.sourceFetchedAt[i] ?? hit.oldestDataAt)}}`
  );
  return `${template.head},"freshness_ms":${now - hit.oldestDataAt},"from_cache":true${
    rateLimit === undefined ? "" : `,"rate_limit_status":${JSON.stringify(rateLimit)}`
  },"trace_id":${JSON.stringify(traceId)},"timing":{"total_ms":${
    Math.round(elapsedMs * 10) / 10
  },"planning_ms":0,"fetch_ms":0,"security_ms":0,"duckdb_ms":0},"sources":[${sources.join(",")}]}`;
}
