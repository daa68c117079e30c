/**
 * `deno task bench --cluster`: what a second instance buys. Starts `deno task cluster` (every
 * role its own process, on a fresh database of the Postgres at `DATABASE_URL` and the Redis at
 * `REDIS_URL`) with budgets that never bind, then measures at the same total connections:
 *
 * - the cached query through one edge, then split over both edges;
 * - warm joins (sources cached, the join run each time: the SQL differs per request so no result
 *   cache answers) on one `us` instance, then split over both.
 *
 * @module
 */
import postgres from "postgres";
import { forgetClusterSecrets, readClusterSecrets } from "../../cluster/secrets.ts";
import { withBudget } from "../../src/admin/budgets.ts";
import { DevIssuer } from "../../src/auth/dev_issuer.ts";
import { Catalog, CatalogKeyStore, openCatalog } from "../../src/catalog/mod.ts";
import { DEV_ISSUER } from "../../src/config.ts";
import { KeyRing } from "../../src/crypto/mod.ts";
import { drive, type LoadResult, type LoadSpec } from "./_drivers.ts";
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
}

/** The cluster section's figures. */
export interface ClusterResult {
  connections: number;
  cached: ClusterRun[];
  warmJoin: { sql: string; runs: ClusterRun[] };
}

const local = (p: number) => `http://127.0.0.1:${p}`;
/** Where each request's number goes in a varied body. */
const VARY = "__N__";

/** Runs the cluster scenario. */
export async function runCluster(options: {
  port: number;
  connections: number;
  loadMs: number;
  latencyMs: number;
  log: (s: string) => void;
}): Promise<ClusterResult> {
  const { port, connections } = options;
  const serverUrl = Deno.env.get("DATABASE_URL") ?? "postgres://postgres@127.0.0.1:5432/test";
  const name = `omnisql_bench_cluster_${crypto.randomUUID().replaceAll("-", "").slice(0, 10)}`;
  const admin = postgres(serverUrl, { max: 1, onnotice: () => {} });
  await admin.unsafe(`CREATE DATABASE ${name}`);
  const url = new URL(serverUrl);
  url.pathname = `/${name}`;
  const databaseUrl = url.toString();
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
    for (const p of [port, port + 1, port + 10, port + 11]) await healthy(`${local(p)}/healthz`);
    const secrets = (await readClusterSecrets(databaseUrl))!;
    await raiseBudgets(databaseUrl, secrets.OMNISQL_MASTER_KEY);
    const issuer = await DevIssuer.fromSecret(secrets.DEV_ISSUER_SECRET, DEV_ISSUER, "omnisql");
    const token = await issuer.mint({ sub: "dev@acme", tenant: "acme" });
    const spec = (target: number, body: string, share: number): LoadSpec => ({
      url: `${local(target)}/v1/query`,
      headers: { "content-type": "application/json", authorization: `Bearer ${token}` },
      body,
      vary: VARY,
      concurrency: share,
      durationMs: options.loadMs,
      maxRequests: 10_000_000,
    });
    const measure = async (label: string, targets: number[], body: string) => {
      options.log(`  ${label}, ${connections} connections`);
      const share = Math.max(1, Math.floor(connections / targets.length));
      // Each target's requests are numbered apart, so no two in the run are the same SQL.
      const loads = await Promise.all(
        targets.map((t, i) => drive("deno", spec(t, body.replaceAll(VARY, `${VARY}${i}`), share))),
      );
      return combine(label, share * targets.length, loads);
    };

    const cachedBody = JSON.stringify({ sql: CACHED_SQL, metadata: { max_staleness_ms: 600_000 } });
    await post(port, token, cachedBody);
    const cached = [
      await measure("1 edge", [port], cachedBody),
      await measure("2 edges", [port, port + 1], cachedBody),
    ];

    const join = SEED_QUERIES.find((q) => q.id === "cross_app_join")!.sql;
    const variant = (tag: string) =>
      JSON.stringify({
        sql: join.replace("SELECT ", `SELECT '${tag}' AS variant, `),
        metadata: { max_staleness_ms: 600_000 },
      });
    await post(port + 10, token, variant("warm-up")); // fills the zone's source cache
    const warmJoin = {
      sql: join,
      runs: [
        await measure("1 us instance", [port + 10], variant(`one-${VARY}`)),
        await measure("2 us instances", [port + 10, port + 11], variant(`two-${VARY}`)),
      ],
    };
    return { connections, cached, warmJoin };
  } finally {
    try {
      child.kill("SIGTERM");
    } catch { /* gone */ }
    await child.status;
    await admin.unsafe(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    await admin.end();
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

async function post(port: number, token: string, body: string): Promise<void> {
  const res = await fetch(`${local(port)}/v1/query`, {
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

async function healthy(url: string): Promise<void> {
  const deadline = Date.now() + 240_000;
  while (Date.now() < deadline) {
    try {
      const res = await fetch(url, { signal: AbortSignal.timeout(1000) });
      await res.body?.cancel();
      if (res.ok) return;
    } catch { /* not yet */ }
    await new Promise((r) => setTimeout(r, 500));
  }
  throw new Error(`cluster bench: ${url} never became healthy`);
}

/**
 * The report's cluster section, with the single-process figure of scenario 1 at the same
 * connections (Deno driver) when it ran.
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
export function clusterMarkdown(
  r: ClusterResult,
  singleProcess?: { qps: number; p50_ms: number; p99_ms: number },
): string {
  const row = (x: ClusterRun) =>
    `| ${x.label} | ${x.connections} | ${Math.round(x.qps)} | ${x.p50_ms.toFixed(1)} | ${
      x.p99_ms.toFixed(1)
    } | ${x.errors} |`;
  const head = [
    "| served by | connections | QPS | P50 ms | P99 ms | errors |",
    "| --- | ---: | ---: | ---: | ---: | ---: |",
  ];
  const gain = (runs: ClusterRun[]) =>
    runs.length === 2
      ? ` The second instance changes throughput ×${(runs[1].qps / runs[0].qps).toFixed(2)}.`
      : "";
  return [
    "## Cluster: what a second instance buys (`deno task bench --cluster`)",
    "",
    "`deno task cluster`: every role its own process — two edges, two `us` instances, one `eu`, the " +
    "Redis-over-HTTP bridge and the sandboxes — on real Postgres and Redis, sharing caches and " +
    `budgets through the bridge. Same total connections (${r.connections}) in each row, split ` +
    "evenly across the instances; Deno load generator. On one machine every process shares its " +
    "cores: a second instance adds failover and headroom for blocking work, not CPU.",
    "",
    "Cached query (`scenario 1`'s SQL, answered from the shared result cache):",
    "",
    ...head,
    ...(singleProcess
      ? [
        row({
          label: "single process (`deno task start`, scenario 1)",
          connections: r.connections,
          errors: 0,
          ...singleProcess,
        }),
      ]
      : []),
    ...r.cached.map(row),
    "",
    gain(r.cached).trim(),
    "",
    "Warm joins (the cross-app join with its sources in the zone's shared source cache; each " +
    "request's SQL differs, so the join runs in DuckDB every time), sent to the zone's own endpoints:",
    "",
    ...head,
    ...r.warmJoin.runs.map(row),
    "",
    gain(r.warmJoin.runs).trim(),
    "",
  ].join("\n");
}
