/**
 * Notices between the instances of a deployment: when one instance (or the admin CLI) rotates or
 * shreds a tenant's keys, every other instance drops what it holds of that tenant in its own
 * memory — unwrapped keys, remembered catalog reads, compiled policies — instead of waiting for
 * those memos to expire.
 *
 * On Upstash (or the Redis-over-HTTP bridge) notices go on a Redis stream that every instance
 * polls (`XREAD` from the last id it saw, every {@link UpstashNoticesOptions.pollMs}). Polling
 * rather than a subscription because the Upstash REST protocol has no long-lived subscribe that
 * works from every runtime the edge runs on (a serverless edge holds no connection), and a missed
 * poll loses nothing: the stream keeps the notices, and an instance that could not poll for a
 * while forgets everything once it can again. Handling a notice twice is harmless (forgetting is
 * idempotent), so the stream is replayed freely. The short memo lifetimes stay as the backstop
 * for writers that publish nothing (a key deleted by hand in the database).
 *
 * Cache invalidations by webhooks need no notice: their watermarks live in the zone's shared store
 * and every cache read compares against them ({@link Invalidations}).
 *
 * @module
 */
import type { Redis } from "@upstash/redis";
import type { Catalog } from "../catalog/store.ts";
import { processLog } from "../telemetry/log.ts";
import { storeError } from "./tenant_cache.ts";
import { upstashClient, type UpstashCredentials } from "./upstash_store.ts";

/** What changed: a tenant's keys, or (`tenantId: null`) possibly anything (notices were missed). */
export interface MemoNotice {
  /** The tenant concerned; `null`: forget every tenant. */
  tenantId: string | null;
  /** Keys rotated or shredded; the tenant moved zone or left; notices were missed. */
  reason: "rotated" | "shredded" | "changed" | "missed";
}

/**
 * A caller left a query that may be running on another instance of its zone (behind one
 * load-balanced address, the edge's cancel reaches one of them): whichever runs it stops it.
 */
export interface CancelNotice {
  reason: "cancelled";
  tenantId: string;
  /** A digest of the caller and the query's trace id: neither is written to the store. */
  query: string;
}

/** A notice: memos to forget, or a query to stop. */
export type Notice = MemoNotice | CancelNotice;

/** Receives notices. */
export type NoticeHandler = (notice: Notice) => void;

/** Where notices are published and heard. */
export interface NoticeBus {
  /** Sends a notice to every instance, this one included (at once). */
  publish(notice: Notice): Promise<void>;
  /** Calls `handler` for each notice from now on; returns a function that stops it. */
  subscribe(handler: NoticeHandler): () => void;
  /** Stops listening. */
  close(): void;
}

/**
 * Notices within this process: what a deployment without Redis uses (one process, `deno task
 * start`).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { MemoryNotices } from "./notices.ts";
 * const bus = new MemoryNotices();
 * const heard: (string | null)[] = [];
 * bus.subscribe((n) => heard.push(n.tenantId));
 * await bus.publish({ tenantId: "acme", reason: "shredded" });
 * assert.deepEqual(heard, ["acme"]);
 * ```
 */
export class MemoryNotices implements NoticeBus {
  readonly #handlers = new Set<NoticeHandler>();

  publish(notice: Notice): Promise<void> {
    deliver(this.#handlers, notice);
    return Promise.resolve();
  }

  subscribe(handler: NoticeHandler): () => void {
    this.#handlers.add(handler);
    return () => this.#handlers.delete(handler);
  }

  close(): void {
    this.#handlers.clear();
  }
}

/** Options of {@link UpstashNotices}. */
export interface UpstashNoticesOptions {
  /** The stream's key. */
  key: string;
  /** How often the stream is read. @default 150 */
  pollMs?: number;
  /** Notices kept in the stream (approximately). @default 1000 */
  maxLength?: number;
}

/**
 * Notices on a Redis stream through the Upstash REST protocol, polled by every instance.
 *
 * @example
 * ```ts ignore
 * // Needs Redis behind the REST bridge.
 * const bus = new UpstashNotices(upstashClient(credentials), { key: "omnisql:notices" });
 * bus.subscribe((n) => keyRing.forget(n.tenantId ?? undefined));
 * await bus.publish({ tenantId: "acme", reason: "shredded" });
 * ```
 */
export class UpstashNotices implements NoticeBus {
  readonly #redis: Redis;
  readonly #key: string;
  readonly #pollMs: number;
  readonly #maxLength: number;
  readonly #handlers = new Set<NoticeHandler>();
  /** Tells this instance's notices from the others' (its own were delivered at publish). */
  readonly #origin = crypto.randomUUID();
  #lastId: string | undefined;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #polling = false;
  #missed = false;
  #closed = false;
  readonly #ready = Promise.withResolvers<void>();

  constructor(redis: Redis, options: UpstashNoticesOptions) {
    this.#redis = redis;
    this.#key = options.key;
    this.#pollMs = options.pollMs ?? 150;
    this.#maxLength = options.maxLength ?? 1000;
  }

  async publish(notice: Notice): Promise<void> {
    deliver(this.#handlers, notice);
    await this.#redis.xadd(this.#key, "*", { o: this.#origin, n: JSON.stringify(notice) }, {
      trim: { type: "MAXLEN", threshold: this.#maxLength, comparison: "~" },
    });
  }

  subscribe(handler: NoticeHandler): () => void {
    this.#handlers.add(handler);
    if (!this.#polling && !this.#closed) {
      this.#polling = true;
      this.#schedule(0);
    }
    return () => this.#handlers.delete(handler);
  }

