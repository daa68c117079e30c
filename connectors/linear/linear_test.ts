import assert from "node:assert/strict";
import { OmniError } from "../../src/errors.ts";
import { demoLinear } from "../demo/world.ts";
import { type Connection, findTable, runScan } from "../sdk/mod.ts";
import { linear } from "./mod.ts";
import { type LinearSandbox, startLinearSandbox } from "./sandbox/mod.ts";
import { acmeConnectionOf } from "../sdk/_testing.ts";

const issues = findTable(linear, "issues");
const KEY = "lin_api_test_key";

async function withWorkspace(
  fn: (sb: LinearSandbox, conn: Connection) => Promise<void>,
  extra: { requestsPerHour?: number; oauthTokens?: string[] } = {},
) {
  const sb = await startLinearSandbox({ org: "acme", apiKeys: [KEY], ...extra });
  try {
    await fn(sb, acmeConnectionOf("linear", "l1", sb.url, { apiKey: KEY }));
  } finally {
    await sb.close();
  }
}

Deno.test("linear: an API key is sent as `Authorization: <key>`, an OAuth token as Bearer", async () => {
  await withWorkspace(async (sb, conn) => {
    await runScan(linear, issues, conn, { predicates: [], columns: ["id"] });
    assert.equal(sb.requests[0].authorization, KEY);
    const oauth = { ...conn, credentials: { accessToken: "oauth-1" } };
    const r = await runScan(linear, issues, oauth, { predicates: [], columns: ["id"] });
    assert.equal(r.rows.length, 60);
    assert.equal(sb.requests.at(-1)!.authorization, "Bearer oauth-1");
  }, { oauthTokens: ["oauth-1"] });
});

Deno.test("linear: predicates travel as an IssueFilter variable, never in the query text", async () => {
  await withWorkspace(async (sb, conn) => {
    const hostile = 'x") { id } } query Evil { viewer { email } #';
    const r = await runScan(linear, issues, conn, {
      predicates: [
        { column: "team", op: "=", value: "web" },
        { column: "title", op: "=", value: hostile },
      ],
      columns: ["identifier", "title"],
    });
    assert.equal(r.rows.length, 0);
    const req = sb.requests[0];
    assert.ok(!req.query.includes("web") && !req.query.includes("Evil"), req.query);
    assert.deepEqual(req.variables.filter, {
      and: [{ team: { key: { eq: "web" } } }, { title: { eq: hostile } }],
    });
  });
});

Deno.test("linear: the query selects only the columns the SQL reads", async () => {
  await withWorkspace(async (sb, conn) => {
    const r = await runScan(linear, issues, conn, {
      predicates: [{ column: "state", op: "=", value: "Done" }],
      columns: ["identifier", "team"],
    });
    const expected = demoLinear("acme").issues.filter((i) => i.state.name === "Done");
    assert.deepEqual(
      r.rows.map((x) => x.identifier).sort(),
      expected.map((i) => i.identifier).sort(),
    );
    assert.match(sb.requests[0].query, /nodes \{ identifier team \{ key \} state \{ name \} \}/);
    assert.ok(!/branchName|assignee/.test(sb.requests[0].query));
  });
});

Deno.test("linear: a LIMIT with every predicate pushed exactly asks for that many", async () => {
  await withWorkspace(async (sb, conn) => {
    const r = await runScan(linear, issues, conn, {
      predicates: [{ column: "team", op: "=", value: "mobile" }],
      columns: ["identifier"],
      limit: 4,
    });
    assert.equal(r.rows.length, 4);
    assert.equal(r.plan.limit, 4);
    assert.equal(sb.requests.length, 1);
    assert.equal(sb.requests[0].variables.first, 4);
    const loose = issues.plan({
      predicates: [{ column: "description", op: "=", value: "x" }],
      columns: ["identifier"],
      limit: 4,
    }, conn);
    assert.equal(loose.limit, undefined, "a residual predicate forbids the limit");
  });
});

Deno.test("linear: RATELIMITED (HTTP 400) is RATE_LIMIT_EXHAUSTED until the reset in ms", async () => {
  await withWorkspace(async (_sb, conn) => {
    const ok = await runScan(linear, issues, conn, { predicates: [], columns: ["id"] });
    assert.equal(ok.rateLimit?.remaining, 0);
    await assert.rejects(
      () => runScan(linear, issues, conn, { predicates: [], columns: ["id"] }, { maxRetries: 0 }),
      (err) => {
        assert.ok(err instanceof OmniError);
        assert.equal(err.code, "RATE_LIMIT_EXHAUSTED");
        assert.match(err.message, /RATELIMITED/);
        assert.ok(err.retryAfterMs! > 3_000_000 && err.retryAfterMs! <= 3_600_000);
        return true;
      },
    );
  }, { requestsPerHour: 1 });
});

Deno.test("linear: GraphQL errors in a 200 and unknown credentials map to the vocabulary", async () => {
  await withWorkspace(async (sb, conn) => {
    sb.inject({
      status: 200,
      body: JSON.stringify({ errors: [{ message: "boom", extensions: { code: "INTERNAL" } }] }),
    });
    await assert.rejects(
      () => runScan(linear, issues, conn, { predicates: [], columns: ["id"] }),
      (err) => err instanceof OmniError && err.code === "SOURCE_ERROR" && /boom/.test(err.message),
    );
    const wrong = { ...conn, credentials: { apiKey: "nope" } };
    await assert.rejects(
      () => runScan(linear, issues, wrong, { predicates: [], columns: ["id"] }),
      (err) =>
        err instanceof OmniError && err.code === "SOURCE_ERROR" && err.details?.status === 401 &&
        /AUTHENTICATION_ERROR/.test(err.message),
    );
    await assert.rejects(
      () =>
        runScan(linear, issues, { ...conn, credentials: {} }, { predicates: [], columns: ["id"] }),
      (err) => err instanceof OmniError && /apiKey or accessToken/.test(err.message),
    );
  });
});

Deno.test("linear: team IN (…) runs one cursor chain per team, in parallel, with the other filters", async () => {
  await withWorkspace(async (sb, conn) => {
    const offer = {
      predicates: [
        { column: "team", op: "in" as const, values: ["mobile", "web"] },
        { column: "priority", op: ">" as const, value: 0 },
      ],
      columns: ["identifier", "team", "priority"],
    };
    const r = await runScan(linear, issues, conn, offer);
    const expected = demoLinear("acme").issues.filter((i) =>
      ["mobile", "web"].includes(i.team.key) && i.priority > 0
    ).map((i) => i.identifier).sort();
    assert.ok(expected.length > 0);
    assert.deepEqual(r.rows.map((row) => row.identifier).sort(), expected);
    assert.equal(r.plan.native.length, 2);
    const filters = sb.requests.map((q) => JSON.stringify(q.variables.filter));
    for (const team of ["mobile", "web"]) {
      assert.ok(
        filters.includes(
          JSON.stringify({ and: [{ team: { key: { eq: team } } }, { priority: { gt: 0 } }] }),
        ),
        filters.join("\n"),
      );
    }
    // With a LIMIT the first rows of one ordered chain are wanted: no partitions.
    sb.reset();
    const limited = await runScan(linear, issues, conn, { ...offer, limit: 3 });
    assert.equal(limited.plan.native.length, 1);
    assert.equal(sb.requests.length, 1);
  });
});
