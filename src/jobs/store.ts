/**
 * The durable job queue: a `jobs` table in the zone's store (its own database, or the catalog's),
 * claimed with
 * `SELECT … FOR UPDATE SKIP LOCKED` so several runners of a zone never take the same job, on
 * Postgres and on the embedded PGlite alike. A runner holds a job under a lease it renews; a job
 * whose runner died (lease expired) is claimed again. Results are stored encrypted with the
 * tenant's key, sealed together with the fingerprint of the entitlements they were read under,
 * and expire with the tenant's TTL.
 *
 * @module
 */
import { PASSTHROUGH_CLAIM } from "../policy/passthrough.ts";
import { and, asc, eq, inArray, isNotNull, lt, or, type SQL, sql } from "drizzle-orm";
import type { UserClaims } from "../auth/user_token.ts";
import type { Catalog } from "../catalog/store.ts";
import type { CatalogDatabase } from "../catalog/db.ts";
import { type JobRow, jobs } from "../catalog/schema.ts";
import type { QueryRequest } from "../query/request.ts";
import type { ErrorBody } from "../errors.ts";

const SEALED_TOKEN = `${PASSTHROUGH_CLAIM}_sealed`;
/** A job's life: queued → running → succeeded | failed | cancelled. */
export type JobStatus = JobRow["status"];

/** What a job has done so far. */
export interface JobProgressCounts {
  sources_done: number;
  sources_total: number;
  pages: number;
  rows: number;
}

/** A job as its owner sees it (`GET /v1/jobs/:id`). */
export interface JobView {
  job_id: string;
  status: JobStatus;
  trace_id: string;
  created_at: string;
  finished_at?: string;
  expires_at?: string;
  progress: JobProgressCounts;
  /** The query's answer, once succeeded. */
  result?: unknown;
  /** Why it failed or was cancelled. */
  error?: ErrorBody["error"];
}

/**
 * A succeeded job's answer, as stored: the result and the entitlements it was read under.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import type { JobAnswer } from "./store.ts";
 * const answer: JobAnswer = { result: { rows: [] }, entitlements: "open" };
 * assert.equal(answer.entitlements, "open");
 * ```
 */
export interface JobAnswer {
  result: unknown;
  /** The fingerprint of the guard the job's query ran under (`QueryGuard.fingerprint`). */
  entitlements: string;
}

/**
 * A job as stored, for its owner: the view without the result, and the answer apart.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import type { StoredJob } from "./store.ts";
 * const queued: StoredJob = {
 *   view: {
 *     job_id: "j",
 *     status: "queued",
 *     trace_id: "t",
 *     created_at: "2026-01-01T00:00:00.000Z",
 *     progress: { sources_done: 0, sources_total: 0, pages: 0, rows: 0 },
 *   },
 * };
 * assert.equal(queued.answer, undefined);
 * ```
 */
export interface StoredJob {
  /** Status, progress and error; never the result. */
  view: JobView;
  /** A succeeded job's answer, and the claims it ran with (for checking who may read it). */
  answer?: {
    result: unknown;
    /** Absent for an answer stored before entitlements were recorded: it cannot be checked. */
    entitlements?: string;
    claims: UserClaims;
  };
}

/** A claimed job, ready to run. */
export interface ClaimedJob {
  id: string;
  tenantId: string;
  traceId: string;
  user: UserClaims;
  request: QueryRequest;
  /** The door the job was submitted through (`http`, `pg`, `mcp`), for its audit record. */
  door?: string;
  attempts: number;
}

/** How many running jobs of the zone a tenant, and one of its users, hold before others go first. */
export interface JobShares {
  tenant: number;
  user: number;
}

/** Default lifetime of a finished job's row and result: the tenant's TTL when it sets none. */
export const DEFAULT_JOB_TTL_MS = 15 * 60_000;

const EMPTY_PROGRESS: JobProgressCounts = { sources_done: 0, sources_total: 0, pages: 0, rows: 0 };

/**
 * The jobs table's operations.
 *
 * @example
 * ```ts ignore
 * const store = new JobStore(catalog);
 * const id = await store.enqueue({ zone: "us", tenantId: "acme", user, request, traceId });
 * const job = await store.claim("us", "runner-1", 30_000);
 * ```
 */
