/**
 * `deno task bench --cluster`: what a second instance buys. First measures the single process
 * (`deno task start`'s shape: edge and workers in one process), then starts `deno task cluster`
 * (every role its own process, on a fresh database of the Postgres at `DATABASE_URL` and the Redis
 * at `REDIS_URL`) with budgets that never bind, and measures at the same total connections:
 *
 * - the cached query through the single process, one edge, then split over both edges;
 * - warm joins (sources cached, the join run each time: the SQL differs per request so no result
 *   cache answers) on the single process's `us` worker, one `us` instance, then split over both.
 *
 * The figures go to their own report, `docs/bench/cluster.md` ({@link clusterReport}).
 *
 * @module
 */
import { waitHealthy } from "../../cluster/processes.ts";
import { forgetClusterSecrets, readClusterSecrets } from "../../cluster/secrets.ts";
import { withBudget } from "../../src/admin/budgets.ts";
import { DevIssuer } from "../../src/auth/dev_issuer.ts";
import { Catalog, CatalogKeyStore, openCatalog } from "../../src/catalog/mod.ts";
import { scratchDatabase } from "../../src/catalog/testing.ts";
import { DEV_ISSUER } from "../../src/config.ts";
import { KeyRing } from "../../src/crypto/mod.ts";
import { drive, type LoadResult } from "./_drivers.ts";
import { startBenchStack } from "./_stack.ts";
import { treeCpuMs } from "./_cpu.ts";
import { CACHED_SQL, SEED_QUERIES } from "./queries.ts";

/** One measured arrangement. */
export interface ClusterRun {
  /** What served the load, e.g. "1 edge" or "2 us instances". */
  label: string;
  connections: number;
  qps: number;
  p50_ms: number;
  p99_ms: number;
  errors: number;
  /**
   * CPU the serving processes spent per answered request, ms (edges, workers, engines, bridge;
   * not Redis nor the load generator): comparable whatever else the machine runs.
   */
  cpu_ms_per_request?: number;
}

/** The cluster section's figures. */
export interface ClusterResult {
  /** Connections of the cached loads. */
  connections: number;
  /** Connections of the warm-join loads. @default connections */
  joinConnections?: number;
  /** The same loads on one process, measured first (absent: not measured). */
  single?: { cached: ClusterRun; warmJoin: ClusterRun };
  cached: ClusterRun[];
  warmJoin: { sql: string; runs: ClusterRun[] };
}

const local = (p: number) => `http://127.0.0.1:${p}`;
/** Where each request's number goes in a varied body. */
const VARY = "__N__";

/** How one arrangement is loaded: its URLs share the connections evenly. */
interface Load {
  token: string;
  connections: number;
  /** The serving processes' root (their CPU is counted). */
  servers: number;
  loadMs: number;
  log: (s: string) => void;
}

/** Loads every URL at once with `body` (its `VARY` made unique per URL and request). */
async function measure(label: string, urls: string[], body: string, load: Load) {
  load.log(`  ${label}, ${load.connections} connections`);
  const share = Math.max(1, Math.floor(load.connections / urls.length));
  const cpuBefore = await treeCpuMs(load.servers);
  const results = await Promise.all(urls.map((url, i) =>
    drive("deno", {
      url: `${url}/v1/query`,
      headers: { "content-type": "application/json", authorization: `Bearer ${load.token}` },
      // Each target's requests are numbered apart, so no two in the run are the same SQL.
      body: body.replaceAll(VARY, `${VARY}${i}`),
      vary: VARY,
      concurrency: share,
      durationMs: load.loadMs,
      maxRequests: 10_000_000,
    })
  ));
  const cpuMs = await treeCpuMs(load.servers) - cpuBefore;
  const run = combine(label, share * urls.length, results);
  const answered = results.reduce((n, r) => n + r.requests - r.errors, 0);
  return { ...run, cpu_ms_per_request: cpuMs / Math.max(1, answered) };
}

const CACHED_BODY = JSON.stringify({
  sql: CACHED_SQL,
  metadata: { max_staleness_ms: 600_000 },
});
const JOIN_SQL = SEED_QUERIES.find((q) => q.id === "cross_app_join")!.sql;
/** The join with a tag column, so that no two tags share a result-cache entry. */
const joinBody = (tag: string) =>
  JSON.stringify({
    sql: JOIN_SQL.replace("SELECT ", `SELECT '${tag}' AS variant, `),
    metadata: { max_staleness_ms: 600_000 },
  });

/** The cached query through the edge and warm joins on the `us` worker, all in one process. */
async function runSingleProcess(
  options: {
    connections: number;
    joinConnections: number;
    loadMs: number;
    latencyMs: number;
    log: (s: string) => void;
  },
): Promise<NonNullable<ClusterResult["single"]>> {
  options.log("  starting the single-process stack…");
  const bench = await startBenchStack({ scale: 1, latencyMs: options.latencyMs });
  try {
    const load = { ...options, token: bench.tokens.dev, servers: Deno.pid };
    const label = "single process (`deno task start`)";
    const us = bench.stack.workerUrls.us;
    await post(bench.edgeUrl, load.token, CACHED_BODY);
    const cached = await measure(label, [bench.edgeUrl], CACHED_BODY, load);
    await post(us, load.token, joinBody("warm-up"));
    const joins = { ...load, connections: options.joinConnections };
    const warmJoin = await measure(label, [us], joinBody(`single-${VARY}`), joins);
    return { cached, warmJoin };
  } finally {
    await bench.close();
  }
}

