/**
 * Serving a sandbox: a local HTTP server on a free port (or the one asked), whose own bugs answer
 * 500 with a body that says so — never mistaken for a protocol answer of the app — and which
 * answers no sooner than the app's latency after a request arrives.
 *
 * @module
 */

/** A running sandbox server. */
export interface SandboxServer {
  /** Base URL, e.g. `http://127.0.0.1:41234`. */
  url: string;
  close(): Promise<void>;
}

/** Where a sandbox listens. */
export interface ServeOptions {
  /** Port to listen on; 0 picks a free one. @default 0 */
  port?: number;
  /** @default "127.0.0.1" */
  hostname?: string;
  /**
   * The app's latency: no answer leaves before this long after its request arrived. The sandbox
   * works its answer out meanwhile, as the app's servers do within their latency; waiting first
   * and working after would add the sandbox's own work — one thread doing what the app's fleet
   * does in parallel — to every answer, and queue concurrent answers behind each other, so a
   * client's parallel calls would cost more than the latency they are meant to take.
   * @default 0
   */
  latencyMs?: number;
}

/**
 * Serves a sandbox's handler.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { serveSandbox } from "./serve.ts";
 * const server = serveSandbox(() => { throw new Error("oops"); }, { latencyMs: 20 });
 * const started = performance.now();
 * const res = await fetch(server.url);
 * assert.ok(performance.now() - started >= 20);
 * assert.equal(res.status, 500);
 * assert.match((await res.json()).message, /sandbox error: oops/);
 * await server.close();
 * ```
 */
export function serveSandbox(
  handler: (req: Request) => Response | Promise<Response>,
  options: ServeOptions = {},
): SandboxServer {
  const server = Deno.serve({
    port: options.port ?? 0,
    hostname: options.hostname ?? "127.0.0.1",
    onListen: () => {},
  }, async (req) => {
    const latencyMs = options.latencyMs ?? 0;
    // The latency runs from the request's arrival, while the handler works out the answer.
    const due = latencyMs > 0 ? new Promise((r) => setTimeout(r, latencyMs)) : undefined;
    let res: Response;
    try {
      res = await handler(req);
    } catch (err) {
      // A sandbox bug, not a protocol answer: say so loudly in the body.
      res = Response.json(
        { message: `sandbox error: ${err instanceof Error ? err.message : err}` },
        { status: 500 },
      );
    }
    await due;
    return res;
  });
  return {
    url: `http://${server.addr.hostname}:${server.addr.port}`,
    close: () => server.shutdown(),
  };
}

/** What a test holds of a running sandbox. */
export interface SandboxHandle<Q, F> {
  url: string;
  /** Every request the sandbox received, oldest first. */
  requests: Q[];
  /** Queues a fault for the next matching requests. */
  inject(fault: F): void;
  /** Forgets requests, faults and the sandbox's own state (budgets). */
  reset(): void;
  close(): Promise<void>;
}

/**
 * The handle on a served sandbox, from its server, request log and fault queue; `resetState`
 * clears what else `reset` must (rate-limit budgets and the like).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { FaultQueue } from "./faults.ts";
 * import { sandboxHandle, serveSandbox } from "./serve.ts";
 * const requests: string[] = [];
 * const faults = new FaultQueue<{ status: number; times?: number }, string>(() => true);
 * const server = serveSandbox((req) => (requests.push(req.url), new Response("ok")));
 * const sandbox = sandboxHandle(server, requests, faults, () => {});
 * await (await fetch(sandbox.url)).text();
 * assert.equal(sandbox.requests.length, 1);
 * sandbox.reset();
 * assert.equal(sandbox.requests.length, 0);
 * await sandbox.close();
 * ```
 */
export function sandboxHandle<Q, F>(
  server: SandboxServer,
  requests: Q[],
  faults: { inject(fault: F): void; clear(): void },
  resetState: () => void,
): SandboxHandle<Q, F> {
  return {
    url: server.url,
    requests,
    inject: (fault) => faults.inject(fault),
    reset() {
      requests.length = 0;
      faults.clear();
      resetState();
    },
    close: () => server.close(),
  };
}
