/**
 * The demo world's deterministic randomness: the same seed text gives the same data on every
 * run and machine, so sandboxes and the tests that check them agree.
 *
 * @module
 */

/**
 * FNV-1a hash of a string, as an unsigned 32-bit integer.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { hash } from "./random.ts";
 * assert.equal(hash(""), 2166136261);
 * assert.equal(hash("acme"), hash("acme"));
 * ```
 */
export function hash(s: string): number {
  let h = 2166136261;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 16777619);
  return h >>> 0;
}

/**
 * The mulberry32 generator: numbers in [0, 1), the same sequence for the same seed.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { mulberry32 } from "./random.ts";
 * const [a, b] = [mulberry32(7), mulberry32(7)];
 * const x = a();
 * assert.equal(x, b());
 * assert.ok(x >= 0 && x < 1);
 * ```
 */
export function mulberry32(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
