/**
 * A flood of forged webhook deliveries against the product as `deno task start` runs it: the
 * stack in a process of its own, `/healthz` polled every 10 ms from another, and `count` forged
 * deliveries of `mb` MB sent at once to the edge from this one. Prints the answers' statuses, the
 * poll's latency and how much the stack's process grew (its peak resident memory over its start).
 *
 * ```sh
 * deno run -A test/bench/webhook_flood.ts            # 600 deliveries of 1 MB
 * deno run -A test/bench/webhook_flood.ts 300 0.5
 * ```
 *
 * @module
 */
const POLL = "--poll";

if (Deno.args[0] === POLL) {
  // The poller: `--poll URL`, until its stdin closes; prints its latencies as JSON.
  const url = Deno.args[1];
  const latencies: number[] = [];
  let stopped = false;
  void Deno.stdin.readable.pipeTo(new WritableStream()).finally(() => stopped = true);
  while (!stopped) {
    const started = performance.now();
    await (await fetch(`${url}/healthz`)).arrayBuffer();
    latencies.push(performance.now() - started);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  console.log(JSON.stringify(latencies));
  Deno.exit(0);
}

const count = Number(Deno.args[0] ?? 600);
const megabytes = Number(Deno.args[1] ?? 1);
const port = 18_600;
const edge = `http://127.0.0.1:${port}`;
const root = new URL("../../", import.meta.url);

const stack = new Deno.Command(Deno.execPath(), {
  args: ["run", "-A", "main.ts"],
  cwd: root,
  env: { PORT: String(port), PG_PORT: "0" },
  stdout: "null",
  stderr: "null",
}).spawn();
const residentMb = () => {
  try {
    const pages = Number(Deno.readTextFileSync(`/proc/${stack.pid}/statm`).split(" ")[1]);
    return pages * 4096 / 2 ** 20;
  } catch {
    return 0;
  }
};
try {
  for (let tries = 0;; tries++) {
    const up = await fetch(`${edge}/healthz`).then((r) => r.ok, () => false);
    if (up) break;
    if (tries > 300) throw new Error("the stack did not start");
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
  const atStart = residentMb();
  let peak = atStart;
  const sampler = setInterval(() => peak = Math.max(peak, residentMb()), 20);
  const poller = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", import.meta.filename!, POLL, edge],
    stdin: "piped",
    stdout: "piped",
  }).spawn();
  await new Promise((resolve) => setTimeout(resolve, 500));
  const body = new Uint8Array(Math.round(megabytes * 1_000_000)).fill(0x61);
  const statuses: Record<string, number> = {};
  const started = performance.now();
  await Promise.all(Array.from({ length: count }, async () => {
    const status = await fetch(`${edge}/v1/webhooks/acme/github`, {
      method: "POST",
      headers: {
        "content-type": "application/json",
        "x-github-event": "pull_request",
        "x-hub-signature-256": `sha256=${"0".repeat(64)}`,
      },
      body,
    }).then(async (res) => (await res.arrayBuffer(), String(res.status)), () => "no answer");
    statuses[status] = (statuses[status] ?? 0) + 1;
  }));
  const wallMs = performance.now() - started;
  await new Promise((resolve) => setTimeout(resolve, 500));
  await poller.stdin.close();
  const latencies =
    (JSON.parse(new TextDecoder().decode((await poller.output()).stdout)) as number[])
      .sort((a, b) => a - b);
  clearInterval(sampler);
  const at = (q: number) =>
    latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))];
  console.log(
    `${count} forged deliveries of ${megabytes} MB: answered ${JSON.stringify(statuses)} in ` +
      `${Math.round(wallMs)} ms; /healthz (${latencies.length} polls) P50 ${
        at(0.5).toFixed(1)
      } ms, ` +
      `P99 ${at(0.99).toFixed(1)} ms, max ${at(1).toFixed(1)} ms; the stack grew by ` +
      `${Math.round(peak - atStart)} MB (${Math.round(atStart)} → ${Math.round(peak)} MB)`,
  );
} finally {
  stack.kill("SIGTERM");
  await stack.status;
}
