/**
 * Budgets shared by every process of a deployment, on Upstash Redis. Two kinds of window:
 *
 * - `fixed`, through `@upstash/ratelimit`, like {@link MemoryRateLimiter}: every spend is counted,
 *   even one that does not fit, as charges after the fact (an app's calls) need;
 * - `rolling`, for request budgets: each admitted request is kept with its time (a sorted set, by
 *   Redis's clock) for one window, so "30 a minute" holds exactly over any minute — never 60
 *   across a window's edge as fixed windows allow, nor 31 as `@upstash/ratelimit`'s sliding
 *   approximation can — however many edges and zone endpoints spend it. A refused request is
 *   not counted, and its wait is until the oldest request in the window leaves it.
 *
 * Failure policy: **fail open**. When Redis does not answer in time (`@upstash/ratelimit`'s own
 * timeout behaviour) or fails, the request passes and a warning is logged: an outage of the
 * budget store must not take every query down, and the apps' quotas stay protected by the
 * source level, which reads each app's own rate-limit headers in the worker and never depends on
 * this store.
 *
 * @module
 */
import { Ratelimit } from "@upstash/ratelimit";
import type { Redis } from "@upstash/redis";
import type { Budget, LimitResult, RateLimiter, Spend } from "./limiter.ts";
import { processLog } from "../telemetry/log.ts";

/**
 * Rolling windows, atomically, for one or several budgets (all or none): each key is trimmed of
 * what left its window and checked in order (KEYS[i], window ARGV[2i-1], limit ARGV[2i]); at the
 * first that cannot take the spend (ARGV[n-1], recorded as that many members named after ARGV[n])
 * nothing is recorded anywhere. Times by Redis's clock, so every instance counts alike. Answers a
 * flat list, three figures per budget checked (admitted 1/0, what remains, the ms until the
 * oldest recorded request leaves the window), the refusing one last.
 */
const ROLLING = `local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local cost = tonumber(ARGV[#ARGV - 1])
local reply = {}
for i = 1, #KEYS do
  local window = tonumber(ARGV[2 * i - 1])
  local limit = tonumber(ARGV[2 * i])
  redis.call('ZREMRANGEBYSCORE', KEYS[i], '-inf', now - window)
  local used = redis.call('ZCARD', KEYS[i])
  local oldest = redis.call('ZRANGE', KEYS[i], 0, 0, 'WITHSCORES')
  local resetIn = window
  if oldest[2] then resetIn = tonumber(oldest[2]) + window - now end
  local fits = used + cost <= limit
  table.insert(reply, fits and 1 or 0)
  table.insert(reply, fits and limit - used - cost or limit - used)
  table.insert(reply, resetIn)
  if not fits then return reply end
end
for i = 1, #KEYS do
  for j = 1, cost do redis.call('ZADD', KEYS[i], now, ARGV[#ARGV] .. ':' .. j) end
  redis.call('PEXPIRE', KEYS[i], tonumber(ARGV[2 * i - 1]))
end
return reply`;

/** Options of {@link UpstashRateLimiter}. */
export interface UpstashRateLimiterOptions {
  /** A client of the budget database (see `upstashClient` in `src/cache/`). */
  redis: Redis;
  /** Prefix of every budget key. @default "omnisql:rl" */
  prefix?: string;
  /** Longest wait for Redis before the request passes (fail open). @default 1000 */
  timeoutMs?: number;
  /** `rolling` for request budgets; `fixed` where spends are charged after the fact. @default "fixed" */
  window?: "fixed" | "rolling";
}

/**
 * A {@link RateLimiter} on Upstash Redis.
 *
 * @example
 * ```ts ignore
 * const limiter = new UpstashRateLimiter({ redis: upstashClient({ url, token }) });
 * const r = await limiter.limit("user:acme:dev@acme", { tokens: 120, windowMs: 60_000 });
 * ```
 */
export class UpstashRateLimiter implements RateLimiter {
  readonly #options: Required<UpstashRateLimiterOptions>;
  readonly #limiters = new Map<string, Ratelimit>();

