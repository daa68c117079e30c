/**
 * Serving a sandbox: a local HTTP server on a free port (or the one asked), whose own bugs answer
 * 500 with a body that says so — never mistaken for a protocol answer of the app.
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
}

/**
 * Serves a sandbox's handler.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { serveSandbox } from "./serve.ts";
 * const server = serveSandbox(() => { throw new Error("oops"); });
 * const res = await fetch(server.url);
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
    try {
      return await handler(req);
    } catch (err) {
      // A sandbox bug, not a protocol answer: say so loudly in the body.
      return Response.json(
        { message: `sandbox error: ${err instanceof Error ? err.message : err}` },
        { status: 500 },
      );
    }
  });
  return {
    url: `http://${server.addr.hostname}:${server.addr.port}`,
    close: () => server.shutdown(),
  };
}
