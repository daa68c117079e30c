/**
 * The source cache: what one connection's table returned for one pushed request, in the worker's
 * zone, encrypted with the tenant's key. As a {@link SourceMiddleware} around the app fetch it
 *
 * - serves a query from an entry whose data is within the query's `max_staleness_ms` (`0`
 *   bypasses it): the exact same request, or — Steampipe's subset rule — an entry fetched with a
 *   looser pushed filter and more columns, filtering the rows locally;
 * - makes identical concurrent fetches (same connection, table, request, columns) one fetch, in
 *   this process and across every instance sharing the zone's store (a lease per fetch);
 * - revalidates with the validators stored per request URL ({@link UrlValidators}: a 304 costs
 *   GitHub's budget nothing and rebuilds the page it confirms), whichever entry or column set
 *   first fetched the URL, so a revalidated entry's age starts again;
 * - when the app cannot be fetched now (budget spent, app down, timeout: a transient failure),
 *   answers `STALE_DATA` with the age it has, or — with `metadata.allow_stale` — the stale rows,
 *   marked stale. A permanent refusal (400, 401, 403 without a spent budget, 404, 410, 422, a
 *   misconfigured connection) is the app's `SOURCE_ERROR`, never hidden behind cached data.
 *
 * Entries live at most the tenant's TTL from when their data was fetched, and are not served fresh
 * once their table was invalidated after their data was fetched ({@link Invalidations}).
 *
 * @module
 */
import type { Row } from "../../connectors/sdk/table.ts";
import { isTransient } from "../../connectors/sdk/errors.ts";
import { OmniError } from "../errors.ts";
import type { SourceFetchContext, SourceMiddleware } from "../source/fetch.ts";
import type { FetchedSource } from "../source/fetch.ts";
import type { SourcePlan } from "../sql/plan.ts";
import { sha256Hex } from "../crypto/sha256.ts";
import { SingleFlight } from "./_single_flight.ts";
import { behindTheAnswer } from "../behind_the_answer.ts";
import { type EntryShape, filterRows, predicateId, subsetRemainder } from "./_subset.ts";
import { freshnessOf, type TenantSettingsLookup } from "./freshness.ts";
import { Invalidations } from "./invalidations.ts";
import { storeError, type TenantCache } from "./tenant_cache.ts";
import { RecentValidators, UrlValidators } from "./validators.ts";
import { processLog } from "../telemetry/log.ts";

/** Options of {@link sourceCache}. */
export interface SourceCacheOptions {
  /** The zone's tenant cache. */
  cache: TenantCache;
  /** The tenant's settings (TTL, default `max_staleness_ms`). */
  settings: TenantSettingsLookup;
  /** Entries remembered per connection and table for the subset rule. @default 32 */
  maxIndexed?: number;
  /**
   * How long a fetch's lease lasts without renewal, ms: how soon another instance takes over a
   * fetch whose instance died. @default 3000
   */
  leaseMs?: number;
  /**
   * How soon an instance waiting on another's fetch first looks for its entry, ms (then less
   * often, up to every 250 ms). @default 20
   */
  pollMs?: number;
}

/** One cached fetch. */
interface Entry extends EntryShape {
  rows: Row[];
  pages: number;
  fetchedAt: number;
}

/** What the per-table index remembers of an entry. */
interface IndexItem extends EntryShape {
  key: string;
  fetchedAt: number;
  expiresAt: number;
}

/**
 * Builds the source-cache middleware.
 *
 * @example
 * ```ts ignore
 * const service = new QueryService({ ...options,
 *   sourceMiddleware: [sourceCache({ cache: zoneCache, settings }), sourceBudget({ limiter })] });
 * ```
 */
