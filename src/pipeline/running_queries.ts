/**
 * The queries a zone runs for the edge, by who asked and their trace id: what the edge's cancel
 * stops when the caller leaves (a disconnect, a Postgres cancel request). The edge keeps waiting
 * for the query's own answer, which says it is on record; the cancel only makes it come sooner.
 *
 * Behind one load-balanced zone address the cancel may reach an instance that does not run the
 * query: that instance passes it on the deployment's notice bus, and the instance that runs it
 * stops it there.
 *
 * @module
 */
import { createHash } from "node:crypto";
import type { UserClaims } from "../auth/user_token.ts";
import type { NoticeBus } from "../cache/notices.ts";
import { loggableError, OmniError } from "../errors.ts";
import { processLog } from "../telemetry/log.ts";

/** A running query's registration. */
export interface RunningQuery {
  /** Aborts when the query is cancelled. */
  signal: AbortSignal;
  /** Ends the registration (the query answered, whatever the outcome). */
  done(): void;
}

/** Options of {@link RunningQueries}. */
export interface RunningQueriesOptions {
  /**
   * The deployment's notice bus: a cancel for a query not running here goes on it, and those of
   * the other instances are heard from it. @default none: a cancel stops this instance's only
   */
  notices?: NoticeBus;
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
 * assert.equal(await running.cancel({ ...dev, sub: "qa@acme.com" }, "t-1"), 0);
 * assert.equal(await running.cancel(dev, "t-1"), 1);
 * assert.equal(query.signal.aborted, true);
 * query.done();
 * assert.equal(await running.cancel(dev, "t-1"), 0);
 * ```
 */
export class RunningQueries {
  /** By {@link queryDigest}. */
  readonly #running = new Map<string, Set<AbortController>>();
  readonly #notices?: NoticeBus;

  constructor(options: RunningQueriesOptions = {}) {
    this.#notices = options.notices;
    this.#notices?.subscribe((notice) => {
      if (notice.reason === "cancelled") this.#stop(notice.query);
    });
  }

  /** Registers a query; call `done` once it has answered. */
  start(user: UserClaims, traceId: string): RunningQuery {
    const key = queryDigest(user, traceId);
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

  /**
   * Cancels the user's running queries of this trace id; returns how many ran here. When none
   * did, the cancel goes to the zone's other instances (a failure to send it is only logged: the
   * query's deadline still bounds it).
   */
  async cancel(user: UserClaims, traceId: string): Promise<number> {
    const key = queryDigest(user, traceId);
    const here = this.#stop(key);
    if (here === 0 && this.#notices) {
      await this.#notices.publish({ reason: "cancelled", tenantId: user.tenant, query: key })
        .catch((err) =>
          processLog.warn("cancel not passed on", {
            trace_id: traceId,
            error: loggableError(err),
          })
        );
    }
    return here;
  }

  #stop(key: string): number {
    const same = this.#running.get(key);
    if (!same) return 0;
    const reason = new OmniError(
      "INVALID_REQUEST",
      "the caller cancelled the query or left before its answer",
    );
    for (const controller of same) controller.abort(reason);
    return same.size;
  }
}

/** The caller and trace id of a query, as one digest: what a cancel names on the shared bus. */
function queryDigest(user: UserClaims, traceId: string): string {
  return createHash("sha256").update(JSON.stringify([user.tenant, user.sub, traceId])).digest(
    "base64url",
  );
}
