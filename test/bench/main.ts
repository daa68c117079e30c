/**
 * `deno task bench`: starts the local stack plus bench-only scaled sandboxes, runs the
 * scenarios, and writes a markdown report, its JSON and an SVG chart.
 *
 * ```sh
 * deno task bench                       # full run (≤ 11 min), docs/bench/latest.md + .json + .svg
 * deno task bench --quick               # < 2 min: shorter loads, 20 ms sandboxes, 2 repeats
 * deno task bench --out /tmp/b.md       # report path (JSON and SVG beside it)
 * deno task bench --only cached,duckdb  # a subset: cached, federated, isolation, duckdb
 * deno task bench --profile /tmp/prof   # include the summary of a --cpu-prof profile
 * deno task bench --database-url postgres://postgres@127.0.0.1:5432/bench
 *                                       # the same scenarios on that Postgres catalog too (a
 *                                       # scratch database: the bench creates it if missing
 *                                       # and seeds it)
 * deno task bench --cluster             # only the cluster comparison, to docs/bench/cluster.md:
 *                                       # the single process, then deno task cluster on
 *                                       # --cluster-port (default 27400; DATABASE_URL, REDIS_URL)
 * ```
 *
 * @module
 */
import { ensureDatabase } from "../../src/catalog/testing.ts";
import { sampleRss, startBenchStack } from "./_stack.ts";
import { type Driver, hasWrk } from "./_drivers.ts";
import { runCached } from "./cached.ts";
import { runFederated } from "./federated.ts";
import { runDuck } from "./duckdb.ts";
import { runIsolation } from "./isolation.ts";
import { clusterReport, runCluster } from "./cluster.ts";
import { type BenchReport, renderMarkdown } from "./report.ts";
import { latencyChart } from "./svg.ts";
import { summariseProfile } from "./cpu_profile.ts";

const SCENARIOS = ["cached", "federated", "isolation", "duckdb"] as const;

/** Settings of each mode. */
const MODES = {
  quick: {
    repeats: 2,
    levels: [1, 8, 32],
    loadMs: 2_000,
    latencyMs: 20,
    scale: 4,
    duckRepeats: 2,
    limitMs: 180_000,
  },
  full: {
    // A median of five cold runs moved by 2–3 ms between runs on this host (§18 of
    // docs/bench/profile-engine.md); nine cost the federated scenario about 40 s more.
    repeats: 9,
    levels: [1, 4, 16, 32, 64],
    loadMs: 5_000,
    latencyMs: 100,
    scale: 4,
    duckRepeats: 5,
    limitMs: 660_000,
  },
};

interface Args {
  quick: boolean;
  out: string;
  json: string;
  only: Set<string>;
  profile?: string;
  databaseUrl?: string;
  /** Base port of the cluster section, when asked for (`--cluster`). */
  clusterPort?: number;
}

function parseArgs(argv: string[]): Args {
  const args = argv[0] === "--" ? argv.slice(1) : argv;
  const value = (name: string) => {
    const i = args.indexOf(name);
    return i >= 0 ? args[i + 1] : undefined;
  };
  const cluster = args.includes("--cluster");
  const out = value("--out") ?? (cluster ? "docs/bench/cluster.md" : "docs/bench/latest.md");
  const only = new Set((value("--only") ?? SCENARIOS.join(",")).split(","));
  for (const s of only) {
    if (!(SCENARIOS as readonly string[]).includes(s)) throw new Error(`unknown scenario ${s}`);
  }
  return {
    quick: args.includes("--quick"),
    out,
    json: value("--json") ?? out.replace(/\.md$/, "") + ".json",
    only,
    profile: value("--profile"),
    databaseUrl: value("--database-url"),
    clusterPort: cluster ? Number(value("--cluster-port") ?? 27400) : undefined,
  };
}

