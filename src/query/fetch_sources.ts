/**
 * The fetch orchestration of one query: every source in parallel, except the probe side of a
 * dependent join, which waits for its build side and is fetched with the build side's distinct
 * join keys pushed down (`branch = …` per key, or `key IN (…)` in chunks). Each source's native
 * requests are recorded as sent.
 *
 * @module
 */
import type { Row, ScanOffer } from "../../connectors/sdk/table.ts";
import type { Predicate, Scalar } from "../../connectors/sdk/predicate.ts";
import type { DependentJoin, QueryPlan, SourcePlan } from "../sql/plan.ts";
import type { FetchedSource } from "../source/fetch.ts";

/** A dependent join gives up (fetches the probe as planned) past this many native requests. */
export const MAX_DEPENDENT_REQUESTS = 40;
/** Requests listed per source; the rest are counted. */
export const MAX_RECORDED_REQUESTS = 25;

/** One source as fetched. */
export interface SourceScan {
  source: SourcePlan;
  result: FetchedSource;
  /** Milliseconds spent fetching it. */
  ms: number;
  /** When its fetch started, from `performance.now()`. */
  startedAt: number;
  /**
   * Fetched with a dependent join's keys: its rows are the keys' matches, not what its own plan
   * returns (nothing to learn that plan's size from).
   */
  keyed?: boolean;
  /** The native requests actually sent (empty when served from a cache), as reported: capped, cut. */
  requests: string[];
  /**
   * Every request sent, whole (no cap, no cut): what decides whether a request carried a value
   * the user may not read, wherever in it.
   */
  sentInFull: string[];
  /** Some of its rows came from a cache: requests sent then, for whoever asked, are unknown. */
  cached: boolean;
  /** How a dependent join fetched it, for `sources[].pushdown.dependent`. */
  dependent?: string;
}

/** Fetches one (possibly re-planned) source with the given `fetch` for its calls. */
export type FetchOne = (source: SourcePlan, fetcher: typeof fetch) => Promise<FetchedSource>;

/** Options of {@link fetchSources}. */
export interface FetchSourcesOptions {
  /** The `fetch` the app calls go through. @default globalThis.fetch */
  fetch?: typeof fetch;
  /**
   * Called with each source's scan as soon as it is fetched (`index`: its place in the plan),
   * before the others are: the engine may load it meanwhile.
   */
  onFetched?: (scan: SourceScan, index: number) => void;
}

/**
 * Fetches every source of a plan, in plan order.
 *
 * @example
 * ```ts ignore
 * const scans = await fetchSources(plan, (source, fetch) => fetchSource(source, { ...ctx, fetch }));
 * ```
 */
export async function fetchSources(
  plan: QueryPlan,
  fetchOne: FetchOne,
  options: FetchSourcesOptions = {},
): Promise<SourceScan[]> {
  const baseFetch = options.fetch ?? globalThis.fetch;
  const run = async (source: SourcePlan): Promise<SourceScan> => {
    const requests: string[] = [];
    const sentInFull: string[] = [];
    const t0 = performance.now();
    const result = await fetchOne(source, recordingFetch(baseFetch, requests, sentInFull));
    const ms = performance.now() - t0;
    return { source, result, ms, startedAt: t0, requests, sentInFull, cached: result.fromCache };
  };

  const tasks = new Map<string, Promise<SourceScan>>();
  const probes = new Map(plan.dependent.map((d) => [d.probe, d]));
  for (const source of plan.sources) {
    if (!probes.has(source.key)) tasks.set(source.key, run(source));
  }
  for (const source of plan.sources) {
    const dep = probes.get(source.key);
    if (!dep) continue;
    const build = tasks.get(dep.build);
    tasks.set(
      source.key,
      build ? build.then((b) => probe(source, dep, b.result.rows, run)) : run(source),
    );
  }
  // Settle everything before failing, so no fetch keeps running after the query has failed.
  const settled = await Promise.allSettled(
    plan.sources.map((s, i) =>
      tasks.get(s.key)!.then((scan) => {
        options.onFetched?.(scan, i);
        return scan;
      })
    ),
  );
  const failure = settled.find((s): s is PromiseRejectedResult => s.status === "rejected");
  if (failure) throw failure.reason;
  return settled.map((s) => (s as PromiseFulfilledResult<SourceScan>).value);
}

