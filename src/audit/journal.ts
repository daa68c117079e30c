/**
 * The audit journal: a query's audit record is made durable before its answer leaves, without
 * waiting for the catalog. `record()` appends the record to a local write-ahead file and
 * resolves once the file is synced (records that arrive while a sync is in flight share the
 * next one: group fsync); a committer then appends the records to the tenant's hash chain in
 * batches (group commit) and deletes a segment file once every record in it is committed. On
 * start the journal replays the segments a crash left behind; each record carries an entry id
 * the chain remembers (`audit_log.journal_entry`), so a record committed just before the crash
 * (or by a commit that failed after reaching the database) is not appended twice. The catalog failing only delays the commit: records are retried, never
 * dropped.
 *
 * Without a directory (the catalog itself in memory, as the tests' embedded one) the journal
 * keeps records in memory only: nothing outlives the process anyway.
 *
 * @module
 */
import { loggableError } from "../errors.ts";
import type { AuditRecord } from "../catalog/audit.ts";
import { processLog } from "../telemetry/log.ts";

/** A journalled record: its entry id and the time it was answered are fixed at `record()`. */
export type JournalRecord = AuditRecord & { journalEntry: string; createdAt: Date };

/** Options of {@link AuditJournal}. */
export interface AuditJournalOptions {
  /**
   * Appends records of ONE tenant to its chain, in order, skipping entries already there
   * (`appendAuditBatch` does). Rejecting retries them later.
   */
  commit(records: JournalRecord[]): Promise<unknown>;
  /**
   * Directory of the write-ahead segments, owned by this process alone (a lock file guards it).
   * @default none: records are kept in memory until committed
   */
  dir?: string;
  /**
   * Records per commit of one tenant: bounds how long a commit holds the catalog (an embedded
   * PGlite has one session, which reads on the query path share). @default 200
   */
  maxBatch?: number;
  /**
   * How long the first record waits for others to share its commit, ms (a full batch commits at
   * once). Each commit has a fixed cost (a transaction, the chain's lock and head) that a busy
   * server would otherwise pay per record; the records are durable meanwhile.
   * @default 50
   */
  commitDelayMs?: number;
  /** Records per segment file before a new one is started. @default 20000 */
  segmentRecords?: number;
  /**
   * Wait after a tenant's failed commit before retrying it, ms; doubled after each failure in a
   * row, up to 30 s (a database down for an hour costs a log line every 30 s, not two a second).
   * Each tenant backs off alone: another tenant's commits going through never hurry the retry.
   * @default 500
   */
  retryMs?: number;
}

interface Pending {
  record: JournalRecord;
  segment: number;
}

interface Segment {
  path?: string;
  /** Records written to it and not yet committed. */
  open: number;
  sealed: boolean;
}

const SEGMENT = /^(\d{12})\.wal$/;
/** The longest wait between two tries of a failing commit, ms. */
const MAX_RETRY_MS = 30_000;

/**
 * A process's audit journal.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { AuditJournal } from "./journal.ts";
 * const committed: string[] = [];
 * const journal = new AuditJournal({
 *   commit: async (records) => void committed.push(...records.map((r) => r.traceId)),
 * });
 * await journal.record({
 *   tenantId: "acme", userEmail: "dev@acme", zone: "us", traceId: "t1", sql: "SELECT 1",
 *   tables: [], rows: 1, status: 200, kind: "query",
 * });
 * await journal.settled();
 * assert.deepEqual(committed, ["t1"]);
 * await journal.close();
 * ```
 */
export class AuditJournal {
  readonly #options: AuditJournalOptions;
  readonly #ready: Promise<void>;
  readonly #segments = new Map<number, Segment>();
  #current = 0;
  #file?: Deno.FsFile;
  #lock?: Deno.FsFile;
  /** Lines waiting for the next write + sync, with their callers. */
  #buffer: { line: string; record: JournalRecord; done: () => void; fail: (e: unknown) => void }[] =
    [];
  #syncing = false;
  /** Durable records not yet committed, in order. */
  #queue: Pending[] = [];
  #committing = false;
  /** The pending commit: a retry after a failure, or the wait for a batch to fill. */
  #retry?: ReturnType<typeof setTimeout>;
  /** When `#retry` fires (epoch ms). */
  #retryDue = 0;
  /** Tenants whose last commit failed: failures in a row, and when to try again (epoch ms). */
  readonly #backoff = new Map<string, { failures: number; retryAt: number }>();
  #idle: (() => void)[] = [];
  #closed = false;

  constructor(options: AuditJournalOptions) {
    this.#options = options;
    this.#ready = this.#open();
    // A failed open is reported by every record() (answers are withheld), not here.
    this.#ready.catch(() => {});
  }