  close(): void {
    this.#closed = true;
    clearTimeout(this.#timer);
    this.#handlers.clear();
    this.#ready.resolve();
  }

  /** Resolves once listening has begun (the stream's position is known), or on close. */
  ready(): Promise<void> {
    return this.#ready.promise;
  }

  #schedule(ms: number) {
    if (this.#closed) return;
    this.#timer = setTimeout(() => this.#poll().finally(() => this.#schedule(this.#pollMs)), ms);
  }

  async #poll(): Promise<void> {
    try {
      if (this.#lastId === undefined) {
        // Start from the newest notice: older ones concern memos this instance did not have.
        // Raw replies (the client does not deserialize): `[[id, [field, value, …]]]`.
        const newest = await this.#redis.xrevrange(this.#key, "+", "-", 1) as unknown;
        // A notice published before this read is skipped: what this instance remembered until
        // then is at most one memo lifetime (a second) old, which bounds it.
        this.#lastId = entries([[this.#key, newest]])[0]?.[0] ?? "0-0";
        this.#ready.resolve();
        return;
      }
      const read = await this.#redis.xread(this.#key, this.#lastId, { count: 100 });
      if (this.#missed) {
        // Notices may have been trimmed while the stream was out of reach.
        this.#missed = false;
        deliver(this.#handlers, { tenantId: null, reason: "missed" });
      }
      for (const [id, fields] of entries(read)) {
        this.#lastId = id;
        const notice = fields.get("n");
        if (notice === undefined || fields.get("o") === this.#origin) continue;
        try {
          deliver(this.#handlers, JSON.parse(notice) as Notice);
        } catch {
          processLog.warn("notice unreadable; ignored", { id });
        }
      }
    } catch (err) {
      if (!this.#missed) processLog.warn("notices unreachable", { error: storeError(err) });
      this.#missed = true;
    }
  }
}

/** The entries of an `XREAD` answer, `[[key, [[id, [field, value, …]], …]]]`, in order. */
function entries(read: unknown): [string, Map<string, string>][] {
  if (!Array.isArray(read)) return [];
  const out: [string, Map<string, string>][] = [];
  for (const stream of read) {
    for (const entry of (Array.isArray(stream) ? stream[1] : []) ?? []) {
      const [id, flat] = entry as [string, string[]];
      const fields = new Map<string, string>();
      for (let i = 0; i + 1 < flat.length; i += 2) fields.set(String(flat[i]), String(flat[i + 1]));
      out.push([String(id), fields]);
    }
  }
  return out;
}

/**
 * The deployment's notice bus: on the shared store when there is one (every instance must be
 * given the same store and key prefix), else within this process.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { MemoryNotices, openNotices } from "./notices.ts";
 * assert.ok(openNotices(undefined, "omnisql") instanceof MemoryNotices);
 * ```
 */
export function openNotices(store: UpstashCredentials | undefined, prefix: string): NoticeBus {
  return store
    ? new UpstashNotices(upstashClient(store), { key: `${prefix}:notices` })
    : new MemoryNotices();
}

function deliver(handlers: Set<NoticeHandler>, notice: Notice) {
  for (const handler of handlers) {
    try {
      handler(notice);
    } catch (err) {
      processLog.warn("notice handler failed", { error: storeError(err) });
    }
  }
}

/**
 * Connects an instance's catalog to a notice bus: the rotations and shreds of its key ring, and
 * its tenants' zone moves and off-boardings, are published; every notice makes it forget the
 * tenant's keys and its remembered catalog reads, then calls `forget` (the instance's other memos
 * of the tenant). Returns a function that disconnects them.
 *
 * @example
 * ```ts ignore
 * // Needs an open catalog.
 * const disconnect = connectNotices(stores.notices, catalog, (t) => security.forget(t));
 * ```
 */
export function connectNotices(
  bus: NoticeBus,
  catalog: Pick<Catalog, "keyRing" | "forgetReads" | "onTenantLifecycle">,
  forget: (tenantId: string | null) => void = () => {},
): () => void {
  const unsubscribe = bus.subscribe((notice) => {
    if (notice.reason === "cancelled") return; // for the zone's running queries
    catalog.keyRing.forget(notice.tenantId ?? undefined);
    catalog.forgetReads();
    forget(notice.tenantId);
  });
  const unpublish = publishChanges(bus, catalog);
  return () => {
    unsubscribe();
    unpublish();
  };
}

/**
 * Publishes the catalog's key rotations and shreds, zone moves and off-boardings on the bus,
 * without listening (what the admin CLI does). Returns a function that stops it.
 *
 * @example
 * ```ts ignore
 * // Needs an open catalog.
 * publishChanges(new UpstashNotices(redis, { key: "omnisql:notices" }), catalog);
 * await catalog.offboardTenant("acme"); // every instance forgets acme's keys at once
 * ```
 */
export function publishChanges(
  bus: NoticeBus,
  catalog: Pick<Catalog, "keyRing" | "onTenantLifecycle">,
): () => void {
  const publish = async (notice: Notice) => {
    try {
      await bus.publish(notice);
    } catch (err) {
      // The other instances' memos expire by themselves (a second at most).
      processLog.warn("notice not published", { ...notice, error: storeError(err) });
    }
  };
  const unwatch = catalog.keyRing.onChange((tenantId, reason) => publish({ tenantId, reason }));
  const untrack = catalog.onTenantLifecycle({
    flushTenant: (tenantId) => publish({ tenantId, reason: "changed" }),
  });
  return () => {
    unwatch();
    untrack();
  };
}
