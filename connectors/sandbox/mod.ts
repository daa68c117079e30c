/**
 * The harness every sandbox stands on: serving ({@link serveSandbox}) and fault injection
 * ({@link FaultQueue}, {@link faultAnswer}). Each app's sandbox lives in its connector's
 * `sandbox/` folder and adds only what its app says: routes, auth, budgets and error bodies.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { FaultQueue, faultAnswer, serveSandbox } from "./mod.ts";
 * const faults = new FaultQueue<{ status?: number; times?: number }, Request>(() => true);
 * const server = serveSandbox(async (req) =>
 *   await faultAnswer(faults.take(req), { errorBody: () => ({ error: "injected" }) }) ??
 *     Response.json({ ok: true })
 * );
 * faults.inject({ status: 503 });
 * const failed = await fetch(server.url);
 * await failed.body?.cancel();
 * assert.equal(failed.status, 503);
 * assert.deepEqual(await (await fetch(server.url)).json(), { ok: true });
 * await server.close();
 * ```
 *
 * @module
 */
export { faultAnswer, type FaultAnswerOptions, FaultQueue, type SandboxFault } from "./faults.ts";
export {
  type SandboxHandle,
  sandboxHandle,
  type SandboxServer,
  type ServeOptions,
  serveSandbox,
} from "./serve.ts";
