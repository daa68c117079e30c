/**
 * Room for request bodies that are read before anything says whether to believe them. A webhook
 * is authenticated by a signature over its whole body, so a door reads a stranger's body first;
 * without a bound, a flood of forged large bodies held the edge's memory (6 GB more for 600
 * deliveries of 1 MB) and thread (`/healthz` P99 1.1 s, at worst 5 s). A door reserves a body's
 * declared size before reading it and refuses at once, unread, what does not fit.
 *
 * @module
 */
import { OmniError } from "../errors.ts";

/**
 * Bytes of unverified bodies a door holds at once by default: sixteen of the largest webhook
 * bodies, or hundreds of the usual few-kilobyte deliveries.
 */
export const DEFAULT_INTAKE_BYTES = 16_000_000;

/** How soon a refused sender may try again, ms: a held body is released within a second. */
const RETRY_AFTER_MS = 1_000;

/**
 * A bound on the bytes of request bodies being read and checked at once. A body is admitted
 * whatever its size when nothing else is held, so one delivery as large as the door accepts
 * always gets through.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { BodyIntake } from "./body_intake.ts";
 * const intake = new BodyIntake(100);
 * const first = intake.admit(60);
 * assert.throws(() => intake.admit(60), /being received/);
 * first.release();
 * assert.equal(intake.heldBytes, 0);
 * intake.admit(60).release();
 * ```
 */
export class BodyIntake {
  #held = 0;

  /** @param capacityBytes Bytes that may be held at once. */
  constructor(readonly capacityBytes: number = DEFAULT_INTAKE_BYTES) {}

  /** Bytes reserved now. */
  get heldBytes(): number {
    return this.#held;
  }

  /**
   * Reserves `bytes` for one body until `release()` (idempotent); throws `RATE_LIMIT_EXHAUSTED`
   * (level `intake`, retry after a second) when that would exceed the capacity. What the door
   * answers then depends only on its load, never on the request's tenant or connection.
   */
  admit(bytes: number): { release(): void } {
    if (this.#held > 0 && this.#held + bytes > this.capacityBytes) {
      throw new OmniError(
        "RATE_LIMIT_EXHAUSTED",
        "too many request bodies are being received at once; send this one again shortly",
        {
          retryAfterMs: RETRY_AFTER_MS,
          details: { level: "intake", capacity_bytes: this.capacityBytes },
        },
      );
    }
    this.#held += bytes;
    let held = true;
    return {
      release: () => {
        if (held) this.#held -= bytes;
        held = false;
      },
    };
  }
}

/**
 * The size to reserve for a request's body: its declared `content-length`, or `maxBytes` when it
 * declares none (a chunked body may be as large as the door accepts) or more than that (refused
 * as too large while reading).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { declaredBodyBytes } from "./body_intake.ts";
 * const post = (headers: Record<string, string>) =>
 *   new Request("http://x", { method: "POST", headers, body: "{}" });
 * assert.equal(declaredBodyBytes(post({ "content-length": "2" }), 1000), 2);
 * assert.equal(declaredBodyBytes(post({}), 1000), 1000);
 * ```
 */
export function declaredBodyBytes(req: Request, maxBytes: number): number {
  const declared = Number(req.headers.get("content-length") ?? NaN);
  return Number.isInteger(declared) && declared >= 0 ? Math.min(declared, maxBytes) : maxBytes;
}
