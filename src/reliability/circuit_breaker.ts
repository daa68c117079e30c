/**
 * A circuit breaker per connection, as a source-fetch middleware. After `failureThreshold`
 * consecutive failures of a source (`SOURCE_ERROR` from a 5xx, a network error or a malformed
 * reply, or `SOURCE_TIMEOUT`) the breaker opens: queries fail fast with `SOURCE_ERROR` naming the
 * source and when it will be probed again, instead of waiting on an app that is down. After
 * `openMs` it half-opens: one query probes the app (others still fail fast); success closes it,
 * failure opens it again. Answers that say the request itself is wrong (a 4xx such as bad
 * credentials or an unknown repo) and cancellations neither count nor reset the count.
 *
 * With a {@link SharedBreakerState}, the instances of a zone share when a breaker is open: one
 * that opens it tells the others, which then fail fast too instead of each finding the app down
 * on its own; a successful probe tells them it closed. A call goes by a read of that state at most
 * `sharedReadMaxAgeMs` old, which {@link CircuitBreakers.prefetch} starts as the fetch starts: the
 * read overlaps the source cache's and the budgets' round trips instead of following them.
 *
 * @module
 */
import { OmniError } from "../errors.ts";
import type { SourceMiddleware } from "../source/fetch.ts";

/** Options of {@link CircuitBreakers}. */
export interface CircuitBreakerOptions {
  /** Consecutive failures that open a breaker. @default 5 */
  failureThreshold?: number;
  /** How long a breaker stays open before a probe, ms. @default 30000 */
  openMs?: number;
  /** The clock, epoch ms (tests move it). @default Date.now */
  now?: () => number;
  /** Where the zone's instances share open breakers. @default none: this instance alone */
  shared?: SharedBreakerState;
  /**
   * How old a read of the shared state may be and still count for a call, ms (by `now`): the
   * calls and fetches within it share one read. It is how late a breaker another instance opened
   * may be seen here. @default 250
   */
  sharedReadMaxAgeMs?: number;
}

/** Where the breakers of every instance of a zone share that a connection's breaker is open. */
export interface SharedBreakerState {
  /** Until when (epoch ms) another instance opened the breaker; 0 or undefined: not open. */
  openUntil(tenantId: string, connectionId: string): Promise<number | undefined>;
  /** Tells the others the breaker is open until `until` (0: it closed), for `ttlMs`. */
  publish(tenantId: string, connectionId: string, until: number, ttlMs: number): Promise<void>;
}

/** A breaker's state. */
export type BreakerStatus = "closed" | "open" | "half_open";

/** One breaker as `/metrics` shows it. */
export interface BreakerState {
  /** The connection's id. */
  connectionId: string;
  /** The connection's schema name, e.g. `github`. */
  source: string;
  tenantId: string;
  state: BreakerStatus;
  /** Consecutive failures counted so far. */
  failures: number;
  /** When an open breaker lets a probe through, epoch ms. */
  halfOpenAt?: number;
  /** Times this breaker opened. */
  opened: number;
}

interface Breaker extends BreakerState {
  probing: boolean;
  /** The last read of the shared state: when it started (by `now`), and its end. */
  sharedRead?: { at: number; done: Promise<void> };
}

/**
 * The breakers of one worker, one per connection, and the middleware that applies them.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { CircuitBreakers } from "./circuit_breaker.ts";
 * const breakers = new CircuitBreakers({ failureThreshold: 3, openMs: 10_000 });
 * const middleware = breakers.middleware(); // put it in QueryServiceOptions.sourceMiddleware
 * assert.ok(typeof middleware === "function" && breakers.states().length === 0);
 * ```
 */
export class CircuitBreakers {
  readonly #threshold: number;
  readonly #openMs: number;
  readonly #now: () => number;
  readonly #breakers = new Map<string, Breaker>();
  readonly #shared?: SharedBreakerState;
  readonly #sharedReadMaxAgeMs: number;

