/**
 * The cluster's child processes: each role started as its own `deno run`, its output prefixed
 * with its name, restarted when it dies unexpectedly (as an orchestrator would), and stopped
 * with SIGTERM on shutdown.
 *
 * @module
 */

/** One role's process, as the cluster starts it. */
export interface RoleSpec {
  /** Shown before each output line, e.g. `edge-1`. */
  name: string;
  /** The module `deno run -A` starts. */
  module: string;
  env: Record<string, string>;
  /** Called with each line the process prints on stdout. */
  onLine?: (line: string) => void;
}

/** A supervised process. */
export interface RoleProcess {
  readonly spec: RoleSpec;
  /** The current OS process id. */
  pid(): number;
}

async function pipeLines(
  stream: ReadableStream<Uint8Array>,
  out: (line: string) => void,
): Promise<void> {
  let pending = "";
  for await (const chunk of stream.pipeThrough(new TextDecoderStream())) {
    pending += chunk;
    const lines = pending.split("\n");
    pending = lines.pop() ?? "";
    for (const line of lines) out(line);
  }
  if (pending) out(pending);
}

/**
 * Starts and supervises role processes.
 *
 * @example
 * ```ts ignore
 * const procs = new Supervisor();
 * procs.start({ name: "edge-1", module: "edge/main.ts", env: { PORT: "8000" } });
 * await procs.stopAll();
 * ```
 */
export class Supervisor {
  readonly #running = new Map<RoleProcess, Deno.ChildProcess>();
  #stopping = false;

  /** Starts a role; it is restarted a second after it dies, until {@link stopAll}. */
  start(spec: RoleSpec): RoleProcess {
    let child = this.#spawn(spec);
    const handle: RoleProcess = { spec, pid: () => child.pid };
    this.#running.set(handle, child);
    const watch = async () => {
      const status = await child.status;
      if (this.#stopping) return;
      const line = JSON.stringify({
        level: "warn",
        msg: "process exited; restarting in 1 s",
        role: spec.name,
        code: status.code,
        signal: status.signal,
      });
      console.error(`[cluster] ${line}`);
      await new Promise((r) => setTimeout(r, 1000));
      if (this.#stopping) return;
      child = this.#spawn(spec);
      this.#running.set(handle, child);
      void watch();
    };
    void watch();
    return handle;
  }

  /** Sends SIGTERM to every process and waits (SIGKILL after `graceMs`). */
  async stopAll(graceMs = 5000): Promise<void> {
    this.#stopping = true;
    const children = [...this.#running.values()];
    for (const child of children) {
      try {
        child.kill("SIGTERM");
      } catch { /* already gone */ }
    }
    const timer = setTimeout(() => {
      for (const child of children) {
        try {
          child.kill("SIGKILL");
        } catch { /* already gone */ }
      }
    }, graceMs);
    await Promise.all(children.map((c) => c.status));
    clearTimeout(timer);
  }

  #spawn(spec: RoleSpec): Deno.ChildProcess {
    const child = new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", spec.module],
      env: spec.env,
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    const tag = `[${spec.name}] `;
    void pipeLines(child.stdout, (line) => {
      spec.onLine?.(line);
      if (!quiet(line)) console.log(tag + line);
    }).catch(() => {});
    void pipeLines(child.stderr, (line) => {
      if (!quiet(line)) console.error(tag + line);
    }).catch(() => {});
    return child;
  }
}

/** The edges' health checks of the zones, every second, would drown everything else. */
function quiet(line: string): boolean {
  return line.includes('"path":"/healthz"') || line.includes("Trying to set up 'arrow2csv'");
}

/**
 * Waits until `url` answers 2xx, or throws after `timeoutMs`.
 *
 * @example
 * ```ts ignore
 * await waitHealthy("http://127.0.0.1:8000/healthz", 60_000);
 * ```
 */
export async function waitHealthy(url: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      const res = await fetch(url, { signal: AbortSignal.timeout(1000) });
      await res.body?.cancel();
      if (res.ok) return;
    } catch { /* not yet */ }
    if (Date.now() > deadline) throw new Error(`${url} did not become healthy in ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 250));
  }
}