/** Runs the cluster scenario: the single process first, then the cluster. */
export async function runCluster(options: {
  port: number;
  /** Connections of the cached loads. */
  connections: number;
  /** Connections of the warm-join loads (each join takes a share of an engine). */
  joinConnections: number;
  loadMs: number;
  latencyMs: number;
  log: (s: string) => void;
}): Promise<ClusterResult> {
  const { port, connections } = options;
  const single = await runSingleProcess(options);
  const serverUrl = Deno.env.get("DATABASE_URL") ?? "postgres://postgres@127.0.0.1:5432/test";
  const scratch = await scratchDatabase(serverUrl, "omnisql_bench_cluster");
  const databaseUrl = scratch.url;
  options.log(`  starting the cluster on ports ${port}…`);
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", new URL("../../cluster/main.ts", import.meta.url).pathname],
    env: {
      PORT: `${port}`,
      DATABASE_URL: databaseUrl,
      SANDBOX_LATENCY_MS: `${options.latencyMs}`,
      OMNISQL_GLOBAL_PER_MINUTE: "1000000000",
    },
    stdout: "null",
    stderr: "null",
  }).spawn();
  try {
    for (const p of [port, port + 1, port + 10, port + 11]) {
      await waitHealthy(`${local(p)}/healthz`, 240_000);
    }
    const secrets = (await readClusterSecrets(databaseUrl))!;
    await raiseBudgets(databaseUrl, secrets.OMNISQL_MASTER_KEY);
    const issuer = await DevIssuer.fromSecret(secrets.DEV_ISSUER_SECRET, DEV_ISSUER, "omnisql");
    const token = await issuer.mint({ sub: "dev@acme", tenant: "acme" });
    const load = { ...options, token, servers: child.pid };
    const joins = { ...load, connections: options.joinConnections };
    const [edge1, edge2, us1, us2] = [port, port + 1, port + 10, port + 11].map(local);

    await post(edge1, load.token, CACHED_BODY);
    const cached = [
      await measure("1 edge", [edge1], CACHED_BODY, load),
      await measure("2 edges", [edge1, edge2], CACHED_BODY, load),
    ];
    await post(us1, load.token, joinBody("warm-up")); // fills the zone's shared source cache
    const warmJoin = {
      sql: JOIN_SQL,
      runs: [
        await measure("1 us instance", [us1], joinBody(`one-${VARY}`), joins),
        await measure("2 us instances", [us1, us2], joinBody(`two-${VARY}`), joins),
      ],
    };
    return { connections, joinConnections: options.joinConnections, single, cached, warmJoin };
  } finally {
    try {
      child.kill("SIGTERM");
    } catch { /* gone */ }
    await child.status;
    await scratch.drop();
    await forgetClusterSecrets(databaseUrl);
  }
}

function combine(label: string, connections: number, loads: LoadResult[]): ClusterRun {
  const requests = loads.reduce((n, l) => n + l.requests, 0);
  // Percentiles of the parts, weighted by their requests: close enough at equal shares.
  const weighted = (pick: (l: LoadResult) => number) =>
    loads.reduce((n, l) => n + pick(l) * l.requests, 0) / Math.max(1, requests);
  return {
    label,
    connections,
    qps: loads.reduce((n, l) => n + l.qps, 0),
    p50_ms: weighted((l) => l.p50_ms),
    p99_ms: Math.max(...loads.map((l) => l.p99_ms)),
    errors: loads.reduce((n, l) => n + l.errors, 0),
  };
}

async function post(baseUrl: string, token: string, body: string): Promise<void> {
  const res = await fetch(`${baseUrl}/v1/query`, {
    method: "POST",
    headers: { "content-type": "application/json", authorization: `Bearer ${token}` },
    body,
  });
  const text = await res.text();
  if (!res.ok) throw new Error(`cluster bench: HTTP ${res.status} ${text.slice(0, 300)}`);
}

/** Budgets that never bind, so the bench measures throughput rather than budgets. */
async function raiseBudgets(databaseUrl: string, masterKey: string): Promise<void> {
  const db = await openCatalog({ databaseUrl, maxConnections: 1 });
  try {
    const catalog = new Catalog(
      db.db,
      new KeyRing({ masterKey, store: new CatalogKeyStore(db.db) }),
    );
    let settings = (await catalog.getTenant("acme"))!.settings;
    for (const level of ["user", "tenant"] as const) {
      settings = withBudget(settings, level, 1_000_000_000);
    }
    await catalog.setTenantSettings("acme", settings);
  } finally {
    await db.close();
  }
  // The servers memoise settings for 2 s and catalog reads for 1 s.
  await new Promise((r) => setTimeout(r, 3_500));
}