  constructor(options: CircuitBreakerOptions = {}) {
    this.#threshold = options.failureThreshold ?? 5;
    this.#openMs = options.openMs ?? 30_000;
    this.#now = options.now ?? Date.now;
    this.#shared = options.shared;
    this.#sharedReadMaxAgeMs = options.sharedReadMaxAgeMs ?? 250;
    if (!(this.#threshold >= 1)) throw new RangeError("failureThreshold must be at least 1");
    if (!(this.#openMs >= 0)) throw new RangeError("openMs must not be negative");
  }

  /** Every breaker's state, for `/metrics`. */
  states(): BreakerState[] {
    return [...this.#breakers.values()].map((breaker) => {
      const { probing: _, sharedRead: __, ...state } = breaker;
      return { ...state, state: this.#current(breaker) };
    });
  }

  /**
   * A source-fetch middleware to put first in the chain, before the source cache: it starts the
   * read of the source's shared breaker state at once, so that {@link middleware}, last in the
   * chain, finds it done or in flight. Without a shared state it does nothing.
   *
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { CircuitBreakers } from "./circuit_breaker.ts";
   * const breakers = new CircuitBreakers();
   * const sourceMiddleware = [
   *   breakers.prefetch(), // first: before the source cache and the budgets
   *   breakers.middleware(), // last: around the calls to the app
   * ];
   * assert.ok(sourceMiddleware.every((m) => typeof m === "function"));
   * ```
   */
  prefetch(): SourceMiddleware {
    return (next) => (source, ctx) => {
      if (this.#shared) {
        const breaker = this.#breakerFor(source.connection);
        if (this.#current(breaker) === "closed") void this.#adopt(breaker);
      }
      return next(source, ctx);
    };
  }

  /** The source-fetch middleware applying the breakers. */
  middleware(): SourceMiddleware {
    return (next) => async (source, ctx) => {
      const breaker = this.#breakerFor(source.connection);
      if (this.#shared && this.#current(breaker) === "closed") await this.#adopt(breaker);
      const probe = this.#admit(breaker, source.key);
      try {
        const result = await next(source, ctx);
        const reopened = breaker.state !== "closed";
        this.#succeeded(breaker);
        if (reopened) this.#publish(breaker, 0);
        return result;
      } catch (err) {
        // A cancelled query, or one failed by another source, says nothing about this one.
        const cancelled = ctx.signal.aborted && !isTimeout(ctx.signal.reason);
        if (isSourceFailure(err) && !cancelled) {
          const until = breaker.halfOpenAt;
          this.#failed(breaker);
          if (breaker.state === "open" && breaker.halfOpenAt !== until) {
            this.#publish(breaker, breaker.halfOpenAt!);
          }
        } // Only the probe's own end frees the half-open slot; other calls leave it alone.
        else if (probe) breaker.probing = false;
        throw err;
      }
    };
  }

  /**
   * Takes on an open state another instance published, from a read at most
   * `sharedReadMaxAgeMs` old (one in flight counts). A store that fails is ignored. Never rejects.
   */
  #adopt(breaker: Breaker): Promise<void> {
    const now = this.#now();
    const last = breaker.sharedRead;
    if (last && last.at <= now && now - last.at <= this.#sharedReadMaxAgeMs) return last.done;
    const done = this.#shared!.openUntil(breaker.tenantId, breaker.connectionId)
      .catch(() => undefined)
      .then((until) => {
        if (!until || until <= this.#now() || this.#current(breaker) !== "closed") return;
        breaker.state = "open";
        breaker.halfOpenAt = until;
        breaker.failures = Math.max(breaker.failures, this.#threshold);
      });
    breaker.sharedRead = { at: now, done };
    return done;
  }

  #publish(breaker: Breaker, until: number): void {
    void this.#shared?.publish(breaker.tenantId, breaker.connectionId, until, this.#openMs + 1000)
      .catch(() => {});
  }

  #breakerFor(connection: { id: string; name: string; tenantId: string }): Breaker {
    let breaker = this.#breakers.get(connection.id);
    if (!breaker) {
      breaker = {
        connectionId: connection.id,
        source: connection.name,
        tenantId: connection.tenantId,
        state: "closed",
        failures: 0,
        opened: 0,
        probing: false,
      };
      this.#breakers.set(connection.id, breaker);
    }
    return breaker;
  }

  #current(breaker: Breaker): BreakerStatus {
    if (breaker.state === "open" && this.#now() >= (breaker.halfOpenAt ?? 0)) return "half_open";
    return breaker.state;
  }

  /** Lets a call through, or fails fast. */
  /** Lets a call through or throws; true when the call is the half-open probe. */
  #admit(breaker: Breaker, key: string): boolean {
    const state = this.#current(breaker);
    if (state === "closed") return false;
    if (state === "half_open" && !breaker.probing) {
      breaker.state = "half_open";
      breaker.probing = true;
      return true;
    }
    const halfOpenAt = Math.max(breaker.halfOpenAt ?? 0, this.#now());
    throw new OmniError(
      "SOURCE_ERROR",
      `${key}: the source failed ${breaker.failures} times in a row; calls are paused until ` +
        `${new Date(halfOpenAt).toISOString()}, when one probe will be let through`,
      {
        retryAfterMs: Math.max(0, halfOpenAt - this.#now()),
        details: {
          source: breaker.source,
          table: key,
          breaker: "open",
          half_open_at: new Date(halfOpenAt).toISOString(),
        },
      },
    );
  }

  #succeeded(breaker: Breaker): void {
    breaker.state = "closed";
    breaker.failures = 0;
    breaker.probing = false;
    delete breaker.halfOpenAt;
  }

  #failed(breaker: Breaker): void {
    breaker.failures++;
    const wasProbe = breaker.probing;
    breaker.probing = false;
    if (wasProbe || breaker.failures >= this.#threshold) {
      if (breaker.state !== "open") breaker.opened++;
      breaker.state = "open";
      breaker.halfOpenAt = this.#now() + this.#openMs;
    }
  }
}

/** A failure of the source itself, not of the request (4xx) nor a spent budget. */
function isSourceFailure(err: unknown): boolean {
  if (!(err instanceof OmniError)) return false;
  if (err.code === "SOURCE_TIMEOUT") return true;
  if (err.code !== "SOURCE_ERROR") return false;
  const status = err.details?.status;
  return typeof status !== "number" || status >= 500;
}

/** Whether an abort reason is a deadline passing (rather than a cancellation). */
function isTimeout(reason: unknown): boolean {
  return reason instanceof DOMException && reason.name === "TimeoutError";
}
