/**
 * Fault injection shared by every sandbox: a queue of faults the next matching requests get
 * (counted, optionally after letting some through), and the answer a fault gives — latency, a
 * connection reset mid-answer, or a status with the app's own error body and `Retry-After`.
 *
 * @module
 */

/** What a fault does; each sandbox adds how it matches requests (a path, a GraphQL query…). */
export interface SandboxFault {
  /** Status to answer; with `body` alone, 200. Omit both (and `reset`) for latency only. */
  status?: number;
  /** How many matching requests get it. @default 1 */
  times?: number;
  /** Sets `Retry-After` (seconds). @default none */
  retryAfterS?: number;
  /** Raw body to send (e.g. malformed JSON). @default the app's error body for the status */
  body?: string;
  /**
   * Delay before answering, from the request's arrival (the sandbox's own latency runs alongside,
   * see `ServeOptions.latencyMs`: the answer leaves after the longer of the two). @default 0
   */
  latencyMs?: number;
  /** Matching requests answered normally before the fault applies (fail page 2, not 1). @default 0 */
  skip?: number;
  /** Drop the connection mid-answer: headers and part of the body, then a reset. @default false */
  reset?: boolean;
}

/**
 * The faults waiting for a sandbox's requests.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { FaultQueue } from "./faults.ts";
 * const faults = new FaultQueue<{ status?: number; times?: number; skip?: number; path?: RegExp },
 *   string>((f, path) => !f.path || f.path.test(path));
 * faults.inject({ status: 503, path: /page=2/, skip: 1 });
 * assert.equal(faults.take("/x?page=1"), undefined);
 * assert.equal(faults.take("/x?page=2"), undefined); // skipped once
 * assert.equal(faults.take("/x?page=2")?.status, 503);
 * assert.equal(faults.take("/x?page=2"), undefined); // used up
 * ```
 */
export class FaultQueue<F extends Pick<SandboxFault, "times" | "skip">, R> {
  readonly #matches: (fault: F, request: R) => boolean;
  #faults: { fault: F; left: number; skip: number }[] = [];

  /** `matches` decides whether a fault concerns a request (its path, its query…). */
  constructor(matches: (fault: F, request: R) => boolean) {
    this.#matches = matches;
  }

  /** Queues a fault for the next matching requests. */
  inject(fault: F): void {
    this.#faults.push({ fault, left: fault.times ?? 1, skip: fault.skip ?? 0 });
  }

  /** Forgets every pending fault. */
  clear(): void {
    this.#faults = [];
  }

  /** The fault this request gets (and counts it), or undefined. */
  take(request: R): F | undefined {
    const entry = this.#faults.find((e) => {
      if (e.left <= 0 || !this.#matches(e.fault, request)) return false;
      if (e.skip === 0) return true;
      e.skip--;
      return false;
    });
    if (!entry) return undefined;
    entry.left--;
    this.#faults = this.#faults.filter((e) => e.left > 0);
    return entry.fault;
  }
}

/** How a sandbox's app answers a fault. */
export interface FaultAnswerOptions {
  /** Headers every answer of the app carries (content type, budgets…). @default none */
  headers?: HeadersInit;
  /** The app's error body for a status, when the fault brings none. */
  errorBody: (status: number) => unknown;
  /** What a reset answer sends before breaking off. @default `{"` */
  partial?: string;
}

/**
 * Waits the fault's latency, then answers the fault: a connection reset
 * mid-answer, or its status and body; `undefined` when the request should be answered normally
 * (no fault, or a latency-only one).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { faultAnswer } from "./faults.ts";
 * const res = await faultAnswer({ status: 429, retryAfterS: 2 }, {
 *   errorBody: (status) => ({ message: `HTTP ${status}` }),
 * });
 * assert.equal(res?.status, 429);
 * assert.equal(res?.headers.get("retry-after"), "2");
 * assert.deepEqual(await res?.json(), { message: "HTTP 429" });
 * assert.equal(await faultAnswer({ latencyMs: 1 }, { errorBody: () => null }), undefined);
 * ```
 */
export async function faultAnswer(
  fault: SandboxFault | undefined,
  options: FaultAnswerOptions,
): Promise<Response | undefined> {
  const wait = fault?.latencyMs ?? 0;
  if (wait > 0) await new Promise((r) => setTimeout(r, wait));
  if (!fault) return undefined;
  const headers = new Headers(options.headers);
  if (fault.reset) {
    const partial = new TextEncoder().encode(options.partial ?? '{"');
    const broken = new ReadableStream<Uint8Array>({
      start: (c) => c.enqueue(partial),
      pull: (c) => c.error(new Error("connection reset (injected)")),
    });
    return new Response(broken, { status: 200, headers });
  }
  if (fault.status === undefined && fault.body === undefined) return undefined;
  const status = fault.status ?? 200;
  if (fault.retryAfterS !== undefined) headers.set("retry-after", String(fault.retryAfterS));
  if (!headers.has("content-type")) headers.set("content-type", "application/json; charset=utf-8");
  const body = status === 304 ? null : fault.body ?? JSON.stringify(options.errorBody(status));
  return new Response(body, { status, headers });
}
