/**
 * Source budgets, in the worker, as a `SourceMiddleware` around the app fetch. Two limits:
 *
 * - **the app's own**, read from its rate-limit headers after every fetch (GitHub
 *   `x-ratelimit-*`, Jira `Retry-After`/`X-RateLimit-*`, …, parsed by each connector into
 *   `RateLimitInfo`): once a connection's remaining calls reach the reserve, or the app asked to
 *   wait, the next fetch is refused here — 429 naming the level `source`, with the wait until the
 *   app's reset — before the app would refuse it;
 * - **the tenant's quota** for the connection, if its settings configure one (`budgets.source`
 *   or `rateLimits.sourcePerMinute[connector]`), counted in app calls.
 *
 * Failure policy: the app's reading is closed (a known-spent budget refuses, even though the
 * reading is only as recent as the last fetch); with no reading yet, the fetch goes ahead and the
 * app's own answer is the limit. The tenant's quota is counted by the zone's limiter and follows
 * its policy (the Upstash limiter fails open).
 *
 * @module
 */
import type { RateLimitInfo } from "../../connectors/sdk/connector.ts";
import type { TenantSettings } from "../catalog/schema.ts";
import { OmniError } from "../errors.ts";
import type { SourceMiddleware } from "../source/fetch.ts";
import { budgetSpent } from "./budgets.ts";
import type { RateLimiter } from "./limiter.ts";
import { sourceBudgetOf } from "./tenant_budgets.ts";

/** Options of {@link sourceBudget}. */
export interface SourceBudgetOptions {
  /** Counts the tenants' configured per-connection quotas. */
  limiter: RateLimiter;
  /** The tenant's settings, for its configured quotas. @default none configured */
  settings?: (tenantId: string) => Promise<TenantSettings | undefined>;
  /** Share of an app's limit kept in reserve. @default 0.05 */
  reserveFraction?: number;
  /** Calls kept in reserve at least. @default 1 */
  reserveMin?: number;
}

interface Reading {
  remaining?: number;
  limit?: number;
  resetAt?: number;
  /** The app asked not to call before this time (Retry-After, a refusal). */
  blockedUntil?: number;
}

/** A wait assumed when an app refuses without saying how long. */
const UNKNOWN_WAIT_MS = 60_000;

/**
 * Builds the source-budget middleware.
 *
 * @example
 * ```ts ignore
 * const mw = sourceBudget({ limiter: new MemoryRateLimiter(), settings });
 * const service = new QueryService({ ...options, sourceMiddleware: [cache, mw] });
 * ```
 */
export function sourceBudget(options: SourceBudgetOptions): SourceMiddleware {
  const readings = new Map<string, Reading>();
  const fraction = options.reserveFraction ?? 0.05;
  const reserveMin = options.reserveMin ?? 1;

  return (next) =>
    async function budgetedSourceFetch(source, ctx) {
      const key = `${ctx.tenantId}:${source.connection.id}`;
      const now = Date.now();
      const reading = readings.get(key);
      if (reading?.blockedUntil && reading.blockedUntil > now) {
        throw budgetSpent("source", undefined, reading.blockedUntil - now, appBudget(source));
      }
      if (
        reading?.remaining !== undefined && reading.resetAt !== undefined &&
        reading.resetAt > now &&
        reading.remaining <= Math.max(reserveMin, Math.ceil((reading.limit ?? 0) * fraction))
      ) {
        // No count of the calls left: it moves with every user's calls through the connection,
        // those of a user the policy keeps from counting them included.
        throw budgetSpent(
          "source",
          undefined,
          reading.resetAt - now,
          `${appBudget(source)} (all but the reserve OmniSQL keeps)`,
        );
      }

      const quota = sourceBudgetOf(
        await options.settings?.(ctx.tenantId),
        source.connection.connector,
      );
      const quotaKey = `source:${key}`;
      let quotaLeft: { remaining: number; reset: number } | undefined;
      if (quota) {
        const r = await options.limiter.limit(quotaKey, quota);
        if (!r.success) {
          throw budgetSpent(
            "source",
            quota,
            r.reset - now,
            `the tenant's quota for ${source.connection.name}`,
          );
        }
        quotaLeft = r;
      }

      try {
        const fetched = await next(source, ctx);
        if (fetched.rateLimit) readings.set(key, readingOf(fetched.rateLimit));
        if (quota && fetched.calls > 1) {
          // The quota counts calls: charge the rest now the fetch said how many it made.
          quotaLeft = await options.limiter.limit(quotaKey, quota, fetched.calls - 1);
        }
        return quotaLeft
          ? { ...fetched, rateLimit: tighter(fetched.rateLimit, quotaLeft) }
          : fetched;
      } catch (err) {
        if (err instanceof OmniError && err.code === "RATE_LIMIT_EXHAUSTED") {
          readings.set(key, {
            ...readings.get(key),
            blockedUntil: Date.now() + (err.retryAfterMs ?? UNKNOWN_WAIT_MS),
          });
          if (err.details?.level !== "source") {
            throw new OmniError("RATE_LIMIT_EXHAUSTED", err.message, {
              retryAfterMs: err.retryAfterMs,
              details: { ...err.details, level: "source" },
              cause: err,
            });
          }
        }
        throw err;
      }
    };
}

function appBudget(source: { connection: { name: string } }): string {
  return `${source.connection.name}'s API budget`;
}

function readingOf(info: RateLimitInfo): Reading {
  const reading: Reading = { remaining: info.remaining, limit: info.limit, resetAt: info.resetAt };
  if (info.retryAfterMs) reading.blockedUntil = Date.now() + info.retryAfterMs;
  return reading;
}

/** The app's reading or the tenant's quota, whichever has less left. */
function tighter(
  app: RateLimitInfo | undefined,
  quota: { remaining: number; reset: number },
): RateLimitInfo {
  if (app?.remaining !== undefined && app.remaining <= quota.remaining) return app;
  return { ...app, remaining: quota.remaining, resetAt: quota.reset };
}