/** Fetches a probe side with the build side's keys, in chunks, merged into one scan. */
async function probe(
  source: SourcePlan,
  dep: DependentJoin,
  buildRows: Row[],
  run: (source: SourcePlan) => Promise<SourceScan>,
): Promise<SourceScan> {
  const keys = distinctKeys(buildRows, dep.buildColumn);
  const column = source.table.columns.find((c) => c.name.toLowerCase() === dep.probeColumn)?.name ??
    dep.probeColumn;
  const from = `${dep.build}.${dep.buildColumn}`;
  const chunks: Scalar[][] = [];
  for (let i = 0; i < keys.length; i += dep.chunk) chunks.push(keys.slice(i, i + dep.chunk));
  const perChunk = Math.max(1, source.plan.native.filter((l) => !l.includes("(per ")).length);
  if (chunks.length * perChunk > MAX_DEPENDENT_REQUESTS) {
    const scan = await run(source);
    return {
      ...scan,
      dependent: `not used: ${keys.length} keys from ${from} would need too many requests`,
    };
  }
  const label = `${column} ${dep.chunk === 1 ? "=" : "IN"} (${keys.length} distinct keys of ` +
    `${from}, fetched first${chunks.length > 1 ? `, ${chunks.length} requests` : ""})`;
  if (chunks.length === 0) {
    return {
      source,
      result: {
        plan: { ...source.plan, native: [] },
        rows: [],
        pages: 0,
        calls: 0,
        fromCache: false,
        fetchedAt: Date.now(),
      },
      ms: 0,
      startedAt: performance.now(),
      requests: [],
      sentInFull: [],
      cached: false,
      keyed: true,
      dependent: `${column}: no keys in ${from}, nothing fetched`,
    };
  }
  const t0 = performance.now();
  const scans = await Promise.all(chunks.map((values) => {
    const key: Predicate = values.length === 1
      ? { column, op: "=", value: values[0] }
      : { column, op: "in", values };
    const offer: ScanOffer = { ...source.offer, predicates: [...source.offer.predicates, key] };
    return run({ ...source, offer, plan: source.table.plan(offer, source.connection) });
  }));
  // A connector may push a key as a superset (a word search): keep each chunk's own keys only,
  // which also keeps a row that two chunks both returned from counting twice.
  const rows = scans.flatMap((scan, i) => {
    const own = new Set(chunks[i]);
    return scan.result.rows.filter((r) => own.has(r[column] as Scalar));
  });
  const results = scans.map((s) => s.result);
  return {
    source,
    result: {
      plan: {
        ...scans[0].result.plan,
        native: results.flatMap((r) => r.plan.native),
        pushed: source.plan.pushed,
        residual: source.plan.residual,
      },
      rows,
      pages: results.reduce((n, r) => n + r.pages, 0),
      calls: results.reduce((n, r) => n + r.calls, 0),
      revalidated: results.reduce((n, r) => n + (r.revalidated ?? 0), 0),
      fromCache: results.every((r) => r.fromCache),
      fetchedAt: Math.min(...results.map((r) => r.fetchedAt)),
      rateLimit: results.findLast((r) => r.rateLimit)?.rateLimit,
      ...(results.some((r) => r.stale) ? { stale: true } : {}),
      ...spanOf(results),
    },
    ms: performance.now() - t0,
    startedAt: t0,
    requests: capped(scans.flatMap((s) => s.requests)),
    sentInFull: scans.flatMap((s) => s.sentInFull),
    cached: scans.some((s) => s.cached),
    keyed: true,
    dependent: label,
  };
}

