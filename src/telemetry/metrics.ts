/**
 * Prometheus metrics of one app (the edge, or one zone's worker), kept in its own prom-client
 * registry so that apps sharing a process (the local stack) never mix their figures.
 *
 * Other parts record through the small {@link MetricsRecorder} interface (`cacheHit`,
 * `rateLimitRefused`…) and feed gauges through callbacks registered at wiring time
 * (`observeBreakers`, `observeQueueDepth`), so none of them depends on prom-client.
 *
 * @module
 */
import { Counter, Gauge, Histogram, Registry } from "prom-client";
import type { PoolStats } from "../duckdb/pool.ts";
import { counterIn } from "./counter.ts";

/** The state of one circuit breaker, as the breaker-state gauge shows it. */
export interface BreakerReading {
  /** What the breaker guards, e.g. a connection name or a connector id. */
  source: string;
  /** The tenant whose source it is; shown only with {@link MetricsOptions.tenantLabels}. */
  tenant?: string;
  state: "closed" | "half_open" | "open";
}

/** Options of {@link Metrics}. */
export interface MetricsOptions {
  /**
   * Label series with tenant ids. A scrape then lists every tenant by name, which whoever reads
   * the metrics may not be entitled to know: off unless configured
   * (`OMNISQL_METRICS_TENANT_LABELS=on`). @default false
   */
  tenantLabels?: boolean;
}

/** What parts of OmniSQL record; {@link NO_METRICS} when nothing is collected. */
export interface MetricsRecorder {
  /** One finished query: `status` is `ok` or the error code. */
  query(labels: { status: string; tenant: string; zone: string }, seconds: number): void;
  /** One HTTP call to an app: `status` is the HTTP status, or `network` when none came back. */
  connectorRequest(connector: string, status: string): void;
  /** One failed source fetch, by error code. */
  connectorError(connector: string, code: string): void;
  /** A cache answered (`kind`: `result`, `source`…). */
  cacheHit(kind: string): void;
  /** A cache had nothing usable. */
  cacheMiss(kind: string): void;
  /** A budget refused a query (`level`: `user`, `tenant`, `source`…). */
  rateLimitRefused(level: string): void;
}

/** A recorder that records nothing, for code run without metrics. */
export const NO_METRICS: MetricsRecorder = {
  query() {},
  connectorRequest() {},
  connectorError() {},
  cacheHit() {},
  cacheMiss() {},
  rateLimitRefused() {},
};

/** Upper bounds of the latency histogram, in seconds: cached answers to slow federated joins. */
const LATENCY_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 120];

const BREAKER_VALUE = { closed: 0, half_open: 1, open: 2 } as const;

/**
 * The metrics of one app.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { Metrics } from "./metrics.ts";
 * const metrics = new Metrics({ tenantLabels: true });
 * metrics.query({ status: "ok", tenant: "acme", zone: "us" }, 0.12);
 * assert.ok((await metrics.render()).includes("omnisql_queries_total"));
 * ```
 */
export class Metrics implements MetricsRecorder {
  /** The prom-client registry of this app. */
  readonly registry: Registry = new Registry();
  readonly #queries;
  readonly #latency;
  readonly #connectorRequests;
  readonly #connectorErrors;
  readonly #cacheHits;
  readonly #cacheMisses;
  readonly #refusals;
  readonly #breakerSources: (() => BreakerReading[] | Promise<BreakerReading[]>)[] = [];
  readonly #queueDepths: (() => number | Promise<number>)[] = [];
  readonly #tenantLabels: boolean;
  /** The series a query counts in, by label values: labels hashed once per series. */
  readonly #querySeries = new Map<string, { inc(): void; observe(seconds: number): void }>();

