/**
 * The HTTP client every connector uses to call its app. It owns, once for all connectors:
 * base-URL joining (so GitHub Enterprise or any Jira site works unchanged), authentication
 * headers, retries with backoff on network errors, 5xx and rate-limit answers (honouring
 * `Retry-After`/reset headers, never past the query's deadline, never a 4xx that will not change),
 * reading rate-limit headers, and mapping every failure into the error vocabulary.
 *
 * @module
 */
import { OmniError } from "../../src/errors.ts";
import type { ConnectorDef, RateLimitInfo } from "./connector.ts";
import { sourceError, type SourceErrorCode, type SourceErrorExtra } from "./errors.ts";
import type { Connection } from "./table.ts";

/** Options of {@link SourceClient}. */
export interface SourceClientOptions {
  /** The fetch to use (tests inject one). @default globalThis.fetch */
  fetch?: typeof fetch;
  /** Aborts every call: the query's deadline or cancellation. */
  signal?: AbortSignal;
  /** Retries after a network error, a 5xx or a rate-limit answer. @default 2 */
  maxRetries?: number;
  /** First backoff delay; doubles each retry, with jitter. @default 200 */
  baseDelayMs?: number;
  /** The query's deadline, epoch ms: no retry waits past it, and without one a rate-limit answer
   * is not waited out. @default none */
  deadline?: number;
  /** Longest wait for a rate-limited source's budget to reset before retrying. @default 10000 */
  maxRateLimitWaitMs?: number;
  /**
   * Conditional requests: GETs send `If-None-Match` (or `If-Modified-Since`) with the validator
   * stored for their URL, and a 304 answer is rebuilt into the 200 it confirms — body and
   * headers (next-page links included) — whatever headers the 304 itself carries. GitHub does
   * not charge a 304 against the rate limit; they are counted apart, in `stats.revalidated`.
   * @default none
   */
  conditional?: ConditionalStore;
}

/** The validator of one GET URL's answer: what a conditional request sends back. */
export interface ConditionalValidator {
  /** The answer's `ETag`, sent back as `If-None-Match`. */
  etag?: string;
  /** The answer's `Last-Modified`, sent back as `If-Modified-Since` when there is no ETag. */
  lastModified?: string;
}

/**
 * A validator of one GET URL and everything needed to rebuild the 200 answer it stands for: the
 * decoded body and the headers a page is read from (`Link`, rate-limit readings…).
 */
export interface ConditionalEntry extends ConditionalValidator {
  /** The 200's decoded body. */
  body: unknown;
  /** The 200's headers, lower-case names, minus per-connection noise (cookies, dates, lengths). */
  headers: Record<string, string>;
}

/**
 * Where a client keeps the validators of its GETs, per request URL, so any later fetch of the
 * same URL — another cache entry, another column set — can revalidate it. The validator alone is
 * read before the request leaves; the page it stands for, while the request is out.
 */
export interface ConditionalStore {
  /** The validator last stored for a GET of this URL. */
  lookup(
    url: string,
  ): Promise<ConditionalValidator | undefined> | ConditionalValidator | undefined;
  /** The entry stored for this URL with `validator`; undefined when gone or of another one. */
  entry(
    url: string,
    validator: ConditionalValidator,
  ): Promise<ConditionalEntry | undefined> | ConditionalEntry | undefined;
  /** Records a 200 answer that carried a validator, or a 304 that confirmed a stored entry. */
  store(url: string, entry: ConditionalEntry, status: 200 | 304): Promise<void> | void;
}

/** An answer from the app, body already decoded. */
export interface SourceResponse<T = unknown> {
  /** The status; a 304 rebuilt from the conditional store reads as the 200 it confirms. */
  status: number;
  headers: Headers;
  body: T;
  url: string;
  /** Set when the app answered 304 and this is the stored 200 it confirmed. */
  revalidated?: boolean;
}

/** Query-string values; arrays repeat the key, undefined is skipped. */
export type QueryParams = Record<string, string | number | boolean | undefined | string[]>;

/** Per-request options. */
export interface RequestOptions {
  query?: QueryParams;
  /** JSON-encoded when not a string. */
  body?: unknown;
  headers?: HeadersInit;
  /**
   * Of a GET's decoded answer, what a stored validator keeps to rebuild it on a 304: the parts
   * every reader of this URL reads (validators are per URL, whichever caller asks). The caller
   * still gets the whole answer of a 200. @default the whole body
   */
  keep?: (body: unknown) => unknown;
}

