/**
 * A zone's async jobs: submission, the owner's view and cancellation, and the runner that takes
 * queued jobs of the zone from the catalog and runs them through the zone's `QueryService` —
 * so a job gets the same admission, security, caching and audit as a synchronous query.
 *
 * A job survives its worker: it is queued in the catalog, a running job's lease is renewed while
 * it runs, a worker that stops puts its jobs back in the queue, and a worker that died loses its
 * jobs to the next runner once their lease expires.
 *
 * @module
 */
import type { UserClaims } from "../auth/user_token.ts";
import { completeFromDirectory } from "../auth/directory.ts";
import { PASSTHROUGH_CLAIM, withPassthroughClaim } from "../policy/passthrough.ts";
import type { Catalog } from "../catalog/store.ts";
import type { TenantRow } from "../catalog/schema.ts";
import type { CatalogDatabase } from "../catalog/db.ts";
import { loggableError, OmniError, toOmniError } from "../errors.ts";
import type { QueryRequest } from "../query/request.ts";
import type { QueryService } from "../query/service.ts";
import type { JobProgress } from "./progress.ts";
import { type ClaimedJob, type JobShares, JobStore, type JobView } from "./store.ts";
import { processLog } from "../telemetry/log.ts";
import type { Notifier } from "../notify/notifier.ts";

/** Options of {@link JobQueue}. */
export interface JobQueueOptions {
  catalog: Catalog;
  /**
   * The zone's store, where jobs and their results live (`ZONE_<NAME>_DATABASE_URL`): a
   * tenant's async SQL and results stay in its zone. @default the catalog's database
   */
  db?: CatalogDatabase;
  service: QueryService;
  /** The progress counters the service's source middleware feeds. */
  progress?: JobProgress;
  /**
   * Jobs run at once by this worker. A tenant's fair share of the zone's running jobs is
   * `max(1, concurrency − 1)` and a user's `max(1, tenant share − 1)`, as in the engine pool.
   * @default 2
   */
  concurrency?: number;
  /** How often the queue is polled when idle, ms. @default 1000 */
  pollMs?: number;
  /** How long a claim lasts without renewal, ms. @default 30000 */
  leaseMs?: number;
  /** Claims of one job before it is failed (a job that keeps killing workers). @default 3 */
  maxAttempts?: number;
  /** Posts `metadata.notify_url` notifications when jobs end. @default notify_url refused */
  notifier?: Notifier;
}

/** The answer to an async submission (`202`). */
export interface JobSubmitted {
  job_id: string;
  status: "queued";
  status_url: string;
  trace_id: string;
}

const SHUTDOWN = "worker shutting down";

/**
 * A zone's job queue and runner.
 *
 * @example
 * ```ts ignore
 * const jobs = new JobQueue({ catalog, service, progress });
 * jobs.start();
 * const { job_id } = await jobs.submit(user, { sql: "SELECT 1", metadata: {} }, "trace-1");
 * await jobs.stop();
 * ```
 */
export class JobQueue {
  readonly store: JobStore;
  readonly #catalog: Catalog;
  readonly #service: QueryService;
  readonly #progress?: JobProgress;
  readonly #concurrency: number;
  readonly #shares: JobShares;
  readonly #pollMs: number;
  readonly #leaseMs: number;
  readonly #maxAttempts: number;
  readonly #notifier?: Notifier;
  // Host and process first, so an operator (or a test) can tell which instance holds a job.
  readonly #runnerId = `${Deno.hostname()}/${Deno.pid}/${crypto.randomUUID()}`;
  readonly #active = new Map<string, { controller: AbortController; done: Promise<void> }>();
  #timer?: ReturnType<typeof setTimeout>;
  #running = false;
  #filling = false;