export function sourceCache(options: SourceCacheOptions): SourceMiddleware {
  const { cache } = options;
  const maxIndexed = options.maxIndexed ?? 32;
  const leaseMs = options.leaseMs ?? 3000;
  const pollMs = options.pollMs ?? 20;
  const flights = new SingleFlight<FetchedSource>();
  const recent = new RecentValidators();
  // Validators are the apps' words about the tenant's data: they go when its keys do.
  cache.onForget((tenantId) => recent.forget(tenantId));
  const invalidations = new Invalidations(cache);
  /**
   * Entries being written behind their answers, per tenant and table index: a lookup in this
   * process waits for them, so it finds what was just fetched as if the write had been awaited.
   */
  const writing = new Map<string, Set<Promise<void>>>();
  const written = async (indexKey: string) => {
    const pending = writing.get(indexKey);
    if (pending?.size) await Promise.all(pending);
  };

  return (next) =>
    async function cachedSourceFetch(source, ctx) {
      // Keys live a second in this process (shredding takes effect within it): loaded now, while
      // the settings and the entry are read, rather than by the fetch's first page.
      cache.warm(ctx.tenantId);
      const now = Date.now();
      const { ttlMs, maxStalenessMs: defaultStaleness } = freshnessOf(
        await options.settings(ctx.tenantId),
      );
      const maxStaleness = Math.min(ctx.metadata.max_staleness_ms ?? defaultStaleness, ttlMs);
      const keys = await cacheKeys(source);
      await written(`${ctx.tenantId}\n${keys.index}`);
      // The entry, read from the store and decrypted only when used. A live fetch
      // (`max_staleness_ms: 0`) needs it only to wait on another instance's fetch or to fall back
      // when the app fails: read ahead, it would put a store round trip, and the entry's bytes,
      // before the source's first call to its app.
      let stored = maxStaleness > 0 ? cache.peek<Entry>(ctx.tenantId, keys.entry) : undefined;
      const exact = async () =>
        await (await (stored ??= cache.peek<Entry>(ctx.tenantId, keys.entry))).open();

      if (maxStaleness > 0) {
        const invalidatedAt = await invalidations.watermark(ctx.tenantId, source.key);
        const usable = (fetchedAt: number) =>
          now - fetchedAt <= maxStaleness && fetchedAt > invalidatedAt;
        const entry = await exact();
        if (entry && usable(entry.fetchedAt)) return served(source, entry, entry.rows);
        const hit = await findSuperset(ctx.tenantId, source, keys.index, usable);
        if (hit) return hit;
      }

      const flight = flights.run(
        `${ctx.tenantId}\n${keys.entry}`,
        () =>
          acrossInstances(source, ctx, keys, exact, async () => {
            const conditional = new UrlValidators({
              cache,
              tenantId: ctx.tenantId,
              connection: source.connection,
              ttlMs,
              recent,
            });
            let fetched: FetchedSource;
            try {
              fetched = await next(source, { ...ctx, conditional });
            } catch (err) {
              // What the pages before the failure taught still holds.
              void behindTheAnswer(ctx.answered).then(() => conditional.flush()).catch(() => {});
              throw err;
            }
            return {
              fetched,
              // The lease waits for the source's entry: the validators are written beside it.
              store: async () => {
                await Promise.all([
                  conditional.flush(),
                  store(ctx.tenantId, keys, fetched, ttlMs),
                ]);
              },
            };
          }),
      );
      try {
        const fetched = await flight.promise;
        return flight.joined ? { ...fetched, rows: [...fetched.rows] } : fetched;
      } catch (err) {
        // A spent cost budget is the tenant's own limit: answered as itself (429, level cost).
        if (!(err instanceof OmniError) || !isTransient(err) || err.details?.level === "cost") {
          throw err;
        }
        const fallback = await exact() ??
          await newestSuperset(ctx.tenantId, source, keys.index);
        if (!fallback) throw err;
        return staleOrRefuse(source, ctx, fallback, maxStaleness, err);
      }
    };

  /**
   * One fetch of a source across every instance sharing the store: the instance that takes the
   * source's lease fetches (renewing the lease while it does); the others wait for the entry it
   * stores — newer than the one they saw — and serve it. When the lease goes without an entry
   * (the fetch failed, or its instance died and the lease expired), a waiter takes it over.
   *
   * The entry is written behind the answer: the query goes on with the fetched rows, which are
   * sealed and stored once its answer is out (`ctx.answered`), and the lease is held until
   * the entry is there, so that no instance waiting on this fetch starts it again.
   */
  async function acrossInstances(
    source: SourcePlan,
    ctx: SourceFetchContext,
    keys: { entry: string; lock: string; index: string },
    seen: () => Promise<{ fetchedAt: number } | undefined>,
    fetchHere: () => Promise<{ fetched: FetchedSource; store(): Promise<void> }>,
  ): Promise<FetchedSource> {
    const owner = crypto.randomUUID();
    for (;;) {
      if (await cache.claim(ctx.tenantId, keys.lock, owner, leaseMs)) {
        const renewal = setInterval(
          () => void cache.renew(ctx.tenantId, keys.lock, owner, leaseMs),
          Math.max(1, Math.floor(leaseMs / 3)),
        );
        const release = async () => {
          clearInterval(renewal);
          await cache.release(ctx.tenantId, keys.lock, owner);
        };
        let here: Awaited<ReturnType<typeof fetchHere>>;
        try {
          here = await fetchHere();
        } catch (err) {
          await release();
          throw err;
        }
        const indexKey = `${ctx.tenantId}\n${keys.index}`;
        const pending = writing.get(indexKey) ?? new Set();
        writing.set(indexKey, pending);
        const write: Promise<void> = behindTheAnswer(ctx.answered)
          .then(() => here.store())
          .finally(release)
          .catch((err) =>
            processLog.warn("source cache entry not stored", { error: storeError(err) })
          )
          .finally(() => {
            pending.delete(write);
            if (pending.size === 0 && writing.get(indexKey) === pending) writing.delete(indexKey);
          });
        pending.add(write);
        return here.fetched;
      }
      const seenFetchedAt = (await seen())?.fetchedAt ?? -1;
      // Looks often at first (most fetches are short), then less, to spare the store.
      for (let wait = pollMs;; wait = Math.min(wait * 1.5, 250)) {
        ctx.signal.throwIfAborted();
        await new Promise((resolve) => setTimeout(resolve, wait));
        const entry = await cache.get<Entry>(ctx.tenantId, keys.entry);
        if (entry && entry.fetchedAt > seenFetchedAt) return served(source, entry, entry.rows);
        if (!await cache.held(ctx.tenantId, keys.lock)) break;
      }
    }
  }

  async function findSuperset(
    tenantId: string,
    source: SourcePlan,
    indexKey: string,
    usable: (fetchedAt: number) => boolean,
  ): Promise<FetchedSource | undefined> {
    const found = await newestSuperset(tenantId, source, indexKey, usable);
    return found ? served(source, found.entry, found.rows) : undefined;
  }

  async function newestSuperset(
    tenantId: string,
    source: SourcePlan,
    indexKey: string,
    usable: (fetchedAt: number) => boolean = () => true,
  ): Promise<{ entry: Entry; rows: Row[] } | undefined> {
    const index = await cache.get<IndexItem[]>(tenantId, indexKey) ?? [];
    const now = Date.now();
    const candidates = index
      .filter((item) => item.expiresAt > now && usable(item.fetchedAt))
      .sort((a, b) => b.fetchedAt - a.fetchedAt);
    for (const item of candidates) {
      const remainder = subsetRemainder(item, source.plan.pushed, source.offer.columns);
      if (!remainder) continue;
      const entry = await cache.get<Entry>(tenantId, item.key);
      if (!entry) continue;
      const types = Object.fromEntries(source.table.columns.map((c) => [c.name, c.type]));
      return { entry, rows: filterRows(entry.rows, remainder, types) };
    }
    return undefined;
  }

  async function store(
    tenantId: string,
    keys: { entry: string; index: string },
    fetched: FetchedSource,
    ttlMs: number,
  ): Promise<void> {
    const life = fetched.fetchedAt + ttlMs - Date.now();
    if (life <= 0) return;
    const shape: EntryShape = {
      pushed: fetched.plan.pushed.map(predicateId),
      columns: fetched.plan.columns,
    };
    const entry: Entry = {
      ...shape,
      rows: fetched.rows,
      pages: fetched.pages,
      fetchedAt: fetched.fetchedAt,
    };
    await cache.set(tenantId, keys.entry, entry, life);
    // A limited fetch holds only some of the rows: it may serve its exact request, never a subset.
    if (fetched.plan.limit !== undefined) return;
    const now = Date.now();
    const index = (await cache.get<IndexItem[]>(tenantId, keys.index) ?? [])
      .filter((item) => item.key !== keys.entry && item.expiresAt > now)
      .concat({ ...shape, key: keys.entry, fetchedAt: fetched.fetchedAt, expiresAt: now + life })
      .sort((a, b) => b.fetchedAt - a.fetchedAt)
      .slice(0, maxIndexed);
    const indexLife = Math.max(...index.map((item) => item.expiresAt)) - now;
    await cache.set(tenantId, keys.index, index, indexLife);
  }
}