export class JobStore {
  readonly #catalog: Catalog;
  readonly #db: CatalogDatabase;

  /**
   * @param db The zone's store, where the jobs (their SQL, claims and encrypted results) live:
   * the zone's own database (`ZONE_<NAME>_DATABASE_URL`), else the catalog's.
   */
  constructor(catalog: Catalog, db: CatalogDatabase = catalog.db) {
    this.#catalog = catalog;
    this.#db = db;
  }

  /** Queues a job; returns its id. */
  async enqueue(input: {
    zone: string;
    tenantId: string;
    user: UserClaims;
    request: QueryRequest;
    traceId: string;
    door?: string;
  }): Promise<string> {
    const id = crypto.randomUUID();
    const claims = await this.#sealClaims(input.tenantId, input.user);
    await this.#db.insert(jobs).values({
      id,
      tenantId: input.tenantId,
      userEmail: input.user.sub,
      zone: input.zone,
      traceId: input.traceId,
      status: "queued",
      // The door rides with the request: the record written when the job runs names it.
      request: { ...input.request, ...(input.door ? { door: input.door } : {}) },
      claims,
      progress: { ...EMPTY_PROGRESS },
    });
    return id;
  }

  // A user's own app token (passthrough) is a credential: stored only encrypted with the tenant key.
  async #sealClaims(tenantId: string, user: UserClaims): Promise<Record<string, unknown>> {
    const { [PASSTHROUGH_CLAIM]: token, ...rest } = user;
    if (typeof token !== "string") return rest;
    return { ...rest, [SEALED_TOKEN]: await this.#catalog.keyRing.encrypt(tenantId, token) };
  }

  async #openClaims(tenantId: string, stored: Record<string, unknown>): Promise<UserClaims> {
    const { [SEALED_TOKEN]: sealed, ...rest } = stored;
    const claims = rest as unknown as UserClaims;
    if (typeof sealed !== "string") return claims;
    const token = await this.#catalog.keyRing.decryptText(tenantId, sealed);
    return { ...claims, [PASSTHROUGH_CLAIM]: token };
  }

  /**
   * Takes the zone's next job fairly: the oldest queued job (or one whose runner's lease
   * expired) whose tenant holds fewer running jobs in the zone than `shares.tenant` and whose
   * user fewer than `shares.user`; failing that, the oldest whose tenant is under its share, then
   * whose user is, then the oldest. So one user's (or tenant's) backlog delays another's job by at
   * most one job's run, yet a lone user still gets every free runner slot.
   */
  async claim(
    zone: string,
    runnerId: string,
    leaseMs: number,
    shares: JobShares = { tenant: 1, user: 1 },
  ): Promise<ClaimedJob | undefined> {
    const row = await this.#db.transaction(async (tx) => {
      const [candidate] = await tx.select({ id: jobs.id }).from(jobs)
        .where(and(
          eq(jobs.zone, zone),
          or(
            eq(jobs.status, "queued"),
            and(eq(jobs.status, "running"), lt(jobs.leaseUntil, sql`now()`)),
          ),
        ))
        .orderBy(
          sql`${runningOf(sql`held.tenant_id = ${jobs.tenantId}`)} >= ${shares.tenant}`,
          sql`${
            runningOf(
              sql`held.tenant_id = ${jobs.tenantId} and held.user_email = ${jobs.userEmail}`,
            )
          } >= ${shares.user}`,
          asc(jobs.createdAt),
        )
        .limit(1)
        .for("update", { skipLocked: true });
      if (!candidate) return undefined;
      const [claimed] = await tx.update(jobs).set({
        status: "running",
        lockedBy: runnerId,
        leaseUntil: inMs(leaseMs),
        attempts: sql`${jobs.attempts} + 1`,
      }).where(eq(jobs.id, candidate.id)).returning();
      return claimed;
    });
    if (!row) return undefined;
    return {
      id: row.id,
      tenantId: row.tenantId,
      traceId: row.traceId,
      user: await this.#openClaims(row.tenantId, row.claims),
      ...requestAndDoor(row.request),
      attempts: row.attempts,
    };
  }

  /**
   * Renews a runner's lease and records progress; answers what became of the job meanwhile
   * (`cancelled` by its owner, or `lost` to another runner after the lease expired).
   */
  async heartbeat(
    id: string,
    runnerId: string,
    leaseMs: number,
    progress?: JobProgressCounts,
  ): Promise<"running" | "cancelled" | "lost"> {
    const [row] = await this.#db.update(jobs).set({
      leaseUntil: inMs(leaseMs),
      ...(progress ? { progress: { ...progress } } : {}),
    }).where(and(eq(jobs.id, id), eq(jobs.lockedBy, runnerId), eq(jobs.status, "running")))
      .returning({ id: jobs.id });
    if (row) return "running";
    const [now] = await this.#db.select({ status: jobs.status }).from(jobs)
      .where(eq(jobs.id, id));
    return now?.status === "cancelled" ? "cancelled" : "lost";
  }

  /**
   * Stores a finished job's answer, encrypted with the tenant's key — the entitlements sealed
   * with the result, so they cannot be swapped apart from it — with its final progress
   * (heartbeats carrying progress run concurrently and may land out of order).
   */
  async succeed(
    job: ClaimedJob,
    runnerId: string,
    answer: JobAnswer,
    progress?: JobProgressCounts,
  ): Promise<void> {
    const sealed: JobAnswer = { entitlements: answer.entitlements, result: answer.result };
    const token = await this.#catalog.keyRing.encrypt(job.tenantId, JSON.stringify(sealed));
    const ttlMs = await this.#ttlMs(job.tenantId);
    await this.#finish(job.id, runnerId, {
      status: "succeeded",
      resultEnc: token,
      ...(progress ? { progress: { ...progress } } : {}),
    }, ttlMs);
  }

  /** Records why a job failed, with its final progress. */
  async fail(
    job: ClaimedJob,
    runnerId: string,
    error: ErrorBody["error"],
    progress?: JobProgressCounts,
  ): Promise<void> {
    const ttlMs = await this.#ttlMs(job.tenantId);
    await this.#finish(job.id, runnerId, {
      status: "failed",
      error: { ...error },
      ...(progress ? { progress: { ...progress } } : {}),
    }, ttlMs);
  }

  /** Puts a job its runner is giving up (shutting down) back in the queue. */
  async release(id: string, runnerId: string): Promise<void> {
    await this.#db.update(jobs).set({ status: "queued", lockedBy: null, leaseUntil: null })
      .where(and(eq(jobs.id, id), eq(jobs.lockedBy, runnerId), eq(jobs.status, "running")));
  }

  /** Cancels the owner's unfinished job; returns its view, or undefined when not theirs. */
  async cancel(id: string, user: UserClaims): Promise<JobView | undefined> {
    const owned = await this.#owned(id, user);
    if (!owned) return undefined;
    const ttlMs = await this.#ttlMs(owned.tenantId);
    await this.#db.update(jobs).set({
      status: "cancelled",
      error: { code: "INVALID_REQUEST", message: "the job was cancelled by its owner" },
      finishedAt: sql`now()`,
      expiresAt: inMs(ttlMs),
    }).where(and(eq(jobs.id, id), inArray(jobs.status, ["queued", "running"])));
    return await this.view(id, user);
  }

  /** The URL a job's end is notified to (`metadata.notify_url`), if any. */
  async notifyUrlOf(id: string): Promise<string | undefined> {
    const [row] = await this.#db.select({ request: jobs.request }).from(jobs)
      .where(eq(jobs.id, id));
    const metadata = row?.request.metadata as { notify_url?: unknown } | undefined;
    return typeof metadata?.notify_url === "string" ? metadata.notify_url : undefined;
  }

  /** Cancels every unfinished job of a tenant (off-boarding); returns how many. */
  async cancelTenant(tenantId: string): Promise<number> {
    const cancelled = await this.#db.update(jobs)
      .set({ status: "cancelled", finishedAt: sql`now()` })
      .where(and(eq(jobs.tenantId, tenantId), inArray(jobs.status, ["queued", "running"])))
      .returning({ id: jobs.id });
    return cancelled.length;
  }

  /**
   * The owner's job without its result, or undefined when it does not exist, expired or is
   * someone else's.
   */
  async view(id: string, user: UserClaims): Promise<JobView | undefined> {
    const row = await this.#owned(id, user);
    return row ? viewOf(row) : undefined;
  }

  /**
   * The owner's job with its answer opened (a succeeded job's), or undefined when it does not
   * exist, expired or is someone else's. The answer is the caller's to check before handing out.
   */
  async read(id: string, user: UserClaims): Promise<StoredJob | undefined> {
    const row = await this.#owned(id, user);
    if (!row) return undefined;
    const view = viewOf(row);
    if (row.status !== "succeeded" || !row.resultEnc) return { view };
    const opened: unknown = JSON.parse(
      await this.#catalog.keyRing.decryptText(row.tenantId, row.resultEnc),
    );
    const claims = await this.#openClaims(row.tenantId, row.claims);
    return { view, answer: { ...answerOf(opened), claims } };
  }

  /** Deletes finished jobs past their expiry; returns how many. */
  async purgeExpired(): Promise<number> {
    const gone = await this.#db.delete(jobs)
      .where(and(isNotNull(jobs.expiresAt), lt(jobs.expiresAt, sql`now()`)))
      .returning({ id: jobs.id });
    return gone.length;
  }

  async #owned(id: string, user: UserClaims): Promise<JobRow | undefined> {
    // Job ids are UUIDs: anything else names no job (and never reaches the database as text).
    if (!JOB_ID.test(id)) return undefined;
    const [row] = await this.#db.select().from(jobs).where(and(
      eq(jobs.id, id),
      eq(jobs.tenantId, user.tenant),
      eq(jobs.userEmail, user.sub),
    ));
    if (!row || (row.expiresAt && row.expiresAt.getTime() <= Date.now())) return undefined;
    return row;
  }

  async #finish(
    id: string,
    runnerId: string,
    fields: Partial<Pick<JobRow, "status" | "resultEnc" | "error" | "progress">>,
    ttlMs: number,
  ): Promise<void> {
    await this.#db.update(jobs).set({
      ...fields,
      lockedBy: null,
      leaseUntil: null,
      finishedAt: sql`now()`,
      expiresAt: inMs(ttlMs),
    }).where(and(eq(jobs.id, id), eq(jobs.lockedBy, runnerId), eq(jobs.status, "running")));
  }

  async #ttlMs(tenantId: string): Promise<number> {
    const tenant = await this.#catalog.getTenant(tenantId);
    const ttl = tenant?.settings.ttlMs;
    return typeof ttl === "number" && ttl > 0 ? ttl : DEFAULT_JOB_TTL_MS;
  }
}