  constructor(options: MetricsOptions = {}) {
    const registers = [this.registry];
    const tenantLabels = this.#tenantLabels = options.tenantLabels ?? false;
    this.#queries = new Counter({
      name: "omnisql_queries_total",
      help: tenantLabels
        ? "Queries answered, by status (ok or error code), tenant and zone."
        : "Queries answered, by status (ok or error code) and zone.",
      labelNames: tenantLabels ? ["status", "tenant", "zone"] : ["status", "zone"],
      registers,
    });
    this.#latency = new Histogram({
      name: "omnisql_query_latency_seconds",
      help: "Time to answer a query, in seconds.",
      labelNames: ["zone"] as const,
      buckets: LATENCY_BUCKETS,
      registers,
    });
    // The plain counters, kept in this registry like every series.
    const counter = <L extends string>(name: string, labelNames: readonly L[], help: string) =>
      counterIn(this.registry, { name, help, labelNames });
    this.#connectorRequests = counter(
      "omnisql_connector_requests_total",
      ["connector", "status"],
      "HTTP calls to apps, by connector and HTTP status (network: no answer).",
    );
    this.#connectorErrors = counter(
      "omnisql_connector_errors_total",
      ["connector", "code"],
      "Source fetches that failed, by connector and error code.",
    );
    this.#cacheHits = counter(
      "omnisql_cache_hits_total",
      ["kind"],
      "Cache lookups that answered, by cache kind.",
    );
    this.#cacheMisses = counter(
      "omnisql_cache_misses_total",
      ["kind"],
      "Cache lookups that found nothing usable, by cache kind.",
    );
    this.#refusals = counter(
      "omnisql_rate_limit_refusals_total",
      ["level"],
      "Queries refused because a budget was spent, by level.",
    );
    const breakerSources = this.#breakerSources;
    new Gauge({
      name: "omnisql_breaker_state",
      help: "Circuit breaker state per source: 0 closed, 1 half-open, 2 open.",
      labelNames: ["source"] as const,
      registers,
      async collect() {
        this.reset();
        // Without tenant labels several tenants' breakers share a source: the worst state shows.
        const states = new Map<string, number>();
        for (const read of breakerSources) {
          for (const b of await read()) {
            const source = tenantLabels && b.tenant ? `${b.tenant}/${b.source}` : b.source;
            states.set(source, Math.max(states.get(source) ?? 0, BREAKER_VALUE[b.state]));
          }
        }
        for (const [source, value] of states) this.set({ source }, value);
      },
    });
    const queueDepths = this.#queueDepths;
    new Gauge({
      name: "omnisql_async_queue_depth",
      help: "Async query jobs waiting or running.",
      registers,
      async collect() {
        let depth = 0;
        for (const read of queueDepths) depth += await read();
        this.set(depth);
      },
    });
  }

  query(labels: { status: string; tenant: string; zone: string }, seconds: number): void {
    const { status, tenant, zone } = labels;
    const key = this.#tenantLabels ? `${status}\n${zone}\n${tenant}` : `${status}\n${zone}`;
    let series = this.#querySeries.get(key);
    if (!series) {
      const count = this.#queries.labels(
        this.#tenantLabels ? { status, tenant, zone } : { status, zone },
      );
      const latency = this.#latency.labels({ zone });
      series = { inc: () => count.inc(), observe: (v) => latency.observe(v) };
      this.#querySeries.set(key, series);
    }
    series.inc();
    series.observe(seconds);
  }

  connectorRequest(connector: string, status: string): void {
    this.#connectorRequests.inc({ connector, status });
  }

  connectorError(connector: string, code: string): void {
    this.#connectorErrors.inc({ connector, code });
  }

  cacheHit(kind: string): void {
    this.#cacheHits.inc({ kind });
  }

  cacheMiss(kind: string): void {
    this.#cacheMisses.inc({ kind });
  }

  rateLimitRefused(level: string): void {
    this.#refusals.inc({ level });
  }

  /** Registers where the breaker-state gauge reads the breakers from, at scrape time. */
  observeBreakers(read: () => BreakerReading[] | Promise<BreakerReading[]>): void {
    this.#breakerSources.push(read);
  }

  /** Registers where the async-queue-depth gauge reads from, at scrape time (summed). */
  observeQueueDepth(read: () => number | Promise<number>): void {
    this.#queueDepths.push(read);
  }

  /**
   * Registers an engine pool whose figures are read at scrape time: its size, busy engines,
   * queue length, and the totals of deadline stops, memory stops and replaced engines.
   */
  observeEnginePool(zone: string, read: () => PoolStats): void {
    const figures: [keyof PoolStats, string, string][] = [
      ["size", "omnisql_engine_pool_size", "Queries the zone's engine pool runs at once."],
      ["busy", "omnisql_engine_busy", "Engines running a query now."],
      ["queued", "omnisql_engine_queue_length", "Queries waiting for an engine."],
      ["processes", "omnisql_engine_processes", "Engine processes started (busy, idle, spare)."],
      ["timeouts", "omnisql_engine_timeouts_total", "Queries their deadline stopped in an engine."],
      ["memoryKills", "omnisql_engine_memory_kills_total", "Engines stopped above memory caps."],
      ["replacements", "omnisql_engine_replacements_total", "Engine processes replaced."],
      ["lent", "omnisql_engine_lent", "Idle engines loading a query's first tables meanwhile."],
    ];
    for (const [key, name, help] of figures) {
      // Every series is labelled by the zone and kept in this registry; a `_total` is a counter
      // (the pool keeps the running total, so a scrape copies it), the rest are gauges.
      const options = { name, help, labelNames: ["zone"] as const, registers: [this.registry] };
      if (name.endsWith("_total")) {
        new Counter({
          ...options,
          collect() {
            this.reset();
            this.inc({ zone }, read()[key]);
          },
        });
      } else {
        new Gauge({
          ...options,
          collect() {
            this.set({ zone }, read()[key]);
          },
        });
      }
    }
  }

  /** The Prometheus text exposition of every metric. */
  render(): Promise<string> {
    return this.registry.metrics();
  }

  /** The content type of {@link render}'s text. */
  get contentType(): string {
    return this.registry.contentType;
  }
}
