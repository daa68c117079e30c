/**
 * Reading values out of an app's JSON by path — `a.b` reads a field, `a[].b` maps over a list, a
 * leading `[]` maps over a top-level list, `a.*` reads every value of an object, `.` is the value
 * itself — so connectors and manifests declare where things are instead of writing readers.
 *
 * @module
 */

/**
 * The values at a JSON path. Missing steps give no values.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { readPath } from "./json_path.ts";
 * assert.deepEqual(readPath({ errors: [{ extensions: { code: "RATELIMITED" } }] },
 *   "errors[].extensions.code"), ["RATELIMITED"]);
 * assert.deepEqual(readPath([{ message: "a" }, { message: "b" }], "[].message"), ["a", "b"]);
 * assert.deepEqual(readPath({ errors: { jql: "bad" } }, "errors.*"), ["bad"]);
 * ```
 */
export function readPath(value: unknown, path: string): unknown[] {
  if (path === ".") return [value];
  let current: unknown[] = [value];
  for (const step of path.split(".")) {
    const spread = step.endsWith("[]");
    const key = spread ? step.slice(0, -2) : step;
    const next: unknown[] = [];
    for (const v of current) {
      if (key === "") {
        if (spread && Array.isArray(v)) next.push(...v);
        continue;
      }
      if (v === null || typeof v !== "object" || Array.isArray(v)) continue;
      if (key === "*") {
        next.push(...Object.values(v));
        continue;
      }
      const got = (v as Record<string, unknown>)[key];
      if (got === undefined) continue;
      if (spread) {
        if (Array.isArray(got)) next.push(...got);
      } else next.push(got);
    }
    current = next;
  }
  return current;
}

/**
 * The single value at a path (`undefined` when absent).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { readOne } from "./json_path.ts";
 * assert.equal(readOne({ data: { issues: { nodes: [] } } }, "data.issues.nodes.length"), undefined);
 * assert.deepEqual(readOne({ data: { issues: { nodes: [] } } }, "data.issues.nodes"), []);
 * ```
 */
export function readOne(value: unknown, path: string): unknown {
  return readPath(value, path)[0];
}
