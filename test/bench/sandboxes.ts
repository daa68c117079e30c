/**
 * The bench's scaled GitHub and Jira sandboxes in a process of their own, so the process the
 * bench measures (edge, workers, DuckDB) does not also build, page and serialise the apps'
 * answers. `startBenchSandboxes` starts this module as a child; the child prints its URLs as one
 * JSON line on stdout and exits when its stdin closes (the parent closed it, or died).
 *
 * The sandboxes speak their real protocols on their own ports; a separate control server gives
 * the bench their request logs (`GET /requests`) and clears them (`POST /reset`).
 *
 * @module
 */
import { type GithubSandbox, startGithubSandbox } from "../../connectors/github/sandbox/mod.ts";
import {
  type JiraSandbox,
  type JiraSandboxRequest,
  startJiraSandbox,
} from "../../connectors/jira/sandbox/mod.ts";

/** The bench tenant's credentials for its own sandboxes. */
export const BENCH = {
  tenant: "bench",
  user: "analyst@bench",
  githubToken: "ghp_bench_0123456789",
  jiraEmail: "bot@bench.example",
  jiraToken: "jira_bench_token",
  owner: "acme",
  jiraPageSize: 100,
} as const;

/** How the sandboxes are built: the demo world ×`scale`, each answer `latencyMs` after its request. */
export interface SandboxSettings {
  scale: number;
  latencyMs: number;
}

/** What the child prints once it listens. */
interface Listening {
  github: string;
  jira: string;
  control: string;
}

/** Both sandboxes' request logs, as the control server sends them. */
export interface SandboxLogs {
  github: GithubSandbox["requests"];
  jira: JiraSandboxRequest[];
}

/** The bench's handle on the sandbox process. */
export interface BenchSandboxes {
  githubUrl: string;
  jiraUrl: string;
  latencyMs: number;
  scale: number;
  /** The requests each sandbox received since the last {@link BenchSandboxes.reset}. */
  requests(): Promise<SandboxLogs>;
  /** Clears both request logs (and the sandboxes' faults and rate-limit budgets). */
  reset(): Promise<void>;
  close(): Promise<void>;
}

/**
 * Starts the sandboxes in a child process and waits until they listen.
 *
 * @example
 * ```ts ignore
 * import { deepStrictEqual as assertEquals } from "node:assert/strict";
 * const boxes = await startBenchSandboxes({ scale: 1, latencyMs: 0 });
 * try {
 *   await boxes.reset();
 *   assertEquals((await boxes.requests()).github, []);
 * } finally {
 *   await boxes.close();
 * }
 * ```
 */
export async function startBenchSandboxes(settings: SandboxSettings): Promise<BenchSandboxes> {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", new URL(import.meta.url).pathname, JSON.stringify(settings)],
    stdin: "piped",
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  const stdin = child.stdin.getWriter();
  // Closing stdin asks the child to stop; a child that does not within 2 s is killed.
  const kill = async () => {
    await stdin.close().catch(() => {});
    const timer = setTimeout(() => {
      try {
        child.kill("SIGTERM");
      } catch {
        // Already gone.
      }
    }, 2000);
    await child.status;
    clearTimeout(timer);
  };
  let urls: Listening;
  const lines = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  try {
    let text = "";
    while (!text.includes("\n")) {
      const { value, done } = await lines.read();
      if (done) throw new Error("the sandbox process exited before listening");
      text += value;
    }
    urls = JSON.parse(text.slice(0, text.indexOf("\n"))) as Listening;
  } catch (err) {
    await kill();
    throw err;
  }
  // Nothing more comes on stdout; drain it so the child never blocks on a full pipe.
  const drained = (async () => {
    while (!(await lines.read()).done) { /* discard */ }
  })().catch(() => {});
  const control = async (path: string, method: string) => {
    const res = await fetch(`${urls.control}${path}`, { method });
    if (!res.ok) throw new Error(`sandbox control ${path}: HTTP ${res.status}`);
    return await res.json();
  };
  return {
    githubUrl: urls.github,
    jiraUrl: urls.jira,
    latencyMs: settings.latencyMs,
    scale: settings.scale,
    requests: () => control("/requests", "GET") as Promise<SandboxLogs>,
    reset: async () => {
      await control("/reset", "POST");
    },
    close: async () => {
      await kill();
      await drained;
    },
  };
}

/** The child: serves both sandboxes and the control server until stdin closes. */
async function serveChild(settings: SandboxSettings): Promise<void> {
  const github = await startGithubSandbox({
    orgs: [BENCH.owner],
    scale: settings.scale,
    latencyMs: settings.latencyMs,
    tokens: { [BENCH.githubToken]: [BENCH.owner] },
    // GitHub's 5000/hour would stop a bench of thousands of detail calls: not what we measure.
    ratePerHour: 100_000_000,
    searchPerMinute: 1_000_000,
  });
  const jira: JiraSandbox = await startJiraSandbox({
    org: BENCH.owner,
    scale: settings.scale,
    latencyMs: settings.latencyMs,
    email: BENCH.jiraEmail,
    apiToken: BENCH.jiraToken,
  });
  const control = Deno.serve({ port: 0, hostname: "127.0.0.1", onListen: () => {} }, (req) => {
    const path = new URL(req.url).pathname;
    if (req.method === "GET" && path === "/requests") {
      const logs: SandboxLogs = { github: github.requests, jira: jira.requests };
      return Response.json(logs);
    }
    if (req.method === "POST" && path === "/reset") {
      github.reset();
      jira.reset();
      return Response.json({ ok: true });
    }
    return new Response("not found", { status: 404 });
  });
  const listening: Listening = {
    github: github.url,
    jira: jira.url,
    control: `http://127.0.0.1:${control.addr.port}`,
  };
  await Deno.stdout.write(new TextEncoder().encode(JSON.stringify(listening) + "\n"));
  // The parent holds stdin open while it needs the sandboxes.
  for await (const _ of Deno.stdin.readable) { /* wait for EOF */ }
  await Promise.allSettled([github.close(), jira.close(), control.shutdown()]);
}

if (import.meta.main) await serveChild(JSON.parse(Deno.args[0]) as SandboxSettings);