// Running jobs of the claimed row's zone held under a live lease (an expired one is up for takeover).
function runningOf(whose: SQL) {
  return sql`(select count(*) from ${jobs} as held where held.zone = ${jobs.zone}
    and held.status = 'running' and held.lease_until >= now() and ${whose})`;
}

function viewOf(row: JobRow): JobView {
  const view: JobView = {
    job_id: row.id,
    status: row.status,
    trace_id: row.traceId,
    created_at: row.createdAt.toISOString(),
    progress: { ...EMPTY_PROGRESS, ...row.progress },
  };
  if (row.finishedAt) view.finished_at = row.finishedAt.toISOString();
  if (row.expiresAt) view.expires_at = row.expiresAt.toISOString();
  if (row.error) view.error = row.error as ErrorBody["error"];
  return view;
}

// An answer stored before entitlements were sealed with it is the bare result: unknown ones.
function answerOf(opened: unknown): { result: unknown; entitlements?: string } {
  if (
    typeof opened === "object" && opened !== null && "result" in opened &&
    "entitlements" in opened && typeof opened.entitlements === "string"
  ) {
    return { result: opened.result, entitlements: opened.entitlements };
  }
  return { result: opened };
}

const JOB_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** A stored job request, and the door it was submitted through. */
function requestAndDoor(stored: Record<string, unknown>): { request: QueryRequest; door?: string } {
  const { door, ...request } = stored;
  return {
    request: request as unknown as QueryRequest,
    ...(typeof door === "string" ? { door } : {}),
  };
}

/** `now() + ms`, computed by the database so every runner shares one clock. */
function inMs(ms: number) {
  return sql`now() + (${String(Math.round(ms))})::int * interval '1 millisecond'`;
}
