/**
 * Room for request bodies that are read before anything says whether to believe them. A webhook
 * is authenticated by a signature over its whole body, so a door reads a stranger's body first;
 * without a bound, a flood of forged large bodies held the edge's memory (3.5–6 GB more for 600
 * deliveries of 1 MB) and thread (`/healthz` P99 1.1–1.4 s, at worst 3–5 s). A door refuses at
 * once, unread, a body whose declared size does not fit, and stops reading one once the room is
 * taken.
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
 * A bound on the bytes of request bodies being read and checked at once. Room is taken as a
 * body's bytes arrive, not for what it declares: a sender trickling a body holds only what it
 * sent. A body is admitted whatever its size while nothing else is held, so one delivery as large
 * as the door accepts always gets through.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { BodyIntake } from "./body_intake.ts";
 * const intake = new BodyIntake(100);
 * const first = intake.open(60);
 * first.take(60);
 * assert.throws(() => intake.open(60), /being received/); // refused unread: it cannot fit
 * const second = intake.open(0); // a length not declared
 * assert.throws(() => second.take(60), /being received/);
 * first.release();
 * second.take(60);
 * assert.equal(intake.heldBytes, 60);
 * second.release();
 * assert.equal(intake.heldBytes, 0);
 * ```
 */
export class BodyIntake {
  #held = 0;

  /** @param capacityBytes Bytes that may be held at once. */
  constructor(readonly capacityBytes: number = DEFAULT_INTAKE_BYTES) {}

  /** Bytes held now. */
  get heldBytes(): number {
    return this.#held;
  }

  /**
   * Room for one body that declares `declaredBytes` (0 when it declares none): refused at once,
   * unread, when that cannot fit now; otherwise the body's chunks take room as they are read
   * (`take`, which refuses alike once the intake is full) until `release()`. A refusal is
   * `RATE_LIMIT_EXHAUSTED` (level `intake`, retry after a second), and what the door answers
   * then depends only on its load, never on the request's tenant or connection.
   */
  open(declaredBytes: number): IntakeHold {
    if (this.#held > 0 && this.#held + declaredBytes > this.capacityBytes) throw this.#full();
    let mine = 0;
    let open = true;
    return {
      take: (bytes) => {
        if (!open) return;
        if (this.#held > mine && this.#held + bytes > this.capacityBytes) throw this.#full();
        this.#held += bytes;
        mine += bytes;
      },
      release: () => {
        if (open) this.#held -= mine;
        open = false;
      },
    };
  }

  #full(): OmniError {
    return new OmniError(
      "RATE_LIMIT_EXHAUSTED",
      "too many request bodies are being received at once; send this one again shortly",
      {
        retryAfterMs: RETRY_AFTER_MS,
        details: { level: "intake", capacity_bytes: this.capacityBytes },
      },
    );
  }
}

/** One body's room in a {@link BodyIntake}. */
export interface IntakeHold {
  /** Takes room for `bytes` more of the body; throws when the intake is full. */
  take(bytes: number): void;
  /** Gives the body's room back (again: nothing). */
  release(): void;
}

/**
 * The size a request says its body has: its `content-length` (at most `maxBytes`: a larger one
 * is refused as too large while reading), 0 when it declares none.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { declaredBodyBytes } from "./body_intake.ts";
 * const post = (headers: Record<string, string>) =>
 *   new Request("http://x", { method: "POST", headers, body: "{}" });
 * assert.equal(declaredBodyBytes(post({ "content-length": "2" }), 1000), 2);
 * assert.equal(declaredBodyBytes(post({}), 1000), 0);
 * ```
 */
export function declaredBodyBytes(req: Request, maxBytes: number): number {
  const declared = Number(req.headers.get("content-length") ?? NaN);
  return Number.isInteger(declared) && declared >= 0 ? Math.min(declared, maxBytes) : 0;
}
