/**
 * Load drivers of the bench, both outside the server's process: the Deno load generator
 * (`loadgen.ts`, fetch with keep-alive) and `wrk` (C, one thread, a Lua script for the POST body
 * and exact percentiles), when installed.
 *
 * @module
 */
import type { LoadResult, LoadSpec } from "./loadgen.ts";

export type { LoadResult, LoadSpec } from "./loadgen.ts";

/** A load driver: `deno` or `wrk`. */
export type Driver = "deno" | "wrk";

/** Whether `wrk` can be run here. */
export async function hasWrk(): Promise<boolean> {
  try {
    const out = await new Deno.Command("wrk", {
      args: ["--version"],
      stdout: "null",
      stderr: "null",
    })
      .output();
    return out.code === 0 || out.code === 1; // wrk --version exits 1 after printing
  } catch {
    return false;
  }
}

/** Runs one load with the given driver, bounded by the spec's duration (and a hard timeout). */
export async function drive(driver: Driver, spec: LoadSpec): Promise<LoadResult> {
  return driver === "wrk" ? await driveWrk(spec) : await driveDeno(spec);
}

async function driveDeno(spec: LoadSpec): Promise<LoadResult> {
  const script = new URL("./loadgen.ts", import.meta.url).pathname;
  const out = await run(
    Deno.execPath(),
    ["run", "--allow-net", script, JSON.stringify(spec)],
    spec,
  );
  return JSON.parse(out.trim().split("\n").pop()!) as LoadResult;
}

async function driveWrk(spec: LoadSpec): Promise<LoadResult> {
  const lua = await Deno.makeTempFile({ suffix: ".lua" });
  try {
    const headers = Object.entries(spec.headers)
      .map(([k, v]) => `wrk.headers[${JSON.stringify(k)}] = ${JSON.stringify(v)}`).join("\n");
    await Deno.writeTextFile(
      lua,
      `wrk.method = "POST"
wrk.body = ${luaString(spec.body)}
${headers}
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format('{"requests":%d,"errors":%d,"non2xx":%d,"us":%d,"p50":%d,"p95":%d,"p99":%d,"max":%d}\\n',
    summary.requests, e.connect + e.read + e.write + e.timeout, e.status, summary.duration,
    latency:percentile(50), latency:percentile(95), latency:percentile(99), latency.max))
end
`,
    );
    const seconds = Math.max(1, Math.round(spec.durationMs / 1000));
    const out = await run("wrk", [
      "-t1",
      `-c${spec.concurrency}`,
      `-d${seconds}s`,
      "--timeout",
      "10s",
      "-s",
      lua,
      spec.url,
    ], spec);
    const line = out.split("\n").find((l) => l.startsWith("{"));
    if (!line) throw new Error(`wrk printed no summary:\n${out}`);
    const r = JSON.parse(line);
    const s = r.us / 1e6;
    return {
      requests: r.requests,
      errors: r.errors + r.non2xx,
      statuses: r.non2xx ? { "non-2xx": r.non2xx } : {},
      seconds: s,
      qps: r.requests / s,
      p50_ms: r.p50 / 1000,
      p95_ms: r.p95 / 1000,
      p99_ms: r.p99 / 1000,
      max_ms: r.max / 1000,
    };
  } finally {
    await Deno.remove(lua).catch(() => {});
  }
}

/** Runs a bounded child process and returns its stdout (the child is killed past its time). */
async function run(cmd: string, args: string[], spec: LoadSpec): Promise<string> {
  const child = new Deno.Command(cmd, { args, stdout: "piped", stderr: "piped" }).spawn();
  const timer = setTimeout(() => {
    try {
      child.kill("SIGKILL");
    } catch { /* already gone */ }
  }, spec.durationMs + 30_000);
  try {
    const out = await child.output();
    const text = new TextDecoder().decode(out.stdout);
    if (!out.success) {
      throw new Error(`${cmd} failed: ${new TextDecoder().decode(out.stderr)}${text}`);
    }
    return text;
  } finally {
    clearTimeout(timer);
  }
}

function luaString(s: string): string {
  return `"${s.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n")}"`;
}
