/**
 * Pagination, written once: a connector declares its app's style — `Link` header, page number,
 * offset, cursor, page token, next URL, GraphQL connection — and {@link paginate} runs the loop,
 * reads each page's records, stops at the last page and guards against an app that pages forever
 * (the same next page twice, or the same records again). No connector writes a page loop.
 *
 * @module
 */
import type { QueryParams, RequestOptions, SourceClient, SourceResponse } from "./http.ts";
import { readOne, readPath } from "./json_path.ts";
import { parseLinkHeader } from "./link_header.ts";

/** One request of a paged list: the first as the connector builds it, the next ones derived. */
export interface PageRequest {
  /** @default "GET" */
  method?: "GET" | "POST";
  /** A path under the connection's base URL, or a URL the app handed out. */
  url: string;
  query?: QueryParams;
  /** JSON body (POST). */
  body?: Record<string, unknown>;
  headers?: HeadersInit;
}

/**
 * How an app pages. `items` is the JSON path of the page's records (`.` for the body itself,
 * `issues`, `[].x`…; see `readPath`).
 */
export type PageStyle =
  /** One page only. */
  | { style: "none"; items: string }
  /** RFC 8288 `Link: <…>; rel="next"` (GitHub); `query` is re-sent with each link (an API key). */
  | { style: "link"; items: string; query?: QueryParams }
  /** `?page=N` from `first` (default 1); a page shorter than `size` is the last. */
  | { style: "page"; items: string; param: string; size: number; first?: number }
  /** `?offset=N` from 0, `size` at a time; a page shorter than `size` is the last. */
  | { style: "offset"; items: string; param: string; size: number }
  /** A cursor read from the answer at `next`, sent as the query parameter `param`. */
  | { style: "cursor"; items: string; param: string; next: string }
  /**
   * A page token read at `next`, sent in the POST body as `field` (Jira's `nextPageToken`); the
   * answer's `last` path, when true, ends the list.
   */
  | { style: "token"; items: string; field: string; next: string; last?: string }
  /**
   * A URL read at `next` (Salesforce's `nextRecordsUrl`); `done`, when true, ends the list (and
   * when false, the URL must be there).
   */
  | { style: "next_url"; items: string; next: string; done?: string }
  /**
   * A GraphQL connection at `connection` (`data.issues`): records in `nodes`, `pageInfo {
   * hasNextPage endCursor }`, the cursor sent as the variable `variable` (default `after`). GraphQL
   * errors inside a 200 are the app's failure.
   */
  | { style: "graphql"; connection: string; variable?: string };

/** One page as fetched. */
export interface Page {
  /** The page's records, read at the style's `items` path. */
  items: unknown[];
  response: SourceResponse;
  request: PageRequest;
  /** 0 for the first page. */
  index: number;
}

/** Options of {@link paginate}. */
export interface PaginateOptions {
  /** Stops before the next request once aborted. */
  signal?: AbortSignal;
  /**
   * Sends one page request (e.g. through a token refresh). @default the client's `request`
   */
  send?: (request: PageRequest) => Promise<SourceResponse>;
  /**
   * Every page request runs through it: a limiter that keeps a source's pages in flight within
   * its concurrency budget, across partitions and queries. @default none
   */
  limiter?: { run<T>(task: () => Promise<T>): Promise<T> };
  /**
   * `link` style: when the first page's `rel="last"` link numbers its pages (`page=N`, as
   * GitHub's lists do), request the remaining pages all at once (within `limiter`), still
   * yielded in order. @default false
   */
  parallel?: boolean;
  /** What a stored validator keeps of each page ({@link RequestOptions.keep}). @default all */
  keep?: RequestOptions["keep"];
}