async function main(): Promise<void> {
  const args = parseArgs(Deno.args);
  const mode = args.quick ? MODES.quick : MODES.full;
  // The bench stops itself, whatever happens (a second catalog doubles its time).
  const limitMs = mode.limitMs * (args.databaseUrl ? 2 : 1);
  const watchdog = setTimeout(() => {
    console.error(`bench: over its ${limitMs / 1000} s limit, stopping`);
    Deno.exit(1);
  }, limitMs);
  const log = (s: string) => console.error(s);
  if (args.clusterPort !== undefined) {
    await benchCluster(args, mode, log);
    clearTimeout(watchdog);
    return;
  }
  // Before the embedded catalog's ten minutes, not after them.
  if (args.databaseUrl) await ensureDatabase(args.databaseUrl);
  const drivers: Driver[] = (await hasWrk()) ? ["wrk", "deno"] : ["deno"];
  const report: BenchReport = {
    date: new Date().toISOString(),
    command: `deno task bench ${Deno.args.join(" ")}`.trim(),
    mode: args.quick ? "quick" : "full",
    machine: {
      cores: navigator.hardwareConcurrency,
      memoryGb: Math.round(Deno.systemMemoryInfo().total / 1024 / 1024 / 1024 * 10) / 10,
      deno: Deno.version.deno,
      v8: Deno.version.v8,
      os: `${Deno.build.os} ${Deno.osRelease()}`,
      loadavgStart: Deno.loadavg(),
    },
    settings: {
      repeats: mode.repeats,
      levels: mode.levels,
      loadMs: mode.loadMs,
      latencyMs: mode.latencyMs,
      scale: mode.scale,
      drivers,
    },
    peakRssMb: {},
    errors: [],
  };
  await runOnCatalog(report, args, mode, drivers, undefined, log);
  if (args.databaseUrl) {
    const url = new URL(args.databaseUrl);
    const other: BenchReport = {
      ...report,
      catalog: `Postgres at ${url.host}${url.pathname}`,
      peakRssMb: {},
      errors: [],
      cached: undefined,
      federated: undefined,
      isolation: undefined,
    };
    await runOnCatalog(other, args, mode, drivers, args.databaseUrl, log);
    report.alsoOn = [other];
  }
  if (args.only.has("duckdb")) {
    log("scenario 5: DuckDB-WASM vs native");
    const s = sampleRss();
    try {
      report.duckdb = await runDuck({ rows: 100_000, repeats: mode.duckRepeats });
    } catch (err) {
      report.errors.push(`scenario 5: ${err instanceof Error ? err.message : err}`);
    }
    report.peakRssMb["5. DuckDB 100k×100k"] = s.stop();
  }
  if (args.profile) report.profile = await summariseProfile(args.profile);
  report.machine.loadavgEnd = Deno.loadavg();

  const dir = args.out.includes("/") ? args.out.slice(0, args.out.lastIndexOf("/")) : ".";
  await Deno.mkdir(dir, { recursive: true });
  let chart: string | undefined;
  if (report.cached) {
    const svgPath = args.out.replace(/\.md$/, "") + "-latency.svg";
    await Deno.writeTextFile(
      svgPath,
      latencyChart(report.cached.levels, "Scenario 1: latency vs concurrency"),
    );
    chart = svgPath.slice(svgPath.lastIndexOf("/") + 1);
  }
  for (const other of report.alsoOn ?? []) {
    if (!other.cached) continue;
    const svgPath = args.out.replace(/\.md$/, "") + "-postgres-latency.svg";
    await Deno.writeTextFile(
      svgPath,
      latencyChart(other.cached.levels, "Scenario 1 on Postgres: latency vs concurrency"),
    );
    other.chart = svgPath.slice(svgPath.lastIndexOf("/") + 1);
  }
  await Deno.writeTextFile(args.out, renderMarkdown(report, chart));
  await Deno.writeTextFile(args.json, JSON.stringify(report, null, 2) + "\n");
  clearTimeout(watchdog);
  log(`bench: wrote ${args.out} and ${args.json}`);
}

