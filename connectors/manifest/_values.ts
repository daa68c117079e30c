/**
 * Conversion of API values to column values (timestamps as ISO-8601 UTC, numbers checked), and
 * the templates of paths and queries.
 *
 * @module
 */
import type { ColumnType, Predicate } from "../sdk/mod.ts";
import { literalTimestampMicros, millisecondBound } from "../sdk/timestamp.ts";

/**
 * Converts an API value to a column value of a type; anything that does not fit is NULL.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { toColumnValue } from "./_values.ts";
 * assert.ok(toColumnValue("2026-01-02T03:04:05Z", "timestamp") === "2026-01-02T03:04:05.000Z");
 * assert.ok(toColumnValue(1700000000, "timestamp", "epoch_s") === "2023-11-14T22:13:20.000Z");
 * assert.ok(toColumnValue("x", "integer") === null);
 * ```
 */
export function toColumnValue(
  value: unknown,
  type: ColumnType,
  format: "iso" | "epoch_s" | "epoch_ms" = "iso",
): unknown {
  if (value === undefined || value === null) return null;
  switch (type) {
    case "json":
      return value;
    case "text":
      if (typeof value === "string") return value;
      if (typeof value === "number" || typeof value === "boolean") return String(value);
      return JSON.stringify(value);
    case "integer": {
      const n = typeof value === "string" && value.trim() !== "" ? Number(value) : value;
      return typeof n === "number" && Number.isInteger(n) ? n : null;
    }
    case "double": {
      const n = typeof value === "string" && value.trim() !== "" ? Number(value) : value;
      return typeof n === "number" && Number.isFinite(n) ? n : null;
    }
    case "boolean":
      if (typeof value === "boolean") return value;
      return value === "true" ? true : value === "false" ? false : null;
    case "timestamp": {
      let ms: number;
      if (typeof value === "number") ms = format === "epoch_s" ? value * 1000 : value;
      else if (typeof value === "string") {
        ms = /^\d+$/.test(value) && format !== "iso"
          ? Number(value) * (format === "epoch_s" ? 1000 : 1)
          : Date.parse(value.replace(/([+-]\d{2})(\d{2})$/, "$1:$2"));
      } else return null;
      return Number.isFinite(ms) ? new Date(ms).toISOString() : null;
    }
  }
}

/** Whether a SQL literal may be sent as a value of a column type. */
export function literalFits(value: unknown, type: ColumnType): boolean {
  switch (type) {
    case "text":
      return typeof value === "string";
    case "integer":
      return typeof value === "number" && Number.isInteger(value);
    case "double":
      return typeof value === "number" && Number.isFinite(value);
    case "boolean":
      return typeof value === "boolean";
    case "timestamp": {
      // Only whole milliseconds: what APIs compare with (see `wholeMilliseconds`).
      const micros = typeof value === "string" ? literalTimestampMicros(value) : undefined;
      return micros !== undefined && micros % 1000n === 0n;
    }
    case "json":
      return false;
  }
}

/**
 * A predicate on a timestamp column with every literal in whole milliseconds (what APIs take),
 * selecting exactly the same millisecond values — `< 12:00:00.000001` becomes
 * `<= 12:00:00.000` — or null when no such predicate exists (`= 12:00:00.000001`). Other
 * predicates are returned as they are.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { wholeMilliseconds } from "./_values.ts";
 * assert.deepEqual(
 *   wholeMilliseconds({ column: "t", op: ">", value: "2025-01-01T00:00:00.000001Z" }),
 *   { column: "t", op: ">=", value: "2025-01-01T00:00:00.001Z" },
 * );
 * ```
 */
export function wholeMilliseconds(p: Predicate): Predicate | null {
  if (!("value" in p) || typeof p.value !== "string") return p;
  const bound = millisecondBound(p.op, p.value);
  if (bound?.kind !== "compare") return null;
  return { column: p.column, op: bound.op, value: new Date(bound.ms).toISOString() };
}

/**
 * Fills `{config.x}` and `{credentials.x}` placeholders; a missing value is an error naming it.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { fillTemplate } from "./_values.ts";
 * assert.ok(fillTemplate("/pages/{config.page}/x", { config: { page: "a b" } }) === "/pages/a%20b/x");
 * ```
 */
export function fillTemplate(
  template: string,
  scope: { config?: Record<string, unknown> },
  encode: (s: string) => string = encodeURIComponent,
): string {
  return template.replace(/\{config\.([A-Za-z0-9_]+)\}/g, (_, key: string) => {
    const v = scope.config?.[key];
    if (typeof v !== "string" && typeof v !== "number") {
      throw new Error(`the connection's config lacks ${key}`);
    }
    return encode(String(v));
  });
}
