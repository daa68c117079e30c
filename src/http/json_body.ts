/**
 * Reading a JSON body safely: size-limited, time-limited and never a 500 on malformed input.
 *
 * @module
 */
import type { Context } from "hono";
import { concatBytes } from "../bytes.ts";
import { OmniError } from "../errors.ts";

/**
 * How long a client may take to send a body once its headers arrived, ms: a client that declares
 * a length and sends less would otherwise hold a connection and a handler for ever.
 */
export const BODY_TIMEOUT_MS = 10_000;

/**
 * Reads and decodes a JSON request body of at most `maxBytes`, sent within `timeoutMs`.
 *
 * @example
 * ```ts ignore
 * const body = await readJsonBody(c, 1_000_000);
 * ```
 */
export async function readJsonBody(
  c: Context,
  maxBytes: number,
  timeoutMs = BODY_TIMEOUT_MS,
): Promise<unknown> {
  const declared = Number(c.req.header("content-length") ?? NaN);
  if (declared > maxBytes) throw tooLargeRequest(maxBytes);
  return parseJsonBody(await readBody(c.req.raw, { maxBytes, timeoutMs }));
}

/** Refuses bytes that are not UTF-8; reusable, as each `decode` call without `stream` is whole. */
const strictUtf8 = new TextDecoder("utf-8", { fatal: true });

/**
 * A request body's bytes as JSON: `INVALID_REQUEST` when they are not UTF-8, empty or not JSON.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { parseJsonBody } from "./json_body.ts";
 * assert.deepEqual(parseJsonBody(new TextEncoder().encode('{"sql":"SELECT 1"}')), { sql: "SELECT 1" });
 * ```
 */
export function parseJsonBody(buf: Uint8Array): unknown {
  let text: string;
  try {
    text = strictUtf8.decode(buf);
  } catch {
    throw new OmniError("INVALID_REQUEST", "the body is not valid UTF-8 text");
  }
  if (text.trim() === "") throw new OmniError("INVALID_REQUEST", "the body is empty; send JSON");
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new OmniError("INVALID_REQUEST", `the body is not valid JSON: ${(err as Error).message}`);
  }
}

/** Limits of {@link readBody}. */
export interface BodyLimits {
  maxBytes: number;
  /** @default BODY_TIMEOUT_MS */
  timeoutMs?: number;
  /** The error for a body over `maxBytes`. @default INVALID_REQUEST naming the limit */
  tooLarge?: (maxBytes: number) => OmniError;
  /**
   * Told the size of each chunk as it is read (it may throw to stop the read): the body is then
   * read as a stream even when its length is declared. @default the body is read whole
   */
  onChunk?: (bytes: number) => void;
}

/**
 * A request body's bytes, read within the limits: reading stops (and the stream is cancelled)
 * as soon as the body is too large or too slow, with an `OmniError`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { readBody } from "./json_body.ts";
 * const req = new Request("http://x", { method: "POST", body: "{}" });
 * assert.equal((await readBody(req, { maxBytes: 10 })).length, 2);
 * const big = new Request("http://x", { method: "POST", body: "x".repeat(11) });
 * await assert.rejects(readBody(big, { maxBytes: 10 }), /exceeds 10 bytes/);
 * ```
 */
export async function readBody(
  req: Request,
  limits: BodyLimits,
): Promise<Uint8Array<ArrayBuffer>> {
  const { maxBytes, timeoutMs = BODY_TIMEOUT_MS } = limits;
  const tooLarge = limits.tooLarge ?? tooLargeRequest;
  const declared = Number(req.headers.get("content-length") ?? NaN);
  if (declared > maxBytes) throw tooLarge(maxBytes);
  if (declared >= 0 && !limits.onChunk) {
    // The length is known and within the limit (the server reads no more than it says): read
    // it whole, without a stream and a JavaScript read per chunk.
    const body = await withinTime(req.bytes(), timeoutMs, () => {});
    if (body.byteLength > maxBytes) throw tooLarge(maxBytes);
    return body;
  }
  if (!req.body) return new Uint8Array();
  const reader = req.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  await withinTime(
    (async () => {
      for (;;) {
        const { done, value } = await reader.read();
        if (done) return;
        size += value.byteLength;
        if (size > maxBytes) throw tooLarge(maxBytes);
        limits.onChunk?.(value.byteLength);
        chunks.push(value);
      }
    })(),
    timeoutMs,
    () => reader.cancel().catch(() => {}),
  );
  return concatBytes(chunks);
}

/** A body being read, and how it fails once late. */
interface PendingRead {
  deadline: number;
  late(): void;
}

/**
 * Reads still waiting for their bodies. One sweeper fails the late ones, rather than a timer per
 * request: setting and clearing a timer was 8% of the serving thread's time under a load of
 * cached queries, where the body is always in already.
 */
const pendingReads = new Set<PendingRead>();
/** How late a slow body's error may come, ms. */
const SWEEP_EVERY_MS = 50;
let sweeper: ReturnType<typeof setInterval> | undefined;

function sweepLateReads(): void {
  const now = performance.now();
  for (const read of pendingReads) {
    if (read.deadline <= now) {
      pendingReads.delete(read);
      read.late();
    }
  }
  if (pendingReads.size === 0) {
    clearInterval(sweeper);
    sweeper = undefined;
  }
}

/**
 * `reading`, or the slow-body error once `timeoutMs` pass (within {@link SWEEP_EVERY_MS}); on
 * any error `cancel` stops the read.
 */
async function withinTime<T>(
  reading: Promise<T>,
  timeoutMs: number,
  cancel: () => void,
): Promise<T> {
  reading.catch(() => {}); // a read failing after the deadline is no one's error
  let pending: PendingRead | undefined;
  const late = new Promise<never>((_, reject) => {
    pending = {
      deadline: performance.now() + timeoutMs,
      late: () => reject(bodyTooSlow(timeoutMs)),
    };
  });
  pendingReads.add(pending!);
  sweeper ??= setInterval(sweepLateReads, SWEEP_EVERY_MS);
  try {
    return await Promise.race([reading, late]);
  } catch (err) {
    cancel();
    if (err instanceof OmniError) throw err;
    throw new OmniError("INVALID_REQUEST", "the body could not be read");
  } finally {
    pendingReads.delete(pending!);
  }
}

function bodyTooSlow(timeoutMs: number): OmniError {
  return new OmniError("INVALID_REQUEST", `the body did not arrive within ${timeoutMs / 1000} s`, {
    details: { limit: "body_timeout_ms", value: timeoutMs },
  });
}

function tooLargeRequest(maxBytes: number): OmniError {
  return new OmniError("INVALID_REQUEST", `the body exceeds ${maxBytes} bytes`, {
    details: { max_bytes: maxBytes },
  });
}
