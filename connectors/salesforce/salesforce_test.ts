import assert from "node:assert/strict";
import { OmniError } from "../../src/errors.ts";
import { type Connection, findTable, runScan } from "../sdk/mod.ts";
import { salesforce, salesforceTokens } from "./mod.ts";
import { type SalesforceSandbox, startSalesforceSandbox } from "./sandbox/mod.ts";
import { acmeConnectionOf } from "../sdk/_testing.ts";

const opportunities = findTable(salesforce, "opportunities");

async function withOrg(fn: (sb: SalesforceSandbox, conn: Connection) => Promise<void>) {
  salesforceTokens.clear();
  const sb = await startSalesforceSandbox({
    org: "acme",
    clientId: "cid",
    clientSecret: "secret-xyz",
    refreshTokens: ["rt-1"],
  });
  try {
    await fn(
      sb,
      acmeConnectionOf("salesforce", "sf1", sb.url, {
        clientId: "cid",
        clientSecret: "secret-xyz",
      }),
    );
  } finally {
    await sb.close();
  }
}

const offer = { predicates: [], columns: ["id", "name"] };

Deno.test("salesforce: concurrent scans share one token request", async () => {
  await withOrg(async (sb, conn) => {
    const results = await Promise.all(
      [1, 2, 3, 4, 5].map(() => runScan(salesforce, opportunities, conn, offer)),
    );
    assert.ok(results.every((r) => r.rows.length === results[0].rows.length));
    assert.equal(sb.tokenRequests, 1);
  });
});

Deno.test("salesforce: INVALID_SESSION_ID refreshes the token once and retries", async () => {
  await withOrg(async (sb, conn) => {
    await runScan(salesforce, opportunities, conn, offer);
    sb.expireSessions();
    const results = await Promise.all(
      [1, 2, 3].map(() => runScan(salesforce, opportunities, conn, offer)),
    );
    assert.ok(results.every((r) => r.rows.length > 0));
    assert.equal(sb.tokenRequests, 2, "one refresh for three refused scans");
    // A session refused twice is an error, not a loop.
    sb.inject({ status: 401, times: 5 });
    await assert.rejects(
      () => runScan(salesforce, opportunities, conn, offer, { maxRetries: 0 }),
      (err) =>
        err instanceof OmniError && err.code === "SOURCE_ERROR" && err.details?.status === 401,
    );
  });
});

Deno.test("salesforce: the refresh-token grant works", async () => {
  await withOrg(async (_sb, conn) => {
    const withRefresh = { ...conn, credentials: { clientId: "cid", refreshToken: "rt-1" } };
    const r = await runScan(salesforce, opportunities, withRefresh, offer);
    assert.ok(r.rows.length > 0);
  });
});

Deno.test("salesforce: refused credentials are SOURCE_ERROR and never echo the secret", async () => {
  await withOrg(async (_sb, conn) => {
    const bad = { ...conn, credentials: { clientId: "cid", clientSecret: "wrong-secret-123" } };
    await assert.rejects(
      () => runScan(salesforce, opportunities, bad, offer),
      (err) =>
        err instanceof OmniError && err.code === "SOURCE_ERROR" &&
        /invalid_client/.test(err.message) && !err.message.includes("wrong-secret-123"),
    );
  });
});

Deno.test("salesforce: REQUEST_LIMIT_EXCEEDED is RATE_LIMIT_EXHAUSTED", async () => {
  salesforceTokens.clear();
  const sb = await startSalesforceSandbox({
    org: "acme",
    clientId: "cid",
    clientSecret: "s",
    dailyApiLimit: 1,
  });
  try {
    const conn: Connection = acmeConnectionOf("salesforce", "sf2", sb.url, {
      clientId: "cid",
      clientSecret: "s",
    });
    const first = await runScan(salesforce, opportunities, conn, offer);
    assert.deepEqual(first.rateLimit, { limit: 1, remaining: 0 });
    await assert.rejects(
      () => runScan(salesforce, opportunities, conn, offer, { maxRetries: 0 }),
      (err) =>
        err instanceof OmniError && err.code === "RATE_LIMIT_EXHAUSTED" &&
        /REQUEST_LIMIT_EXCEEDED/.test(err.message),
    );
  } finally {
    await sb.close();
  }
});

Deno.test("salesforce: a bad custom field name is the sandbox's INVALID_FIELD, as SOURCE_ERROR", async () => {
  await withOrg(async (_sb, conn) => {
    const c = { ...conn, config: { fields: { jiraIssueKey: "Ticket__c" } } };
    await assert.rejects(
      () => runScan(salesforce, opportunities, c, { predicates: [], columns: ["jira_issue_key"] }),
      (err) =>
        err instanceof OmniError && err.code === "SOURCE_ERROR" &&
        /INVALID_FIELD/.test(err.message),
    );
  });
});
