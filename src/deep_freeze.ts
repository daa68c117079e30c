/**
 * Freezing shared values: what several callers read from one cache (decrypted entries, parsed
 * queries) must not be changed by any of them.
 *
 * @module
 */

/**
 * Freezes a value and everything reachable from it (plain JSON data: objects and arrays), so a
 * value shared between callers cannot be changed by one of them. Returns it.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { deepFreeze } from "./deep_freeze.ts";
 * const value = deepFreeze({ rows: [{ id: 1 }] });
 * assert.ok(Object.isFrozen(value.rows[0]));
 * ```
 */
export function deepFreeze<T>(value: T): T {
  if (value === null || typeof value !== "object" || Object.isFrozen(value)) return value;
  Object.freeze(value);
  if (Array.isArray(value)) {
    for (const item of value) deepFreeze(item);
  } else {
    for (const key in value) deepFreeze((value as Record<string, unknown>)[key]);
  }
  return value;
}
