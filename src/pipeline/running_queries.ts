/**
 * The queries a zone runs for the edge, by who asked and their trace id: what the edge's cancel
 * stops when the caller leaves (a disconnect, a Postgres cancel request). The edge keeps waiting
 * for the query's own answer, which says it is on record; the cancel only makes it come sooner.
 *
 * @module
 */
import type { UserClaims } from "../auth/user_token.ts";
import { OmniError } from "../errors.ts";

/** A running query's registration. */
export interface RunningQuery {
  /** Aborts when the query is cancelled. */
  signal: AbortSignal;
  /** Ends the registration (the query answered, whatever the outcome). */
  done(): void;
}

/**
 * Running queries by tenant, user and trace id. A trace id is the caller's to choose, so one
 * user's cancel reaches only their own queries of that id.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { RunningQueries } from "./running_queries.ts";
 * const running = new RunningQueries();
 * const dev = { sub: "dev@acme.com", tenant: "acme" };
 * const query = running.start(dev, "t-1");
 * assert.equal(running.cancel({ ...dev, sub: "qa@acme.com" }, "t-1"), 0);
 * assert.equal(running.cancel(dev, "t-1"), 1);
 * assert.equal(query.signal.aborted, true);
 * query.done();
 * assert.equal(running.cancel(dev, "t-1"), 0);
 * ```
 */
export class RunningQueries {
  readonly #running = new Map<string, Set<AbortController>>();

  /** Registers a query; call `done` once it has answered. */
  start(user: UserClaims, traceId: string): RunningQuery {
    const key = keyOf(user, traceId);
    const controller = new AbortController();
    let same = this.#running.get(key);
    if (!same) this.#running.set(key, same = new Set());
    same.add(controller);
    return {
      signal: controller.signal,
      done: () => {
        same.delete(controller);
        if (same.size === 0 && this.#running.get(key) === same) this.#running.delete(key);
      },
    };
  }

  /** Cancels the user's running queries of this trace id; returns how many. */
  cancel(user: UserClaims, traceId: string): number {
    const same = this.#running.get(keyOf(user, traceId));
    if (!same) return 0;
    const reason = new OmniError(
      "INVALID_REQUEST",
      "the caller cancelled the query or left before its answer",
    );
    for (const controller of same) controller.abort(reason);
    return same.size;
  }
}

function keyOf(user: UserClaims, traceId: string): string {
  return JSON.stringify([user.tenant, user.sub, traceId]);
}
