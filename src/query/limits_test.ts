import assert from "node:assert/strict";
import { OmniError } from "../errors.ts";
import {
  checkNesting,
  checkTableCount,
  DEFAULT_LIMITS,
  effectiveTimeoutMs,
  limitsFor,
} from "./limits.ts";

const code = (fn: () => void) => {
  try {
    fn();
    return "ok";
  } catch (err) {
    return err instanceof OmniError ? err.code : String(err);
  }
};

Deno.test("checkNesting() refuses 5000 nested parentheses with INVALID_REQUEST", () => {
  const sql = "SELECT " + "(".repeat(5000) + "1" + ")".repeat(5000);
  assert.equal(code(() => checkNesting(sql, DEFAULT_LIMITS)), "INVALID_REQUEST");
});

Deno.test("checkNesting() ignores parentheses in strings, identifiers and comments", () => {
  const deep = "(".repeat(500);
  const sql = `SELECT '${deep}' AS "${deep}" -- ${deep}\n/* ${deep} */ FROM t`;
  assert.equal(code(() => checkNesting(sql, DEFAULT_LIMITS)), "ok");
});

Deno.test("checkNesting() refuses SQL containing NUL", () => {
  assert.equal(code(() => checkNesting("SELECT 1 -- \u0000", DEFAULT_LIMITS)), "INVALID_REQUEST");
});

Deno.test("checkTableCount() refuses more tables than the limit", () => {
  assert.equal(code(() => checkTableCount(16, DEFAULT_LIMITS)), "ok");
  assert.equal(code(() => checkTableCount(17, DEFAULT_LIMITS)), "INVALID_REQUEST");
});

Deno.test("a tenant's maxTimeoutMs caps the deadline a request asks for", () => {
  const limits = limitsFor({ maxTimeoutMs: 5_000 });
  assert.equal(effectiveTimeoutMs(60_000, limits), 5_000);
  assert.equal(effectiveTimeoutMs(undefined, limits), 5_000);
  assert.equal(effectiveTimeoutMs(1_000, limits), 1_000);
  assert.equal(effectiveTimeoutMs(undefined, limitsFor(undefined)), 30_000);
});

Deno.test("a tenant's maxRows sets the row limit", () => {
  assert.equal(limitsFor({ maxRows: 50 }).maxRows, 50);
  assert.equal(limitsFor({}).maxRows, DEFAULT_LIMITS.maxRows);
});