/** Where and when a cluster run was measured. */
export interface ClusterRunInfo {
  date: string;
  command: string;
  cores: number;
  deno: string;
  loadavgStart: number[];
  loadavgEnd: number[];
  errors: string[];
}

/**
 * The cluster report (`docs/bench/cluster.md`): the run's conditions, then each load through the
 * single process, one instance and two.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { clusterReport } from "./cluster.ts";
 * const run = { label: "1 edge", connections: 8, qps: 100, p50_ms: 5, p99_ms: 20, errors: 0 };
 * const md = clusterReport(
 *   { connections: 8, single: { cached: run, warmJoin: run }, cached: [run], warmJoin: { sql: "SELECT 1", runs: [] } },
 *   { date: "2026-12-03", command: "deno task bench --cluster", cores: 2, deno: "2.9", loadavgStart: [1, 1, 1], loadavgEnd: [2, 2, 2], errors: [] },
 * );
 * assert.match(md, /\| 1 edge \| 8 \| 100 \|/);
 * assert.match(md, /load average 1\.00 \/ 1\.00 \/ 1\.00 at start/);
 * ```
 */
export function clusterReport(r: ClusterResult | undefined, info: ClusterRunInfo): string {
  const avg = (l: number[]) => l.map((x) => x.toFixed(2)).join(" / ");
  return [
    "# OmniSQL bench: cluster mode",
    "",
    `\`${info.command}\`, ${info.date}. ${info.cores} cores, Deno ${info.deno}; load average ` +
    `${avg(info.loadavgStart)} at start, ${avg(info.loadavgEnd)} at end` +
    (info.loadavgStart[0] > info.cores * 0.5
      ? " — **the machine was busy (other work shares its cores): figures are noisy**."
      : "."),
    "",
    ...(info.errors.length ? ["Errors:", "", ...info.errors.map((e) => `- ${e}`), ""] : []),
    ...(r ? [clusterMarkdown(r)] : []),
  ].join("\n");
}

/**
 * The figures of a cluster run as markdown: the cached query and warm joins, each through the
 * single process, one instance and two.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { clusterMarkdown } from "./cluster.ts";
 * const run = { label: "1 edge", connections: 8, qps: 100, p50_ms: 5, p99_ms: 20, errors: 0 };
 * const md = clusterMarkdown({ connections: 8, cached: [run], warmJoin: { sql: "SELECT 1", runs: [] } });
 * assert.match(md, /\| 1 edge \| 8 \| 100 \|/);
 * ```
 */
export function clusterMarkdown(r: ClusterResult): string {
  const row = (x: ClusterRun) =>
    `| ${x.label} | ${x.connections} | ${Math.round(x.qps)} | ${x.p50_ms.toFixed(1)} | ${
      x.p99_ms.toFixed(1)
    } | ${x.errors} | ${x.cpu_ms_per_request?.toFixed(2) ?? "—"} |`;
  const table = (single: ClusterRun | undefined, runs: ClusterRun[]) => [
    "| served by | connections | QPS | P50 ms | P99 ms | errors | server CPU ms / answer |",
    "| --- | ---: | ---: | ---: | ---: | ---: | ---: |",
    ...(single ? [row(single)] : []),
    ...runs.map(row),
  ];
  const gain = (single: ClusterRun | undefined, runs: ClusterRun[]) =>
    [
      runs.length === 2
        ? `The second instance changes throughput ×${(runs[1].qps / runs[0].qps).toFixed(2)}`
        : "",
      single && runs.length === 2
        ? `; two instances against the single process: ×${(runs[1].qps / single.qps).toFixed(2)}.`
        : runs.length === 2
        ? "."
        : "",
    ].join("");
  return [
    "## Cluster: what a second instance buys (`deno task bench --cluster`)",
    "",
    "`deno task cluster`: every role its own process — two edges, two `us` instances, one `eu`, the " +
    "Redis-over-HTTP bridge and the sandboxes — on real Postgres and Redis, sharing caches and " +
    "budgets through the bridge. The single process is `deno task start`'s shape (edge and zone " +
    "workers in one process, caches in its memory), measured first in the same run. Same total " +
    "connections in each table, split evenly across the instances; Deno load generator (its own " +
    "process). On one machine every process shares its cores: a second instance adds failover " +
    "and headroom for blocking work, not CPU. QPS depends on what else runs on the machine; the " +
    "serving processes' CPU per answer (user + system time of every process of the stack or " +
    "cluster — edges, workers, engines, bridge, sandboxes — but not Redis nor the load generator, " +
    "divided by the answers) does not.",
    "",
    "Cached query (`scenario 1`'s SQL, answered from the result cache: the process's memory, or " +
    "the shared Redis through the bridge in the cluster):",
    "",
    ...table(r.single?.cached, r.cached),
    "",
    gain(r.single?.cached, r.cached),
    "",
    "Warm joins (the cross-app join with its sources in the zone's source cache; each request's " +
    "SQL differs, so the join runs in DuckDB every time), sent to the zone's own endpoints:",
    "",
    ...table(r.single?.warmJoin, r.warmJoin.runs),
    "",
    gain(r.single?.warmJoin, r.warmJoin.runs),
    "",
  ].join("\n");
}