/** The span of the chunks' scans against the app, when any ran. */
function spanOf(results: FetchedSource[]): Pick<FetchedSource, "scan"> {
  const scans = results.flatMap((r) => r.scan ? [r.scan] : []);
  if (scans.length === 0) return {};
  const startedAt = Math.min(...scans.map((s) => s.startedAt));
  const end = Math.max(...scans.map((s) => s.startedAt + s.ms));
  return { scan: { startedAt, ms: end - startedAt } };
}

function distinctKeys(rows: Row[], column: string): Scalar[] {
  const out = new Set<Scalar>();
  for (const row of rows) {
    const name = Object.keys(row).find((k) => k.toLowerCase() === column);
    const value = name === undefined ? undefined : row[name];
    if (typeof value === "string" || (typeof value === "number" && Number.isFinite(value))) {
      out.add(value);
    }
  }
  return [...out];
}

/**
 * A `fetch` that records each request as `METHOD /path?query [body fields]`: in `out` as reported
 * (the first requests, each body field cut), and in `full` whole.
 */
function recordingFetch(base: typeof fetch, out: string[], full: string[]): typeof fetch {
  let extra = 0;
  return (input, init) => {
    const request = input instanceof Request ? input : undefined;
    const url = new URL(request ? request.url : String(input));
    const method = (init?.method ?? request?.method ?? "GET").toUpperCase();
    let line = `${method} ${url.pathname}${url.search}`;
    if (typeof init?.body === "string") {
      const { whole, shown } = describeBody(init.body);
      full.push(`${line} ${whole}`);
      line += " " + shown;
    } else full.push(line);
    if (out.length < MAX_RECORDED_REQUESTS) out.push(line);
    else {
      extra++;
      out[MAX_RECORDED_REQUESTS] = `… and ${extra} more`;
    }
    return base(input, init);
  };
}

function capped(lines: string[]): string[] {
  const plain = lines.filter((l) => !l.startsWith("… and "));
  const hidden = lines.length - plain.length > 0
    ? lines.filter((l) => l.startsWith("… and "))
      .reduce((n, l) => n + Number(/\d+/.exec(l)?.[0] ?? 0), 0)
    : 0;
  const more = plain.length - MAX_RECORDED_REQUESTS + hidden;
  return more > 0 ? [...plain.slice(0, MAX_RECORDED_REQUESTS), `… and ${more} more`] : plain;
}

/** How much of a body's field a request line shows: a GraphQL batch's query runs to thousands. */
const FIELD_SHOWN = 500;

/**
 * A body as the request line shows it, whole and with each field cut at {@link FIELD_SHOWN}: a
 * JSON object as `key=value` pairs (the form EXPLAIN uses), else the raw text.
 */
function describeBody(body: string): { whole: string; shown: string } {
  const fields = bodyFields(body);
  const describe = (max: number) =>
    fields ? fields.map(([k, v]) => `${k}=${cut(v, max)}`).join(" ") : cut(body, max);
  return { whole: describe(Infinity), shown: describe(FIELD_SHOWN) };
}

/** A JSON object body's fields as text, or undefined for any other body. */
function bodyFields(body: string): [string, string][] | undefined {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch {
    return undefined; // not JSON: shown as sent
  }
  if (!parsed || typeof parsed !== "object" || Array.isArray(parsed)) return undefined;
  // A JSON-RPC call's id is left out: a session's counter, it says how many calls every query
  // made through it, other users' and those a source conceals included.
  return Object.entries(parsed)
    .filter(([k]) => !(k === "id" && "jsonrpc" in parsed))
    .map(([k, v]) => [
      k,
      Array.isArray(v) ? v.join(",") : typeof v === "object" && v !== null
        ? JSON.stringify(v) // a JSON-RPC call's params, GraphQL variables
        : String(v),
    ]);
}

function cut(text: string, max: number): string {
  return text.length > max ? text.slice(0, max) + "…" : text;
}