/**
 * Streams the pages of a list, first to last.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { paginate, SourceClient } from "./mod.ts";
 * const fetch = ((input: URL | RequestInfo) => {
 *   const page = Number(new URL(String(input)).searchParams.get("page") ?? 1);
 *   return Promise.resolve(Response.json(page < 3 ? [page, page] : [page]));
 * }) as typeof globalThis.fetch;
 * const http = new SourceClient({ id: "x", description: "", tables: [], authorize: () => ({}),
 *   readRateLimit: () => ({}), readError: () => ({ message: "" }) },
 *   { id: "c", tenantId: "t", connector: "x", name: "x", baseUrl: "https://x.test",
 *     credentials: {}, config: {} }, { fetch });
 * const items: unknown[] = [];
 * for await (const page of paginate(http, { style: "page", items: ".", param: "page", size: 2 },
 *   { url: "/things", query: { per_page: 2 } })) items.push(...page.items);
 * assert.deepEqual(items, [1, 1, 2, 2, 3]);
 * ```
 */
export async function* paginate(
  http: SourceClient,
  style: PageStyle,
  first: PageRequest,
  options: PaginateOptions = {},
): AsyncGenerator<Page> {
  const direct = options.send ??
    ((r: PageRequest) =>
      http.request(r.method ?? "GET", r.url, {
        query: r.query,
        body: r.body,
        headers: r.headers,
        keep: options.keep,
      }));
  const limiter = options.limiter;
  const send = limiter ? (r: PageRequest) => limiter.run(() => direct(r)) : direct;
  const seen = new Set<string>();
  let previous: string | undefined;
  let request: PageRequest | undefined = first;
  for (let index = 0; request; index++) {
    const response = await send(request);
    const items = itemsOf(http, style, response);
    const page: Page = { items, response, request, index };
    if (style.style === "link" && index === 0 && options.parallel) {
      const rest = numberedPages(response);
      if (rest) {
        yield page;
        yield* parallelPages(http, style, rest, send, options.signal);
        return;
      }
    }
    if (style.style === "page" || style.style === "offset") {
      // An app that ignores the page parameter answers the same records forever.
      const fingerprint = JSON.stringify(items);
      if (items.length > 0 && fingerprint === previous) throw looping(http, style);
      previous = fingerprint;
    }
    yield page;
    if (options.signal?.aborted) return;
    request = nextRequest(http, style, page);
    if (request) {
      const key = nextKey(style, request);
      if (key !== undefined) {
        if (seen.has(key)) throw looping(http, style);
        seen.add(key);
      }
    }
  }
}

/** The records of a page, or a malformed-reply error naming where they should have been. */
function itemsOf(http: SourceClient, style: PageStyle, res: SourceResponse): unknown[] {
  if (style.style === "graphql") {
    const body = res.body as { errors?: unknown } | null;
    if (body && typeof body === "object" && Array.isArray(body.errors) && body.errors.length) {
      throw http.failure(res.status, body, res.headers);
    }
    const nodes = readOne(res.body, `${style.connection}.nodes`);
    const info = readOne(res.body, `${style.connection}.pageInfo`) as
      | { hasNextPage?: unknown }
      | undefined;
    if (!Array.isArray(nodes) || typeof info?.hasNextPage !== "boolean") {
      throw malformed(http, res, style.connection);
    }
    return nodes;
  }
  const found = style.items === "." ? res.body : readPath(res.body, style.items);
  const list = style.items === "." || style.items.includes("[]") ? found : (found as unknown[])[0];
  if (!Array.isArray(list)) throw malformed(http, res, style.items);
  return list;
}