  constructor(options: JobQueueOptions) {
    this.store = new JobStore(options.catalog, options.db);
    this.#catalog = options.catalog;
    this.#service = options.service;
    this.#progress = options.progress;
    this.#concurrency = options.concurrency ?? 2;
    this.#pollMs = options.pollMs ?? 1_000;
    this.#leaseMs = options.leaseMs ?? 30_000;
    this.#maxAttempts = options.maxAttempts ?? 3;
    this.#notifier = options.notifier;
    if (!(this.#concurrency >= 1)) throw new RangeError("concurrency must be at least 1");
    const tenant = Math.max(1, this.#concurrency - 1);
    this.#shares = { tenant, user: Math.max(1, tenant - 1) };
    if (!(this.#leaseMs >= 100)) throw new RangeError("leaseMs must be at least 100");
  }

  /** The zone this queue serves. */
  get zone(): string {
    return this.#service.zone;
  }

  /**
   * Queues a query for the user (a tenant of this zone); runs it soon. A caller that has read
   * the tenant row passes it (it is not read again); `door` names the way the job came in.
   */
  async submit(
    user: UserClaims,
    request: QueryRequest,
    traceId: string,
    options: { tenant?: TenantRow; door?: string } = {},
  ): Promise<JobSubmitted> {
    let tenantId: string;
    if (options.tenant) {
      this.#service.admitTenant(options.tenant);
      tenantId = options.tenant.id;
    } else tenantId = await this.#service.admit(user);
    const notifyUrl = request.metadata.notify_url;
    if (notifyUrl !== undefined) {
      if (!this.#notifier) {
        throw new OmniError("INVALID_REQUEST", "this deployment sends no job notifications", {
          details: { field: "metadata.notify_url", reason: "not_enabled" },
        });
      }
      await this.#notifier.check(notifyUrl);
    }
    const { async: _, ...metadata } = request.metadata;
    const id = await this.store.enqueue({
      zone: this.zone,
      tenantId,
      user,
      request: { sql: request.sql, metadata },
      traceId,
      door: options.door,
    });
    this.#fill();
    return { job_id: id, status: "queued", status_url: `/v1/jobs/${id}`, trace_id: traceId };
  }

  /**
   * The user's job; `NOT_FOUND` when it is not theirs, never existed or expired. A succeeded
   * job's result is handed out only while the user's entitlements are those it was read under:
   * otherwise `ENTITLEMENT_DENIED` (details `reason: "entitlements_changed"` and the job's
   * status), and the query is to be submitted again.
   */
  async get(user: UserClaims, id: string): Promise<JobView> {
    const { view, answer } = found(id, await this.store.read(id, user));
    if (!answer) return view;
    // Whatever keeps the entitlements from being computed (a claim the policy now refuses, a
    // policy that no longer validates, the catalog down) withholds the rows too.
    const now = await this.#entitlementsNow(user, answer.claims);
    if (answer.entitlements === undefined || answer.entitlements !== now) {
      throw new OmniError(
        "ENTITLEMENT_DENIED",
        `your entitlements changed since job ${view.job_id} ran, so its result is withheld: ` +
          "submit the query again",
        { details: { job_id: view.job_id, status: view.status, reason: "entitlements_changed" } },
      );
    }
    return { ...view, result: answer.result };
  }

  /**
   * The fingerprint of the reader's entitlements now, from the claims a live query of theirs
   * would have: completed from the tenant's directory as the identify step does. The passthrough
   * token is the user's own credential, not an entitlement (the guard only notes that one was
   * used): the reader is taken to hold the one the job ran with.
   */
  async #entitlementsNow(reader: UserClaims, ranWith: UserClaims): Promise<string> {
    const completed = completeFromDirectory(
      reader,
      await this.#catalog.getUser(reader.tenant, reader.sub),
    );
    const token = ranWith[PASSTHROUGH_CLAIM];
    const claims = withPassthroughClaim(completed, typeof token === "string" ? token : undefined);
    return await this.#service.entitlements(reader.tenant, claims);
  }

  /**
   * Cancels the user's job, aborting its in-flight source calls if it runs here; answers its
   * view without a result (`get` hands that out).
   */
  async cancel(user: UserClaims, id: string): Promise<JobView> {
    const before = found(id, await this.store.view(id, user));
    const view = found(id, await this.store.cancel(id, user));
    this.#active.get(id)?.controller.abort(cancelled());
    if (before.status !== view.status && view.status === "cancelled") {
      await this.#notify(user.tenant, view);
    }
    return view;
  }

  /** Posts the job's end to its `notify_url`, in the background. */
  async #notify(tenantId: string, view: JobView): Promise<void> {
    if (!this.#notifier) return;
    const url = await this.store.notifyUrlOf(view.job_id);
    if (!url) return;
    void this.#notifier.send({
      tenantId,
      url,
      event: "job.finished",
      traceId: view.trace_id,
      payload: {
        type: "job.finished",
        job_id: view.job_id,
        status: view.status,
        trace_id: view.trace_id,
        finished_at: view.finished_at ?? null,
        status_url: `/v1/jobs/${view.job_id}`,
        ...(view.error ? { error: { code: view.error.code, message: view.error.message } } : {}),
      },
    });
  }

  /** After this runner finished a job: notifies the status the job ended with. */
  async #notifyFinished(job: ClaimedJob): Promise<void> {
    if (!this.#notifier || job.request.metadata.notify_url === undefined) return;
    const view = await this.store.view(job.id, job.user);
    // A job cancelled meanwhile was notified by the cancel; a released one has not ended.
    if (view && (view.status === "succeeded" || view.status === "failed")) {
      await this.#notify(job.tenantId, view);
    }
  }

  /** Starts taking jobs (including those a previous worker left). */
  start(): void {
    if (this.#running) return;
    this.#running = true;
    const tick = () => {
      if (!this.#running) return;
      this.#fill();
      this.store.purgeExpired().catch((err) => log("job purge failed", err));
      this.#timer = setTimeout(tick, this.#pollMs);
    };
    tick();
  }

  /** Stops taking jobs; running ones are aborted and put back in the queue for the next worker. */
  async stop(): Promise<void> {
    this.#running = false;
    clearTimeout(this.#timer);
    for (const { controller } of this.#active.values()) controller.abort(new Error(SHUTDOWN));
    await Promise.all([...this.#active.values()].map((a) => a.done));
  }

  /** Claims jobs until the runner is full or the queue is empty. */
  #fill(): void {
    if (!this.#running || this.#filling) return;
    this.#filling = true;
    (async () => {
      try {
        while (this.#running && this.#active.size < this.#concurrency) {
          const job = await this.store.claim(
            this.zone,
            this.#runnerId,
            this.#leaseMs,
            this.#shares,
          );
          if (!job) break;
          if (!this.#running) {
            await this.store.release(job.id, this.#runnerId);
            break;
          }
          this.#launch(job);
        }
      } catch (err) {
        log("job claim failed", err);
      } finally {
        this.#filling = false;
      }
    })();
  }

  #launch(job: ClaimedJob): void {
    const controller = new AbortController();
    const done = this.#run(job, controller).catch((err) => log("job update failed", err)).finally(
      () => {
        this.#active.delete(job.id);
        this.#fill();
      },
    );
    this.#active.set(job.id, { controller, done });
  }

  async #run(job: ClaimedJob, controller: AbortController): Promise<void> {
    if (job.attempts > this.#maxAttempts) {
      await this.store.fail(job, this.#runnerId, {
        code: "REGION_UNAVAILABLE",
        message: `the job was interrupted ${job.attempts - 1} times and was given up`,
      }).catch((err) => log("job update failed", err));
      await this.#notifyFinished(job).catch((err) => log("job notification failed", err));
      return;
    }
    let latest: Parameters<JobStore["heartbeat"]>[3];
    const untrack = this.#progress?.track(job.traceId, (counts) => {
      latest = counts;
      void beat();
    });
    const beat = async () => {
      try {
        const state = await this.store.heartbeat(job.id, this.#runnerId, this.#leaseMs, latest);
        if (state === "cancelled") controller.abort(cancelled());
        if (state === "lost") controller.abort(new Error("lease lost"));
      } catch (err) {
        log("job heartbeat failed", err);
      }
    };
    const heartbeat = setInterval(beat, Math.max(50, Math.floor(this.#leaseMs / 3)));
    try {
      const answer = await this.#service.run({
        user: job.user,
        request: job.request,
        traceId: job.traceId,
        signal: controller.signal,
        door: job.door,
      });
      await this.store.succeed(job, this.#runnerId, answer, latest);
    } catch (err) {
      const reason = controller.signal.reason;
      if (controller.signal.aborted && reason instanceof Error && reason.message === SHUTDOWN) {
        await this.store.release(job.id, this.#runnerId);
      } else if (!controller.signal.aborted || reason instanceof OmniError) {
        // A cancelled job's row already says so: #finish only touches running jobs.
        await this.store.fail(job, this.#runnerId, toOmniError(err).toBody().error, latest);
      }
    } finally {
      clearInterval(heartbeat);
      untrack?.();
    }
    await this.#notifyFinished(job).catch((err) => log("job notification failed", err));
  }
}

function found<T>(id: string, job: T | undefined): T {
  if (!job) throw new OmniError("NOT_FOUND", `no job ${id}`);
  return job;
}

function cancelled(): OmniError {
  return new OmniError("INVALID_REQUEST", "the job was cancelled by its owner");
}

function log(msg: string, err: unknown) {
  processLog.error(msg, { error: loggableError(err) });
}