/** Counters a query reports under `sources[]`. */
export interface SourceStats {
  /** HTTP requests sent that the app answered with anything but a 304, retries included. */
  calls: number;
  retries: number;
  /** 304 answers rebuilt from the conditional store: sent, but not charged by the app. */
  revalidated: number;
}

/**
 * A connection's HTTP client.
 *
 * @example
 * ```ts ignore
 * const client = new SourceClient(github, connection, { signal });
 * const res = await client.get<unknown[]>("/repos/acme/web/pulls", { state: "open" });
 * ```
 */
export class SourceClient {
  readonly stats: SourceStats;
  /** The most recent rate-limit reading from the app's headers. */
  lastRateLimit?: RateLimitInfo;
  readonly #connector: ConnectorDef;
  readonly #connection: Connection;
  readonly #fetch: typeof fetch;
  readonly #signal?: AbortSignal;
  readonly #maxRetries: number;
  readonly #baseDelayMs: number;
  readonly #conditional?: ConditionalStore;
  readonly #deadline: number;
  readonly #maxRateLimitWaitMs: number;
  readonly #base: URL;

  readonly #options: SourceClientOptions;

  constructor(
    connector: ConnectorDef,
    connection: Connection,
    options: SourceClientOptions = {},
    stats: SourceStats = { calls: 0, retries: 0, revalidated: 0 },
  ) {
    this.stats = stats;
    this.#options = options;
    this.#connector = connector;
    this.#connection = connection;
    this.#fetch = options.fetch ?? globalThis.fetch;
    this.#signal = options.signal;
    this.#maxRetries = options.maxRetries ?? 2;
    this.#baseDelayMs = options.baseDelayMs ?? 200;
    this.#conditional = options.conditional;
    this.#deadline = options.deadline ?? Infinity;
    this.#maxRateLimitWaitMs = options.maxRateLimitWaitMs ?? 10_000;
    this.#base = new URL(
      connection.baseUrl.endsWith("/") ? connection.baseUrl : connection.baseUrl + "/",
    );
  }

  /**
   * The same client (options, deadline, counters) for another base URL of the same app, e.g.
   * the `instance_url` an OAuth token answer names.
   *
   * @example
   * ```ts ignore
   * const instance = http.withBaseUrl(token.instanceUrl);
   * ```
   */
  withBaseUrl(baseUrl: string): SourceClient {
    const client = new SourceClient(
      this.#connector,
      { ...this.#connection, baseUrl },
      this.#options,
      this.stats,
    );
    client.lastRateLimit = this.lastRateLimit;
    return client;
  }

  /**
   * Resolves a path against the connection's base URL (keeping its path prefix, e.g.
   * `/api/v3`), or checks that an absolute URL (a `Link` or `nextRecordsUrl`) stays on the
   * app's origin, so credentials are never sent elsewhere.
   */
  url(pathOrUrl: string, query?: QueryParams): URL {
    let url: URL;
    if (/^https?:\/\//i.test(pathOrUrl)) {
      url = new URL(pathOrUrl);
      if (url.origin !== this.#base.origin) {
        throw this.error(
          "SOURCE_ERROR",
          `refused to follow a link to another origin (${url.origin})`,
        );
      }
    } else {
      url = new URL(pathOrUrl.replace(/^\/+/, ""), this.#base);
    }
    for (const [key, value] of Object.entries(query ?? {})) {
      if (value === undefined) continue;
      if (Array.isArray(value)) value.forEach((v) => url.searchParams.append(key, v));
      else url.searchParams.set(key, String(value));
    }
    return url;
  }

  /** GET a path or URL; see {@link SourceClient.request}. */
  get<T = unknown>(
    pathOrUrl: string,
    query?: QueryParams,
    headers?: HeadersInit,
  ): Promise<SourceResponse<T>> {
    return this.request<T>("GET", pathOrUrl, { query, headers });
  }

  /** POST a JSON body; see {@link SourceClient.request}. */
  post<T = unknown>(
    pathOrUrl: string,
    body: unknown,
    headers?: HeadersInit,
  ): Promise<SourceResponse<T>> {
    return this.request<T>("POST", pathOrUrl, { body, headers });
  }

  /**
   * Sends a request and returns the decoded JSON answer (or `null` for 204/304). Retries network
   * errors, 5xx and rate-limit answers whose wait fits before the deadline; throws an
   * {@link OmniError} for anything else that is not a success.
   */
  async request<T = unknown>(
    method: string,
    pathOrUrl: string,
    options: RequestOptions = {},
  ): Promise<SourceResponse<T>> {
    const url = this.url(pathOrUrl, options.query);
    const headers = new Headers(await this.#connector.authorize(this.#connection));
    headers.set("accept", headers.get("accept") ?? "application/json");
    headers.set("user-agent", "OmniSQL");
    for (const [k, v] of new Headers(options.headers)) headers.set(k, v);
    let validator = method === "GET" && this.#conditional && !headers.has("if-none-match")
      ? await this.#conditional.lookup(url.toString())
      : undefined;
    if (validator?.etag) headers.set("if-none-match", validator.etag);
    else if (validator?.lastModified) headers.set("if-modified-since", validator.lastModified);
    // The page a 304 would confirm is opened while the request is out, not before it leaves.
    let stored = validator ? this.#storedEntry(url, validator) : undefined;
    let body: string | undefined;
    if (options.body !== undefined) {
      body = typeof options.body === "string" ? options.body : JSON.stringify(options.body);
      if (!headers.has("content-type")) headers.set("content-type", "application/json");
    }

    for (let attempt = 0;; attempt++) {
      let res: Response;
      try {
        res = await this.#fetch(url, { method, headers, body, signal: this.#signal });
      } catch (err) {
        await this.#retryUnreachable(err, attempt, this.#signal);
        continue;
      }
      if (res.status === 304 && stored) {
        await res.body?.cancel();
        const entry = await stored;
        if (entry) return await this.#rebuild(url, res, entry);
        // The page is gone (expired, evicted, replaced by another version's): asked in full.
        headers.delete("if-none-match");
        headers.delete("if-modified-since");
        validator = stored = undefined;
        continue;
      }
      this.stats.calls++;
      const budget = this.#connector.readRateLimit(res.headers);
      this.#noteBudget(budget);
      if (await this.#retriedServerError(res, attempt, budget.retryAfterMs)) continue;
      const decoded = await this.#decode(res);
      if (res.status >= 400) {
        const failure = this.failure(
          res.status,
          decoded === MALFORMED ? null : decoded,
          res.headers,
        );
        if (await this.#waitedOutRateLimit(failure, attempt)) continue;
        throw failure;
      }
      if (res.status !== 204 && res.status !== 304 && decoded === MALFORMED) {
        // A reply cut short or mangled on the way (a proxy's page) may be whole next time.
        throw this.error("SOURCE_ERROR", `malformed reply (HTTP ${res.status}, not JSON)`, {
          status: res.status,
          transient: true,
        });
      }
      if (method === "GET" && res.status === 200 && decoded !== MALFORMED && this.#conditional) {
        const entry = validatorOf(res.headers, options.keep ? options.keep(decoded) : decoded);
        if (entry) await this.#conditional.store(url.toString(), entry, 200);
      }
      return {
        status: res.status,
        headers: res.headers,
        body: (decoded === MALFORMED ? null : decoded) as T,
        url: url.toString(),
      };
    }
  }

  /**
   * A raw exchange for protocols whose answers are not one JSON body to decode here (an MCP
   * server's event streams): fetch-shaped, so a protocol library can use it as its `fetch`. It
   * adds the connection's authentication (unless the request carries its own `Authorization`),
   * retries network errors, 5xx and rate-limit answers as {@link SourceClient.request} does,
   * counts every call, and returns any other answer undecoded: a success, or a status in
   * `options.passThrough` the caller handles itself (an auth challenge, an expired session).
   * Every other failure throws the vocabulary's error.
   *
   * @example
   * ```ts ignore
   * const transport = new StreamableHTTPClientTransport(url, {
   *   fetch: (url, init) => http.send(url, init, { passThrough: [404, 405] }),
   * });
   * ```
   */
  async send(
    input: string | URL,
    init: RequestInit = {},
    options: { passThrough?: number[] } = {},
  ): Promise<Response> {
    const url = new URL(input);
    const headers = new Headers(init.headers);
    if (!headers.has("authorization")) {
      for (const [k, v] of new Headers(await this.#connector.authorize(this.#connection))) {
        if (!headers.has(k)) headers.set(k, v);
      }
    }
    headers.set("user-agent", "OmniSQL");
    const signal = init.signal && this.#signal
      ? AbortSignal.any([init.signal, this.#signal])
      : init.signal ?? this.#signal;
    for (let attempt = 0;; attempt++) {
      let res: Response;
      try {
        res = await this.#fetch(url, { ...init, headers, signal });
      } catch (err) {
        await this.#retryUnreachable(err, attempt, signal);
        continue;
      }
      this.stats.calls++;
      const budget = this.#connector.readRateLimit(res.headers);
      this.#noteBudget(budget);
      if (res.status < 400 || options.passThrough?.includes(res.status)) return res;
      if (await this.#retriedServerError(res, attempt, budget.retryAfterMs)) continue;
      const decoded = await this.#decode(res);
      const failure = this.failure(res.status, decoded === MALFORMED ? null : decoded, res.headers);
      if (await this.#waitedOutRateLimit(failure, attempt)) continue;
      throw failure;
    }
  }

  /**
   * The 200 a 304 confirms: its body and headers as stored. Only the budget is read from the
   * 304 when it carries one (it is the newer reading); a 304 without `Link` still pages on.
   */
  /** The stored entry of `validator`, or undefined (absent, another validator's, unreadable). */
  async #storedEntry(
    url: URL,
    validator: ConditionalValidator,
  ): Promise<ConditionalEntry | undefined> {
    try {
      const entry = await this.#conditional?.entry(url.toString(), validator);
      const same = entry?.etag === validator.etag &&
        entry?.lastModified === validator.lastModified;
      return same ? entry : undefined;
    } catch {
      return undefined;
    }
  }

  async #rebuild<T>(url: URL, res: Response, entry: ConditionalEntry): Promise<SourceResponse<T>> {
    this.stats.revalidated++;
    const headers = new Headers(entry.headers);
    const fresh = this.#connector.readRateLimit(res.headers);
    this.#noteBudget(
      Object.values(fresh).some((v) => v !== undefined)
        ? fresh
        : this.#connector.readRateLimit(headers),
    );
    await this.#conditional?.store(url.toString(), entry, 304);
    return { status: 200, headers, body: entry.body as T, url: url.toString(), revalidated: true };
  }

  /** Keeps a reading as the source's budget, unless it is of a side budget (GitHub search). */
  #noteBudget(reading: RateLimitInfo): void {
    if (!reading.side) this.lastRateLimit = reading;
  }

  async #decode(res: Response): Promise<unknown> {
    let text: string;
    try {
      text = await res.text();
    } catch (err) {
      if (this.#signal?.aborted) throw this.#aborted(err);
      return MALFORMED;
    }
    if (text === "") return res.status === 204 || res.status === 304 ? null : MALFORMED;
    try {
      return JSON.parse(text);
    } catch {
      return res.status >= 400 ? text : MALFORMED;
    }
  }

  /**
   * The error a failed answer means: a spent budget (`RATE_LIMIT_EXHAUSTED`, with when to retry),
   * else `SOURCE_ERROR` with the app's status and message. Also for errors an app reports inside
   * a 2xx (GraphQL).
   *
   * @example
   * ```ts ignore
   * if (body.errors?.length) throw http.failure(res.status, body, res.headers);
   * ```
   */
  failure(status: number, body: unknown, headers: Headers): OmniError {
    const reading = this.#connector.readError(status, body, headers);
    // This answer's own budget: with requests in parallel, the latest reading may be another's.
    const limit = this.#connector.readRateLimit(headers);
    const upstream = { status, upstreamMessage: reading.message };
    if (reading.rateLimited || status === 429) {
      const retryAfterMs = limit.retryAfterMs ??
        (limit.resetAt ? Math.max(0, limit.resetAt - Date.now()) : 60_000);
      return this.error(
        "RATE_LIMIT_EXHAUSTED",
        `the app's rate limit is spent: ${reading.message}`,
        { ...upstream, retryAfterMs, level: "source" },
      );
    }
    const what = status === 401
      ? "the app rejected the connection's credentials"
      : status === 403
      ? "the app denied access"
      : `the app answered HTTP ${status}`;
    return this.error("SOURCE_ERROR", `${what}: ${reading.message}`, upstream);
  }

  #aborted(err: unknown): OmniError {
    const reason = this.#signal?.reason;
    if (reason instanceof OmniError) return reason;
    return this.error("SOURCE_TIMEOUT", "the app did not answer in time", { cause: err });
  }

  /**
   * An error of this source, shaped as every source error is (see {@link sourceError}).
   *
   * @example
   * ```ts ignore
   * throw http.error("SOURCE_ERROR", "malformed reply: no data.issues", { transient: true });
   * ```
   */
  error(code: SourceErrorCode, message: string, extra: SourceErrorExtra = {}): OmniError {
    return sourceError(
      { source: this.#connection.name, connector: this.#connector.id },
      code,
      message,
      extra,
    );
  }

  /** The wait before retry `attempt`: the server's, else exponential with jitter, at most 5 s. */
  #backoffMs(attempt: number, serverWaitMs?: number): number {
    const exp = this.#baseDelayMs * 2 ** attempt;
    return Math.min(serverWaitMs ?? exp * (0.5 + Math.random()), 5_000);
  }

  /** Whether waiting `wait` ms still leaves the retry before the deadline. */
  /** Waits before the next attempt after a network failure, or throws when no attempt is left. */
  async #retryUnreachable(err: unknown, attempt: number, signal?: AbortSignal): Promise<void> {
    this.stats.calls++;
    if (signal?.aborted) throw this.#aborted(err);
    const wait = this.#backoffMs(attempt);
    if (attempt < this.#maxRetries && this.#fits(wait)) return await this.#backoff(wait);
    throw this.error("SOURCE_ERROR", `could not reach the app: ${errMessage(err)}`, {
      cause: err,
      transient: true,
    });
  }

  /** True when a 5xx reply was dropped and waited out, so the caller should try again. */
  async #retriedServerError(
    res: Response,
    attempt: number,
    retryAfterMs: number | undefined,
  ): Promise<boolean> {
    if (res.status < 500 || attempt >= this.#maxRetries) return false;
    const wait = this.#backoffMs(attempt, retryAfterMs);
    if (!this.#fits(wait)) return false;
    await res.body?.cancel();
    await this.#backoff(wait);
    return true;
  }

  /** True when a spent budget was waited out, so the caller should try again. */
  async #waitedOutRateLimit(failure: OmniError, attempt: number): Promise<boolean> {
    // A spent budget changes when it resets: wait for it if that fits before the deadline.
    // Only a caller with a deadline has told us how long a wait it can afford.
    if (
      failure.code !== "RATE_LIMIT_EXHAUSTED" || attempt >= this.#maxRetries ||
      this.#deadline === Infinity
    ) return false;
    const wait = failure.retryAfterMs ?? this.#backoffMs(attempt);
    if (wait > this.#maxRateLimitWaitMs || !this.#fits(wait)) return false;
    await this.#backoff(wait);
    return true;
  }

  #fits(wait: number): boolean {
    return Date.now() + wait < this.#deadline;
  }

  async #backoff(wait: number): Promise<void> {
    this.stats.retries++;
    const signal = this.#signal;
    if (signal?.aborted) throw this.#aborted(signal.reason);
    await new Promise<void>((resolve, reject) => {
      const onAbort = () => {
        clearTimeout(timer);
        reject(this.#aborted(signal?.reason));
      };
      const timer = setTimeout(() => {
        signal?.removeEventListener("abort", onAbort);
        resolve();
      }, wait);
      signal?.addEventListener("abort", onAbort, { once: true });
    });
  }
}

const MALFORMED = Symbol("malformed");

/** Headers never worth storing with a validator: per-answer noise, or secrets. */
const UNSTORED = new Set([
  "set-cookie",
  "date",
  "content-length",
  "content-encoding",
  "transfer-encoding",
  "connection",
  "keep-alive",
]);

/**
 * The validator of a 200 answer, with what rebuilds it, or undefined when it carries neither
 * `ETag` nor `Last-Modified`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { validatorOf } from "./http.ts";
 * const entry = validatorOf(new Headers({ etag: 'W/"1"', link: '<https://x/?page=2>; rel="next"',
 *   date: "Thu, 03 Dec 2026 10:00:00 GMT" }), [1]);
 * assert.deepEqual(entry, { etag: 'W/"1"', body: [1],
 *   headers: { etag: 'W/"1"', link: '<https://x/?page=2>; rel="next"' } });
 * ```
 */
export function validatorOf(headers: Headers, body: unknown): ConditionalEntry | undefined {
  const etag = headers.get("etag") ?? undefined;
  const lastModified = headers.get("last-modified") ?? undefined;
  if (!etag && !lastModified) return undefined;
  const kept: Record<string, string> = {};
  for (const [name, value] of headers) if (!UNSTORED.has(name)) kept[name] = value;
  return {
    ...(etag ? { etag } : {}),
    ...(lastModified ? { lastModified } : {}),
    body,
    headers: kept,
  };
}

function errMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
