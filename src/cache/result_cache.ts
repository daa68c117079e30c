/**
 * The result cache: whole query answers, keyed by tenant + the user's effective entitlements (the
 * guard's fingerprint: two users whose row or column rules differ never share an entry) +
 * the query's key from its parse tree (`queryCacheKey` in `src/sql/cache_key.ts`), never its
 * text. An entry records when its oldest data was fetched, so a hit's `freshness_ms`
 * stays the age of that data, and a hit is served only while that age is within the query's
 * `max_staleness_ms`, and only while no source it used was invalidated after its data was fetched
 * ({@link Invalidations}: a signed webhook said the table changed).
 *
 * @module
 */
import { behindTheAnswer } from "../behind_the_answer.ts";
import { sha256Hex } from "../crypto/sha256.ts";
import { Invalidations } from "./invalidations.ts";
import { processLog } from "../telemetry/log.ts";
import { storeError, type TenantCache } from "./tenant_cache.ts";

/** A cached answer. */
export interface CachedResult {
  /**
   * The 200 body as it was answered, without its rows (its `trace_id` and `timing` belong to
   * the first query).
   */
  body: Record<string, unknown>;
  /** The rows as the JSON text they were answered in: a hit serves them without re-encoding. */
  rowsJson: string;
  /** How many rows. */
  rowCount: number;
  /** When the oldest data in it was fetched from its app, epoch ms. */
  oldestDataAt: number;
  /** When each source's data was fetched, epoch ms, in `body.sources` order. */
  sourceFetchedAt: number[];
}

/** How many store keys a result cache remembers, of texts up to how long (memory stays small). */
const KEYS_REMEMBERED = 1024;
const KEY_TEXT_REMEMBERED = 4096;

/**
 * Caches query answers in a zone's {@link TenantCache}.
 *
 * @example
 * ```ts ignore
 * const results = new ResultCache(zoneCache);
 * const query = queryCacheKey(parseQuery(sql));
 * await results.put("acme", fingerprint, query, body, 60_000);
 * const hit = await results.get("acme", fingerprint, query);
 * ```
 */
export class ResultCache {
  readonly #cache: TenantCache;
  readonly #invalidations: Invalidations;
  /** Writes started by {@link ResultCache.putBehind} and not yet done, by tenant, fingerprint, query. */
  readonly #writing = new Map<string, Promise<void>>();
  /** Store keys of recent queries: the cached path repeats them, and hashing costs more. */
  readonly #keys = new Map<string, string>();

  constructor(cache: TenantCache) {
    this.#cache = cache;
    this.#invalidations = new Invalidations(cache);
  }

  /** The residency zone this cache lives in. */
  get zone(): string {
    return this.#cache.zone;
  }

  /**
   * The cached answer, whatever its age (the caller compares it with its staleness bound), unless
   * a table it was built from has been invalidated since. `query` is the query's `queryCacheKey`.
   */
  async get(
    tenantId: string,
    fingerprint: string,
    query: string,
  ): Promise<CachedResult | undefined> {
    await this.#writing.get(`${tenantId}\n${fingerprint}\n${query}`);
    const hit = await this.#cache.get<CachedResult>(tenantId, await this.#key(fingerprint, query));
    // An entry written before answers kept their rows' text (a deploy ago) reads as a miss.
    if (typeof hit?.rowsJson !== "string") return undefined;
    const sources = Array.isArray(hit.body.sources)
      ? hit.body.sources as Record<string, unknown>[]
      : [];
    const pieces = sources.map((s, i) => ({
      table: String(s.table),
      fetchedAt: hit.sourceFetchedAt[i] ?? hit.oldestDataAt,
    }));
    return await this.#invalidations.current(tenantId, pieces) ? hit : undefined;
  }

  /**
   * Stores a 200 body. Its life is the tenant's TTL counted from when its oldest data was
   * fetched, so no data outlives the TTL; stale answers (`allow_stale`) are never stored.
   */
  async put(
    tenantId: string,
    fingerprint: string,
    query: string,
    body: Record<string, unknown>,
    ttlMs: number,
    now = Date.now(),
  ): Promise<void> {
    if (body.stale === true || !Array.isArray(body.rows)) return;
    const freshness = typeof body.freshness_ms === "number" ? body.freshness_ms : 0;
    const sources = Array.isArray(body.sources) ? body.sources as Record<string, unknown>[] : [];
    const { rows, ...rest } = body;
    const entry: CachedResult = {
      body: rest,
      rowsJson: JSON.stringify(rows),
      rowCount: (rows as unknown[]).length,
      oldestDataAt: now - freshness,
      sourceFetchedAt: sources.map((s) =>
        now - (typeof s.freshness_ms === "number" ? s.freshness_ms : freshness)
      ),
    };
    await this.#cache.set(tenantId, await this.#key(fingerprint, query), entry, ttlMs - freshness);
  }

  /**
   * Stores a 200 body as {@link ResultCache.put} does, behind the answer (`body` may be a function
   * that decodes it, called then): the write starts once
   * `answered` settles (the response is sent; at most a second later) and the event loop has
   * turned, and this cache's reads of the same entry wait for it, so a repeat of the query here
   * finds it as if the write had been awaited. Its freshness counts from now.
   *
   * @example
   * ```ts ignore
   * results.putBehind("acme", fingerprint, query, body, 60_000);
   * assertEquals((await results.get("acme", fingerprint, query))?.rowCount, body.rows.length);
   * ```
   */
  putBehind(
    tenantId: string,
    fingerprint: string,
    query: string,
    body: Record<string, unknown> | (() => Record<string, unknown>),
    ttlMs: number,
    answered?: Promise<unknown>,
  ): void {
    const now = Date.now();
    const id = `${tenantId}\n${fingerprint}\n${query}`;
    const before = this.#writing.get(id);
    const write: Promise<void> = behindTheAnswer(answered)
      .then(() => before)
      .then(() =>
        this.put(
          tenantId,
          fingerprint,
          query,
          typeof body === "function" ? body() : body,
          ttlMs,
          now,
        )
      )
      .catch((err) => processLog.warn("result cache entry not stored", { error: storeError(err) }))
      .finally(() => {
        if (this.#writing.get(id) === write) this.#writing.delete(id);
      });
    this.#writing.set(id, write);
  }

  async #key(fingerprint: string, query: string): Promise<string> {
    const text = `${fingerprint}\n${query}`;
    let key = this.#keys.get(text);
    if (key === undefined) {
      key = `r:${await sha256Hex(text)}`;
      if (text.length > KEY_TEXT_REMEMBERED) return key;
      if (this.#keys.size >= KEYS_REMEMBERED) this.#keys.delete(this.#keys.keys().next().value!);
      this.#keys.set(text, key);
    }
    return key;
  }
}