function served(source: SourcePlan, entry: Entry, rows: Row[]): FetchedSource {
  return {
    plan: source.plan,
    // A frozen entry (as the tenant cache reads them) is shared as it is: nobody can change it,
    // and an unchanged array lets its Arrow encoding be reused (`encodeRows`).
    rows: rows === entry.rows && !Object.isFrozen(rows) ? [...rows] : rows,
    pages: 0,
    calls: 0,
    revalidated: 0,
    fromCache: true,
    fetchedAt: entry.fetchedAt,
  };
}

function staleOrRefuse(
  source: SourcePlan,
  ctx: SourceFetchContext,
  fallback: Entry | { entry: Entry; rows: Row[] },
  maxStaleness: number,
  cause: OmniError,
): FetchedSource {
  const entry = "entry" in fallback ? fallback.entry : fallback;
  const rows = fallback.rows;
  const age = Date.now() - entry.fetchedAt;
  if (ctx.metadata.allow_stale) return { ...served(source, entry, rows), stale: true };
  throw new OmniError(
    "STALE_DATA",
    `${source.key} cannot be fetched now (${cause.code}) and its newest cached data is ` +
      `${Math.round(age / 1000)} s old, older than max_staleness_ms ${maxStaleness}; ` +
      "send metadata.allow_stale = true to accept it",
    {
      retryAfterMs: cause.retryAfterMs,
      details: {
        source: source.key,
        available_age_ms: age,
        max_staleness_ms: maxStaleness,
        reason: cause.code,
      },
      cause,
    },
  );
}

/**
 * The cache keys of a source: the entry (connection + its configuration, table, pushed request,
 * fetched columns, limit) and the per-table index. Hashed: no query values in key names.
 */
async function cacheKeys(
  source: SourcePlan,
): Promise<{ entry: string; lock: string; index: string }> {
  const c = source.connection;
  const table = JSON.stringify([
    c.id,
    c.baseUrl,
    canonical(c.config),
    canonical(c.credentials),
    source.table.name,
  ]);
  const request = JSON.stringify([
    source.plan.native,
    source.plan.pushed.map(predicateId).sort(),
    [...source.plan.columns].sort(),
    source.plan.limit ?? null,
  ]);
  const entry = await sha256Hex(`${table}\n${request}`);
  return { entry: `s:e:${entry}`, lock: `s:l:${entry}`, index: `s:i:${await sha256Hex(table)}` };
}

function canonical(value: unknown): string {
  return JSON.stringify(
    value,
    (_k, v) =>
      v && typeof v === "object" && !Array.isArray(v)
        ? Object.fromEntries(Object.entries(v).sort(([a], [b]) => a < b ? -1 : a > b ? 1 : 0))
        : v,
  );
}