/** `--cluster`: the single process against the cluster, in a report of its own. */
async function benchCluster(
  args: Args,
  mode: typeof MODES.quick,
  log: (s: string) => void,
): Promise<void> {
  log("cluster: the single process, then two edges and two us instances as separate processes");
  const loadavgStart = Deno.loadavg();
  const errors: string[] = [];
  let result;
  try {
    result = await runCluster({
      port: args.clusterPort!,
      connections: mode.levels[mode.levels.length - 1],
      joinConnections: 8,
      loadMs: mode.loadMs * 2,
      latencyMs: mode.latencyMs,
      log,
    });
  } catch (err) {
    errors.push(`cluster: ${err instanceof Error ? err.message : err}`);
  }
  const info = {
    date: new Date().toISOString(),
    command: `deno task bench ${Deno.args.join(" ")}`.trim(),
    cores: navigator.hardwareConcurrency,
    deno: Deno.version.deno,
    loadavgStart,
    loadavgEnd: Deno.loadavg(),
    errors,
  };
  const dir = args.out.includes("/") ? args.out.slice(0, args.out.lastIndexOf("/")) : ".";
  await Deno.mkdir(dir, { recursive: true });
  await Deno.writeTextFile(args.out, clusterReport(result, info));
  await Deno.writeTextFile(args.json, JSON.stringify({ ...info, cluster: result }, null, 2) + "\n");
  log(`bench: wrote ${args.out} and ${args.json}`);
}

/** Runs the scenarios that touch the catalog on one catalog's stack, into `report`. */
async function runOnCatalog(
  report: BenchReport,
  args: Args,
  mode: typeof MODES.quick,
  drivers: Driver[],
  databaseUrl: string | undefined,
  log: (s: string) => void,
): Promise<void> {
  const on = databaseUrl ? " (Postgres catalog)" : "";
  log(`bench (${report.mode}): starting the stack${on}`);
  const rss = sampleRss();
  const bench = await startBenchStack({
    scale: mode.scale,
    latencyMs: mode.latencyMs,
    databaseUrl,
  });
  report.peakRssMb["stack start"] = rss.stop();
  try {
    // A scenario that fails is reported and the others still run; `rss` names its peak RSS.
    const scenario = async <T>(
      label: string,
      run: () => Promise<T>,
      rss?: string,
    ): Promise<T | undefined> => {
      const sampled = rss ? sampleRss() : undefined;
      try {
        return await run();
      } catch (err) {
        report.errors.push(`${label}: ${err instanceof Error ? err.message : err}`);
        return undefined;
      } finally {
        if (rss && sampled) report.peakRssMb[rss] = sampled.stop();
      }
    };
    if (args.only.has("cached")) {
      log("scenario 1: cached single-source query");
      report.cached = await scenario("scenario 1", () =>
        runCached(bench, {
          levels: mode.levels,
          drivers,
          durationMs: mode.loadMs,
          repeats: Math.min(mode.repeats, 3),
          log,
        }), "1. cached query");
      // The load leaves its audit records committing behind it (batches into the hash chains);
      // the embedded catalog's one session would serve the next scenario's reads behind them.
      const settling = performance.now();
      await bench.stack.auditSettled();
      report.auditSettleMs = performance.now() - settling;
    }
    if (args.only.has("federated")) {
      log("scenarios 2–4: federated joins, naive script, pushdown");
      report.federated = await scenario(
        "scenarios 2–4",
        () => runFederated(bench, { repeats: mode.repeats, warmLoadMs: mode.loadMs, log }),
        "2–4. federated joins",
      );
    }
    if (args.only.has("isolation")) {
      log("isolation: runaway queries vs /healthz, another tenant and the cache");
      report.isolation = await scenario("isolation", () => runIsolation(bench, { repeats: 10 }));
    }
  } finally {
    await bench.close();
  }
}

if (import.meta.main) await main();