  constructor(options: UpstashRateLimiterOptions) {
    this.#options = { prefix: "omnisql:rl", timeoutMs: 1000, window: "fixed", ...options };
  }

  async limit(key: string, budget: Budget, cost = 1): Promise<LimitResult> {
    try {
      if (this.#options.window === "rolling") {
        return (await this.#rolling([{ key, budget }], cost))[0];
      }
      const r = await this.#limiter(budget).limit(key, { rate: cost });
      return { success: r.success, limit: r.limit, remaining: r.remaining, reset: r.reset };
    } catch (err) {
      return failOpen([key], err)(budget);
    }
  }

  /**
   * Rolling windows: all budgets in one script, one round trip. Fixed windows count every spend,
   * even one that does not fit, so there the budgets are spent one after another, up to the
   * first that refuses. Fails open as {@link UpstashRateLimiter.limit} does.
   */
  async admit(spends: readonly Spend[]): Promise<LimitResult[]> {
    if (this.#options.window !== "rolling") {
      const results: LimitResult[] = [];
      for (const { key, budget } of spends) {
        const result = await this.limit(key, budget);
        results.push(result);
        if (!result.success) break;
      }
      return results;
    }
    try {
      return await this.#rolling(spends, 1);
    } catch (err) {
      const open = failOpen(spends.map(({ key }) => key), err);
      return spends.map(({ budget }) => open(budget));
    }
  }

  #rollingKey(key: string, budget: Budget): string {
    return `${this.#options.prefix}:rolling:${budget.tokens}/${budget.windowMs}:${key}`;
  }

  /** Spends `cost` of each budget in one script, all or none (see {@link ROLLING}). */
  async #rolling(spends: readonly Spend[], cost: number): Promise<LimitResult[]> {
    const reply = (await this.#options.redis.eval(
      ROLLING,
      spends.map(({ key, budget }) => this.#rollingKey(key, budget)),
      [
        ...spends.flatMap(({ budget }) => [String(budget.windowMs), String(budget.tokens)]),
        String(cost),
        crypto.randomUUID(),
      ],
    ) as unknown[]).map(Number);
    const checked = reply.length / 3;
    // Every budget, or those up to the one refusing: anything else is not the script's answer.
    const whole = Number.isInteger(checked) && checked >= 1 && checked <= spends.length &&
      (checked === spends.length || reply[3 * checked - 3] === 0) && !reply.some(Number.isNaN);
    if (!whole) throw new Error("the budget store's answer is malformed");
    const now = Date.now();
    return spends.slice(0, checked).map(({ budget }, i) => ({
      success: reply[3 * i] === 1,
      limit: budget.tokens,
      remaining: Math.max(0, reply[3 * i + 1]),
      reset: now + reply[3 * i + 2],
    }));
  }

  #limiter(budget: Budget): Ratelimit {
    const id = `${budget.tokens}/${budget.windowMs}`;
    let limiter = this.#limiters.get(id);
    if (!limiter) {
      limiter = new Ratelimit({
        redis: this.#options.redis,
        limiter: Ratelimit.fixedWindow(budget.tokens, `${budget.windowMs} ms`),
        // The budget is part of the key: a tenant's new budget starts a new count.
        prefix: `${this.#options.prefix}:${id}`,
        timeout: this.#options.timeoutMs,
        analytics: false,
      });
      this.#limiters.set(id, limiter);
    }
    return limiter;
  }
}

/** What budgets answer while their store cannot: the request passes, and a warning is logged. */
function failOpen(keys: readonly string[], err: unknown): (budget: Budget) => LimitResult {
  processLog.warn("budget store unavailable; request allowed (fail open)", {
    key: keys.map((key) => key.split(":")[0]).join(","),
    error: String(err),
  });
  const now = Date.now();
  return (budget) => ({
    success: true,
    limit: budget.tokens,
    remaining: budget.tokens,
    reset: now - (now % budget.windowMs) + budget.windowMs,
  });
}