/** The request of the page after `page`, or undefined when `page` is the last. */
function nextRequest(http: SourceClient, style: PageStyle, page: Page): PageRequest | undefined {
  const { request, response, items } = page;
  const body = response.body;
  const text = (path: string): string | undefined => {
    const v = readOne(body, path);
    if (v === undefined || v === null || v === "") return undefined;
    if (typeof v !== "string" && typeof v !== "number") throw malformed(http, response, path);
    return String(v);
  };
  switch (style.style) {
    case "none":
      return undefined;
    case "link": {
      const next = parseLinkHeader(response.headers.get("link")).next;
      return next ? { ...request, url: next, query: style.query } : undefined;
    }
    case "page": {
      if (items.length < style.size) return undefined;
      const current = Number(request.query?.[style.param] ?? style.first ?? 1);
      return { ...request, query: { ...request.query, [style.param]: current + 1 } };
    }
    case "offset": {
      if (items.length < style.size) return undefined;
      const current = Number(request.query?.[style.param] ?? 0);
      return { ...request, query: { ...request.query, [style.param]: current + items.length } };
    }
    case "cursor": {
      const cursor = items.length === 0 ? undefined : text(style.next);
      return cursor === undefined
        ? undefined
        : { ...request, query: { ...request.query, [style.param]: cursor } };
    }
    case "token": {
      if (style.last && readOne(body, style.last) === true) return undefined;
      const token = text(style.next);
      return token === undefined
        ? undefined
        : { ...request, body: { ...request.body, [style.field]: token } };
    }
    case "next_url": {
      const done = style.done ? readOne(body, style.done) : undefined;
      if (done === true) return undefined;
      const next = text(style.next);
      // An answer that says it is not done must say where the rest is.
      if (next === undefined && done === false) throw malformed(http, response, style.next);
      return next === undefined
        ? undefined
        : { method: "GET", url: next, headers: request.headers };
    }
    case "graphql": {
      const info = readOne(body, `${style.connection}.pageInfo`) as {
        hasNextPage: boolean;
        endCursor?: unknown;
      };
      if (!info.hasNextPage) return undefined;
      if (typeof info.endCursor !== "string" || info.endCursor === "") {
        throw malformed(http, response, `${style.connection}.pageInfo.endCursor`);
      }
      const variable = style.variable ?? "after";
      const variables = (request.body?.variables ?? {}) as Record<string, unknown>;
      return {
        ...request,
        body: { ...request.body, variables: { ...variables, [variable]: info.endCursor } },
      };
    }
  }
}

/** What must never repeat from one page to the next: the link, cursor, token or URL. */
function nextKey(style: PageStyle, next: PageRequest): string | undefined {
  switch (style.style) {
    case "link":
    case "next_url":
      return next.url;
    case "cursor":
      return String(next.query?.[style.param]);
    case "token":
      return String(next.body?.[style.field]);
    case "graphql":
      return String((next.body?.variables as Record<string, unknown>)[style.variable ?? "after"]);
    default:
      return undefined;
  }
}

/**
 * The URLs of pages 2..last when the first page's links number its pages (`page=2` next, `page=N`
 * last), else undefined (a cursor-paged answer has no usable `last`).
 */
function numberedPages(first: SourceResponse): string[] | undefined {
  const links = parseLinkHeader(first.headers.get("link"));
  if (!links.next || !links.last) return undefined;
  const next = new URL(links.next), last = new URL(links.last);
  const lastPage = Number(last.searchParams.get("page"));
  if (next.searchParams.get("page") !== "2" || !Number.isSafeInteger(lastPage) || lastPage < 2) {
    return undefined;
  }
  const urls: string[] = [];
  for (let n = 2; n <= lastPage; n++) {
    last.searchParams.set("page", String(n));
    urls.push(last.toString());
  }
  return urls;
}

async function* parallelPages(
  http: SourceClient,
  style: Extract<PageStyle, { style: "link" }>,
  urls: string[],
  send: (request: PageRequest) => Promise<SourceResponse>,
  signal: AbortSignal | undefined,
): AsyncGenerator<Page> {
  const requests = urls.map((url): PageRequest => ({ url, query: style.query }));
  const pending = requests.map(send);
  pending.forEach((p) => p.catch(() => {})); // awaited below, in order
  try {
    for (const [i, p] of pending.entries()) {
      if (signal?.aborted) return;
      const response = await p;
      yield { items: itemsOf(http, style, response), response, request: requests[i], index: i + 1 };
    }
  } finally {
    // Nothing left running when the consumer stops.
    await Promise.allSettled(pending);
  }
}

function looping(http: SourceClient, style: PageStyle) {
  return http.error("SOURCE_ERROR", `the app's ${style.style} pagination loops (same page twice)`);
}

function malformed(http: SourceClient, res: SourceResponse, where: string) {
  return http.error("SOURCE_ERROR", `malformed reply (HTTP ${res.status}): no valid ${where}`, {
    status: res.status,
  });
}
