/**
 * The bench's Deno load generator, run as its own process so it does not share the server's
 * event loop: `concurrency` keep-alive connections each POST the same body back to back until
 * `durationMs` passes or `maxRequests` are sent, then it prints one JSON line of results.
 *
 * ```sh
 * deno run --allow-net test/bench/loadgen.ts '{"url":"http://127.0.0.1:8000/v1/query",...}'
 * ```
 *
 * @module
 */
import { percentile } from "./_stats.ts";

/** What one load run is told. */
export interface LoadSpec {
  url: string;
  headers: Record<string, string>;
  body: string;
  /**
   * Replaced in `body` by each request's number (Deno driver only), so that every request
   * differs, e.g. to miss a result cache.
   */
  vary?: string;
  concurrency: number;
  durationMs: number;
  /** Stops earlier once this many requests were sent. */
  maxRequests: number;
}

/** What one load run measured. */
export interface LoadResult {
  requests: number;
  errors: number;
  /** Status → count of the non-200 answers. */
  statuses: Record<string, number>;
  seconds: number;
  qps: number;
  p50_ms: number;
  p95_ms: number;
  p99_ms: number;
  max_ms: number;
}

/** Runs one load and resolves with its figures. */
export async function runLoad(spec: LoadSpec): Promise<LoadResult> {
  const latencies: number[] = [];
  const statuses: Record<string, number> = {};
  let sent = 0, errors = 0;
  const started = performance.now();
  const until = started + spec.durationMs;
  const loop = async () => {
    while (performance.now() < until && sent < spec.maxRequests) {
      const body = spec.vary ? spec.body.replaceAll(spec.vary, String(sent)) : spec.body;
      sent++;
      const t0 = performance.now();
      try {
        const res = await fetch(spec.url, {
          method: "POST",
          headers: spec.headers,
          body,
        });
        await res.arrayBuffer();
        if (res.status !== 200) {
          errors++;
          statuses[res.status] = (statuses[res.status] ?? 0) + 1;
        }
      } catch {
        errors++;
        statuses.network = (statuses.network ?? 0) + 1;
      }
      latencies.push(performance.now() - t0);
    }
  };
  await Promise.all(Array.from({ length: spec.concurrency }, loop));
  const seconds = (performance.now() - started) / 1000;
  latencies.sort((a, b) => a - b);
  return {
    requests: latencies.length,
    errors,
    statuses,
    seconds,
    qps: latencies.length / seconds,
    p50_ms: percentile(latencies, 50),
    p95_ms: percentile(latencies, 95),
    p99_ms: percentile(latencies, 99),
    max_ms: latencies[latencies.length - 1] ?? NaN,
  };
}

if (import.meta.main) {
  const spec = JSON.parse(Deno.args[0]) as LoadSpec;
  console.log(JSON.stringify(await runLoad(spec)));
}
