/**
 * Scenario 6: isolation. Two runaway queries (a recursive CTE that never ends) occupy the
 * engines of one tenant's zone; meanwhile `/healthz`, another tenant's live query and a cached
 * query are timed, against the same measured alone. Also: how long after its deadline each
 * runaway is answered.
 *
 * @module
 */
import { type BenchStack, postQuery } from "./_stack.ts";
import { percentile, round, type Spread, spread } from "./_stats.ts";

/** Scenario 6's result. */
export interface IsolationResult {
  timeoutMs: number;
  alone: IsolationProbe;
  duringRunaways: IsolationProbe;
  /** Runaway answer time minus its deadline, ms. */
  deadlineToAnswerMs: Spread;
  /** Status codes the runaways were answered with. */
  runawayStatus: number[];
}

/** Latencies of the probes, ms. */
export interface IsolationProbe {
  healthzP50: number;
  healthzP99: number;
  otherTenantMs: Spread;
  cachedMs: Spread;
}

const RUNAWAY =
  "WITH RECURSIVE t(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM t) SELECT count(*) AS c FROM t";
const OTHER = "SELECT count(*) AS n FROM github.pull_requests";
const CACHED = "SELECT status, count(*) AS n FROM github.pull_requests GROUP BY status";

/** Runs scenario 6. */
export async function runIsolation(
  bench: BenchStack,
  options: { repeats: number; timeoutMs?: number },
): Promise<IsolationResult> {
  const timeoutMs = options.timeoutMs ?? 3000;
  const { dev, bench: other } = bench.tokens;
  await postQuery(bench.edgeUrl, dev, { sql: CACHED }); // fills the result cache
  const alone = await probe(bench, other, dev, options.repeats, timeoutMs - 500);
  const runaways = [1, 2].map(() =>
    postQuery(bench.edgeUrl, dev, {
      sql: RUNAWAY,
      metadata: { max_staleness_ms: 0, timeout_ms: timeoutMs },
    })
  );
  await new Promise((r) => setTimeout(r, 300));
  const during = await probe(bench, other, dev, options.repeats, timeoutMs - 800);
  const answers = await Promise.all(runaways);
  return {
    timeoutMs,
    alone,
    duringRunaways: during,
    deadlineToAnswerMs: spread(answers.map((a) => a.ms - timeoutMs)),
    runawayStatus: answers.map((a) => a.status),
  };
}

async function probe(
  bench: BenchStack,
  otherToken: string,
  cachedToken: string,
  repeats: number,
  budgetMs: number,
): Promise<IsolationProbe> {
  const start = performance.now();
  const healthz: number[] = [];
  const otherMs: number[] = [];
  const cachedMs: number[] = [];
  // /healthz first (a third of the time), then the queries, all before the runaways' deadline.
  while (healthz.length < 200 && performance.now() < start + budgetMs / 3) {
    const t0 = performance.now();
    await (await fetch(`${bench.edgeUrl}/healthz`)).body?.cancel();
    healthz.push(performance.now() - t0);
  }
  for (let i = 0; i < repeats && performance.now() < start + budgetMs; i++) {
    const live = await postQuery(bench.edgeUrl, otherToken, {
      sql: OTHER,
      metadata: { max_staleness_ms: 0 },
    });
    if (live.status !== 200) throw new Error(`other tenant's query: HTTP ${live.status}`);
    otherMs.push(live.ms);
    const cached = await postQuery(bench.edgeUrl, cachedToken, { sql: CACHED });
    if (cached.status !== 200) throw new Error(`cached query: HTTP ${cached.status}`);
    cachedMs.push(cached.ms);
  }
  healthz.sort((a, b) => a - b);
  return {
    healthzP50: round(percentile(healthz, 50)),
    healthzP99: round(percentile(healthz, 99)),
    otherTenantMs: spread(otherMs),
    cachedMs: spread(cachedMs),
  };
}
