import assert from "node:assert/strict";
import { OmniError } from "../errors.ts";
import { parseQueryRequest } from "./request.ts";

function refused(body: unknown, message: RegExp, field?: string) {
  assert.throws(() => parseQueryRequest(body), (err) => {
    assert.ok(err instanceof OmniError);
    assert.equal(err.code, "INVALID_REQUEST");
    assert.match(err.message, message);
    assert.equal(err.details?.field, field);
    return true;
  });
}

Deno.test("parseQueryRequest() keeps the sql and the metadata that was set", () => {
  const req = parseQueryRequest({
    sql: "SELECT 1",
    metadata: { trace_id: "t-1", max_staleness_ms: 0, timeout_ms: 500, async: false, x: 1 },
  });
  assert.deepEqual(req, {
    sql: "SELECT 1",
    metadata: { trace_id: "t-1", max_staleness_ms: 0, timeout_ms: 500, async: false },
  });
});

Deno.test("parseQueryRequest() treats absent and null options alike", () => {
  assert.deepEqual(parseQueryRequest({ sql: "SELECT 1" }).metadata, {});
  assert.deepEqual(
    parseQueryRequest({ sql: "SELECT 1", metadata: { timeout_ms: null, async: null } }).metadata,
    {},
  );
});

Deno.test("parseQueryRequest() names the field it refuses", () => {
  refused([], /JSON object/);
  refused("SELECT 1", /JSON object/);
  refused({}, /`sql` must be a string/, "sql");
  refused({ sql: 5 }, /`sql` must be a string/, "sql");
  refused({ sql: "  " }, /`sql` is empty/, "sql");
  refused({ sql: "SELECT 1", metadata: [] }, /`metadata` must be an object/, "metadata");
  refused(
    { sql: "SELECT 1", metadata: { timeout_ms: 0 } },
    /metadata.timeout_ms/,
    "metadata.timeout_ms",
  );
  refused(
    { sql: "SELECT 1", metadata: { max_staleness_ms: "5" } },
    /metadata.max_staleness_ms` must be a number from 0/,
    "metadata.max_staleness_ms",
  );
  refused(
    { sql: "SELECT 1", metadata: { async: "yes" } },
    /metadata.async` must be true/,
    "metadata.async",
  );
  refused(
    { sql: "SELECT 1", metadata: { trace_id: "a b" } },
    /metadata.trace_id/,
    "metadata.trace_id",
  );
});

Deno.test("parseQueryRequest() refuses a NUL character in the SQL or the metadata", () => {
  refused({ sql: "SELECT 1\0" }, /NUL/, "sql");
  refused(
    { sql: "SELECT 1", metadata: { async: true, notify_url: "https://hooks.example/\0" } },
    /NUL/,
    "metadata.notify_url",
  );
  // The six characters `\u0000` are text like any other.
  assert.equal(parseQueryRequest({ sql: "SELECT '\\u0000' AS x" }).sql, "SELECT '\\u0000' AS x");
});

Deno.test("parseQueryRequest() refuses an unpaired UTF-16 surrogate, even in a comment", () => {
  // JSON.parse gives a lone surrogate for `"\ud800"`: no Postgres JSON value can hold it.
  const body = JSON.parse('{"sql": "SELECT 3 AS ok -- \\ud800"}');
  refused(body, /unpaired UTF-16 surrogate/, "sql");
  refused(
    { sql: "SELECT 1", metadata: { async: true, notify_url: "https://hooks.example/\udc00" } },
    /surrogate/,
    "metadata.notify_url",
  );
  // A pair is one character (here an emoji), welcome anywhere.
  assert.equal(
    parseQueryRequest({ sql: "SELECT '\u{1F600}' AS x" }).sql,
    "SELECT '\u{1F600}' AS x",
  );
});

Deno.test("parseQueryRequest() answers a repeated body alike and refuses a bad one every time", () => {
  const body = { sql: "SELECT 1", metadata: { max_staleness_ms: 5 } };
  const first = parseQueryRequest(body);
  const again = parseQueryRequest(structuredClone(body));
  assert.deepEqual(again, { sql: "SELECT 1", metadata: { max_staleness_ms: 5 } });
  assert.deepEqual(first, again);
  // A shared answer cannot be changed by one caller under another.
  assert.throws(() => Object.assign(again.metadata, { max_staleness_ms: 0 }), TypeError);
  const bad = { sql: "SELECT 1", metadata: { timeout_ms: -1 } };
  for (let i = 0; i < 2; i++) assert.throws(() => parseQueryRequest(bad), /timeout_ms/);
});
