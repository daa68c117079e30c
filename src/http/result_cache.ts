/**
 * The result cache on the query route (after `queryRequest` and `rateLimit`, before `runQuery`):
 * a query whose answer is cached in the tenant's zone, for the same entitlements and SQL, with
 * data no older than its `max_staleness_ms`, is answered from the cache — `from_cache: true`,
 * `freshness_ms` the age of the answer's oldest data — without reaching a worker or an app. Any
 * other 200 answer is stored for the next one. `max_staleness_ms: 0` never reads the cache;
 * EXPLAIN and async queries pass through.
 *
 * @module
 */
import type { MiddlewareHandler } from "hono";
import type { UserClaims } from "../auth/user_token.ts";
import type { TenantSettings } from "../catalog/schema.ts";
import { type CachedResult, freshnessOf, type ResultCache } from "../cache/mod.ts";
import type { SecurityProvider } from "../policy/guard.ts";
import { type MetricsRecorder, NO_METRICS } from "../telemetry/metrics.ts";
import { isPlainObject } from "../query/request.ts";
import { parseQuery } from "../sql/parse.ts";
import { queryCacheKey } from "../sql/cache_key.ts";
import type { AppEnv } from "./env.ts";

/** Computes the key part that stands for a user's effective entitlements. */
export type FingerprintOf = (tenantId: string, user: UserClaims) => string | Promise<string>;

/** Options of {@link resultCache}. */
export interface ResultCacheOptions {
  /** The result cache of each residency zone. */
  caches: Record<string, ResultCache>;
  /** The tenant's zone and settings (TTL, default `max_staleness_ms`). */
  tenant: (tenantId: string) => Promise<{ zone: string; settings: TenantSettings } | undefined>;
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
 * Middleware serving and filling the result cache (a pass-through without options, for apps
 * built without one).
 *
 * @example
 * ```ts ignore
 * app.post("/v1/query", queryRequest(), rateLimit({ limiter }),
 *   resultCache({ caches, tenant: (id) => catalog.getTenant(id) }), runQuery(runner));
 * ```
 */
export function resultCache(
  options?: ResultCacheOptions,
  metrics: Pick<MetricsRecorder, "cacheHit" | "cacheMiss"> = NO_METRICS,
): MiddlewareHandler<AppEnv> {
  if (!options) {
    return async function noResultCache(_c, next) {
      await next();
    };
  }
  const fingerprintOf = options.fingerprint ?? guardFingerprint();
  return async function resultCacheMiddleware(c, next) {
    const started = performance.now();
    const request = c.get("query");
    const user = c.get("user");
    if (request.metadata.async || /^\s*explain\b/i.test(request.sql)) return await next();
    const tenant = await options.tenant(user.tenant);
    const cache = tenant ? options.caches[tenant.zone] : undefined;
    if (!tenant || !cache) return await next();

    const { ttlMs, maxStalenessMs } = freshnessOf(tenant.settings);
    const maxStaleness = Math.min(request.metadata.max_staleness_ms ?? maxStalenessMs, ttlMs);
    // The key comes from the parse tree; SQL that does not parse is never cached (the worker
    // answers it with PLAN_FAILED).
    const query = cacheKeyOf(request.sql);
    if (query === undefined) return await next();
    const fingerprint = await fingerprintOf(user.tenant, user);
    if (maxStaleness > 0) {
      const hit = await cache.get(user.tenant, fingerprint, query);
      const fresh = hit != null && Date.now() - hit.oldestDataAt <= maxStaleness;
      metrics[fresh ? "cacheHit" : "cacheMiss"]("result");
      if (hit && fresh) {
        const budget = c.get("budget");
        c.set("answerSummary", {
          tables: Array.isArray(hit.body.sources)
            ? (hit.body.sources as { table?: string }[]).map((s) => String(s.table))
            : [],
          rows: Array.isArray(hit.body.rows) ? hit.body.rows.length : 0,
        });
        return c.json(answerFromCache(hit, c.get("traceId"), budget, performance.now() - started));
      }
    }

    await next();
    if (c.res.status !== 200) return;
    const body = await c.res.clone().json().catch(() => undefined);
    if (isPlainObject(body)) await cache.put(user.tenant, fingerprint, query, body, ttlMs);
  };
}

/** Parsed keys of recent SQL texts: a repeated query (the cached path) is not parsed again. */
const KEYS_REMEMBERED = 1024;
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
  if (recentKeys.size >= KEYS_REMEMBERED) recentKeys.delete(recentKeys.keys().next().value!);
  recentKeys.set(sql, key);
  return key;
}

function answerFromCache(
  hit: CachedResult,
  traceId: string,
  budget: unknown,
  elapsedMs: number,
): Record<string, unknown> {
  const now = Date.now();
  const sources = Array.isArray(hit.body.sources)
    ? (hit.body.sources as Record<string, unknown>[])
    : [];
  return {
    ...hit.body,
    freshness_ms: now - hit.oldestDataAt,
    from_cache: true,
    // Nothing was spent at a source: the caller's own budget is the one that bound this query.
    rate_limit_status: budget ?? hit.body.rate_limit_status,
    trace_id: traceId,
    timing: {
      total_ms: Math.round(elapsedMs * 10) / 10,
      planning_ms: 0,
      fetch_ms: 0,
      security_ms: 0,
      duckdb_ms: 0,
    },
    sources: sources.map((s, i) => ({
      ...s,
      from_cache: true,
      freshness_ms: now - (hit.sourceFetchedAt[i] ?? hit.oldestDataAt),
      calls: 0,
      revalidated: 0,
      pages: 0,
      fetch_ms: 0,
    })),
  };
}