  /** Records one audit record; resolves once it is durable (not yet in the chain). */
  async record(record: AuditRecord): Promise<void> {
    await this.#ready;
    if (this.#closed) throw new Error("the audit journal is closed");
    const entry: JournalRecord = {
      ...record,
      journalEntry: record.journalEntry ?? crypto.randomUUID(),
      createdAt: record.createdAt ?? new Date(),
    };
    if (!this.#file) {
      this.#enqueue([{ record: entry, segment: this.#current }]);
      return;
    }
    await new Promise<void>((done, fail) => {
      this.#buffer.push({ line: JSON.stringify(entry) + "\n", record: entry, done, fail });
      if (!this.#syncing) void this.#sync();
    });
  }

  /** Resolves once every record recorded so far is committed to its chain. */
  async settled(): Promise<void> {
    await this.#ready.catch(() => {});
    if (!this.#busy()) return;
    await new Promise<void>((resolve) => this.#idle.push(resolve));
  }

  /** Commits what it can (bounded by `timeoutMs`), then stops; what is left replays at start. */
  async close(timeoutMs = 5_000): Promise<void> {
    await Promise.race([this.settled(), new Promise((r) => setTimeout(r, timeoutMs))]);
    this.#closed = true;
    clearTimeout(this.#retry);
    this.#file?.close();
    this.#file = undefined;
    this.#lock?.close();
    this.#lock = undefined;
  }

  #busy(): boolean {
    return this.#buffer.length > 0 || this.#syncing || this.#queue.length > 0 ||
      this.#committing;
  }

  async #open(): Promise<void> {
    const dir = this.#options.dir;
    if (!dir) return;
    await Deno.mkdir(dir, { recursive: true });
    this.#lock = await Deno.open(`${dir}/lock`, { create: true, write: true });
    // Two live processes on one journal would replay each other's records; a second one fails
    // loudly rather than waiting for the lock (and every answer with it) forever.
    let waited: ReturnType<typeof setTimeout> | undefined;
    const held = new Promise<never>((_, reject) => {
      waited = setTimeout(
        () => reject(new Error(`audit journal ${dir} is held by another process`)),
        10_000,
      );
    });
    try {
      await Promise.race([this.#lock.lock(true), held]);
    } finally {
      clearTimeout(waited);
    }
    const found: number[] = [];
    for await (const e of Deno.readDir(dir)) {
      const m = e.isFile ? SEGMENT.exec(e.name) : null;
      if (m) found.push(Number(m[1]));
    }
    found.sort((a, b) => a - b);
    const replay: Pending[] = [];
    for (const n of found) {
      const path = this.#path(n);
      const records = parseSegment(await Deno.readTextFile(path));
      this.#segments.set(n, { path, open: records.length, sealed: true });
      // Any of them may have reached the chain just before the stop.
      for (const record of records) {
        replay.push({ record: { ...record, recheck: true }, segment: n });
      }
      if (records.length === 0) await this.#drop(n);
    }
    if (replay.length) {
      processLog.info("audit journal: replaying records a stop left uncommitted", {
        records: replay.length,
      });
    }
    this.#current = (found.at(-1) ?? 0) + 1;
    await this.#startSegment();
    this.#enqueue(replay);
  }

  #path(n: number): string {
    return `${this.#options.dir}/${String(n).padStart(12, "0")}.wal`;
  }

  async #startSegment(): Promise<void> {
    const path = this.#path(this.#current);
    this.#file = await Deno.open(path, { create: true, append: true });
    this.#segments.set(this.#current, { path, open: 0, sealed: false });
  }

  async #sync(): Promise<void> {
    this.#syncing = true;
    try {
      while (this.#buffer.length > 0 && this.#file) {
        const batch = this.#buffer;
        this.#buffer = [];
        const segment = this.#current;
        try {
          const bytes = new TextEncoder().encode(batch.map((b) => b.line).join(""));
          for (let at = 0; at < bytes.length;) at += await this.#file.write(bytes.subarray(at));
          await this.#file.syncData();
        } catch (err) {
          processLog.error("audit journal: write failed", { error: loggableError(err) });
          batch.forEach((b) => b.fail(err));
          continue;
        }
        this.#segments.get(segment)!.open += batch.length;
        this.#enqueue(batch.map((b) => ({ record: b.record, segment })));
        batch.forEach((b) => b.done());
        await this.#rotateIfFull();
      }
    } finally {
      this.#syncing = false;
      this.#notifyIdle();
    }
  }

  async #rotateIfFull(): Promise<void> {
    const segment = this.#segments.get(this.#current)!;
    if (segment.open < (this.#options.segmentRecords ?? 20_000)) return;
    this.#file?.close();
    segment.sealed = true;
    this.#current++;
    await this.#startSegment();
    // Everything in the sealed segment may be committed already.
    await this.#dropIfDone(this.#current - 1);
  }

  #enqueue(items: Pending[]): void {
    if (items.length === 0) return;
    this.#queue.push(...items);
    if (this.#committing) return;
    if (this.#queue.length >= this.#maxBatch()) {
      clearTimeout(this.#retry);
      this.#retry = undefined;
      void this.#commit();
    } else this.#commitLater(this.#options.commitDelayMs ?? 50);
  }

  #maxBatch(): number {
    return this.#options.maxBatch ?? 200;
  }

  /** Commits in `ms`, unless a commit is already due sooner. */
  #commitLater(ms: number): void {
    const due = Date.now() + ms;
    if (this.#retry !== undefined && this.#retryDue <= due) return;
    clearTimeout(this.#retry);
    this.#retryDue = due;
    this.#retry = setTimeout(() => {
      this.#retry = undefined;
      void this.#commit();
    }, ms);
  }

  async #commit(): Promise<void> {
    this.#committing = true;
    try {
      while (this.#queue.length > 0 && !this.#closed) {
        // One batch per tenant, each in its order; tenants commit side by side, but not one
        // whose last commit failed until its retry is due.
        const max = this.#maxBatch();
        const now = Date.now();
        const byTenant = new Map<string, Pending[]>();
        for (const item of this.#queue) {
          const tenant = item.record.tenantId;
          if ((this.#backoff.get(tenant)?.retryAt ?? 0) > now) continue;
          const list = byTenant.get(tenant) ?? [];
          if (list.length < max) list.push(item);
          byTenant.set(tenant, list);
        }
        if (byTenant.size === 0) {
          const due = Math.min(...[...this.#backoff.values()].map((b) => b.retryAt));
          this.#commitLater(Math.max(0, due - now));
          return;
        }
        const tenants = [...byTenant.keys()];
        const batches = [...byTenant.values()];
        const results = await Promise.allSettled(
          batches.map((items) => this.#options.commit(items.map((i) => i.record))),
        );
        const committed = new Set<Pending>();
        results.forEach((r, i) => {
          if (r.status === "fulfilled") {
            batches[i].forEach((item) => committed.add(item));
            this.#backoff.delete(tenants[i]);
          } else {
            const failures = (this.#backoff.get(tenants[i])?.failures ?? 0) + 1;
            const retryMs = this.#options.retryMs ?? 500;
            const wait = Math.min(retryMs * 2 ** (failures - 1), Math.max(retryMs, MAX_RETRY_MS));
            this.#backoff.set(tenants[i], { failures, retryAt: Date.now() + wait });
            processLog.error("audit journal: commit failed; retrying", {
              error: loggableError(r.reason),
              failures_in_a_row: failures,
              retry_in_ms: wait,
            });
            // A failed commit may have reached the database before it failed.
            for (const item of batches[i]) item.record.recheck = true;
          }
        });
        this.#queue = this.#queue.filter((i) => !committed.has(i));
        const touched = new Set<number>();
        for (const item of committed) {
          const segment = this.#segments.get(item.segment);
          if (segment) segment.open--;
          touched.add(item.segment);
        }
        for (const n of touched) await this.#dropIfDone(n);
        // Only tenants waiting for their retry left: the loop's next turn schedules it.
        if (committed.size === 0) continue;
        // Less than a batch left: it waits for company, like any first record.
        if (this.#queue.length > 0 && this.#queue.length < max) {
          this.#commitLater(this.#options.commitDelayMs ?? 50);
          return;
        }
      }
    } finally {
      this.#committing = false;
      this.#notifyIdle();
    }
  }

  async #dropIfDone(n: number): Promise<void> {
    const segment = this.#segments.get(n);
    if (segment && segment.sealed && segment.open === 0) await this.#drop(n);
  }

  async #drop(n: number): Promise<void> {
    const path = this.#segments.get(n)?.path;
    this.#segments.delete(n);
    if (path) await Deno.remove(path).catch(() => {});
  }

  #notifyIdle(): void {
    if (this.#busy() && !this.#closed) return;
    const waiting = this.#idle;
    this.#idle = [];
    waiting.forEach((resolve) => resolve());
  }
}

/**
 * The records of a segment. A torn last line (a crash mid-write) was never acknowledged — its
 * answer did not leave — and is skipped.
 */
function parseSegment(text: string): JournalRecord[] {
  const out: JournalRecord[] = [];
  for (const line of text.split("\n")) {
    if (!line) continue;
    try {
      const raw = JSON.parse(line) as JournalRecord & { createdAt: string };
      out.push({ ...raw, createdAt: new Date(raw.createdAt) });
    } catch {
      // Only the last line can be torn; anything else unreadable is reported, not guessed at.
      processLog.warn("audit journal: unreadable line skipped", { bytes: line.length });
    }
  }
  return out;
}
