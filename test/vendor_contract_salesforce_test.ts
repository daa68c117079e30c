/**
 * Contract test on Salesforce's own examples: the token, query, limit-header and error examples
 * of Salesforce's REST API Developer Guide and Help (`test/contract/fixtures/salesforce/README.md`
 * says where each came from), served over the connector's real protocol — an OAuth 2.0 client
 * credentials token whose `instance_url` the queries go to, `GET /services/data/v62.0/query?q=`
 * batches followed through `nextRecordsUrl` until `done`, `Sforce-Limit-Info` on every answer and
 * Salesforce's error arrays. The connector must give the right rows and errors.
 */
import assert from "node:assert/strict";
import { salesforce, salesforceTokens } from "../connectors/salesforce/mod.ts";
import { type Connection, findTable, runScan } from "../connectors/sdk/mod.ts";
import { fixture, type Replayed, startReplay } from "./contract/_replay.ts";
import { failure } from "../connectors/sdk/_testing.ts";

type Json = Record<string, unknown>;
type Errors = Record<
  "not_found" | "malformed_id" | "invalid_session" | "request_limit" | "unavailable",
  Replayed
>;

Deno.test("contract: Salesforce's published examples give the right rows, batches, retries and errors", async () => {
  salesforceTokens.clear();
  const [token, query, errors] = await Promise.all([
    fixture<Json>("salesforce", "token.json"),
    fixture<{ first: Json; next: Json }>("salesforce", "query.json"),
    fixture<Errors & { limit_info: Record<string, string> }>("salesforce", "errors.json"),
  ]);
  const next = query.first.nextRecordsUrl as string;
  /** Failures to answer, in order, before the normal answers resume. */
  const faults: Replayed[] = [];
  let instanceUrl = "";
  const replay = startReplay((req) => {
    if (req.method === "POST" && req.path === "/services/oauth2/token") {
      // The documented answer, with the instance URL pointed at this replay.
      return { body: { ...token, instance_url: instanceUrl } };
    }
    const fault = faults.shift();
    if (fault) return { ...fault, headers: { ...errors.limit_info, ...fault.headers } };
    if (req.path === "/services/data/v62.0/query") {
      return { headers: errors.limit_info, body: query.first };
    }
    if (req.path === next) return { headers: errors.limit_info, body: query.next };
    return errors.not_found;
  });
  instanceUrl = replay.url;
  const connection: Connection = {
    id: "contract-sf",
    tenantId: "t",
    connector: "salesforce",
    name: "salesforce",
    baseUrl: replay.url,
    credentials: { clientId: "client-key", clientSecret: "client-secret" },
    config: {},
  };
  const table = findTable(salesforce, "accounts");
  const columns = table.columns.map((c) => c.name);
  const queries = () => replay.seen.filter((r) => r.path.startsWith("/services/data/"));
  const tokenRequests = () => replay.seen.filter((r) => r.path === "/services/oauth2/token");
  // Every scan here is unfiltered: only its columns and retry options vary.
  const scan = (columns: string[], options: Parameters<typeof runScan>[4]) =>
    runScan(salesforce, table, connection, { predicates: [], columns }, options);
  try {
    const all = await scan(columns, { maxRetries: 0 });
    // The client credentials grant, as the flow documents it.
    assert.deepEqual(tokenRequests().map((r) => r.body), [{
      grant_type: "client_credentials",
      client_id: "client-key",
      client_secret: "client-secret",
    }]);
    const [firstQuery, nextQuery] = queries();
    assert.equal(firstQuery.headers.get("authorization"), "Bearer your_access_token");
    assert.equal(firstQuery.headers.get("sforce-query-options"), "batchSize=2000");
    const soql = new URL(replay.url + firstQuery.path + firstQuery.search).searchParams.get("q");
    assert.match(soql ?? "", /^SELECT Id, Name, .* FROM Account$/);
    assert.equal(nextQuery.path, next, "the next batch is fetched at nextRecordsUrl");
    assert.equal(nextQuery.search, "", "nextRecordsUrl is requested without parameters");
    assert.equal(all.pages, 2);
    const blank = {
      industry: null,
      annual_revenue: null,
      type: null,
      owner_id: null,
      owner_name: null,
      owner_email: null,
      owner_department: null,
      created_date: null,
    };
    assert.deepEqual(all.rows.map((r) => ({ ...r })), [
      { id: "001D000000IRFmaIAH", name: "Test 1", ...blank },
      { id: "001D000000IomazIAB", name: "Test 2", ...blank },
    ]);
    // `Sforce-Limit-Info: api-usage=18/5000`: 18 calls used of the org's 5000.
    assert.equal(all.rateLimit?.limit, 5000);
    assert.equal(all.rateLimit?.remaining, 4982);

    // A refused session refreshes the token once and the query is asked again.
    faults.push(errors.invalid_session);
    const refreshed = await scan(["id"], { maxRetries: 0 });
    assert.equal(refreshed.rows.length, 2);
    assert.equal(tokenRequests().length, 2);

    // A 503 is retried; the batches are still whole.
    faults.push(errors.unavailable);
    const before = queries().length;
    const retried = await scan(["id"], { maxRetries: 2, baseDelayMs: 1 });
    assert.deepEqual(retried.rows.map((r) => r.id), ["001D000000IRFmaIAH", "001D000000IomazIAB"]);
    assert.equal(queries().length - before, 3, "one failed answer, then two batches");

    // REQUEST_LIMIT_EXCEEDED (a 403) is the org's spent daily budget, not a permission error.
    faults.push(errors.request_limit);
    const spent = await failure(scan(["id"], { maxRetries: 0 }));
    assert.equal(spent.code, "RATE_LIMIT_EXHAUSTED");

    // Permanent errors are SOURCE_ERRORs with the upstream status and message, not retried.
    for (
      const [fault, status, message] of [
        [errors.malformed_id, 400, /id value of incorrect type: 001900K0001pPuOAAU/],
        [errors.not_found, 404, /The requested resource does not exist/],
      ] as const
    ) {
      faults.push(fault);
      const sent = queries().length;
      const err = await failure(scan(["id"], { maxRetries: 2, baseDelayMs: 1 }));
      assert.equal(err.code, "SOURCE_ERROR");
      assert.equal(err.details?.status, status);
      assert.match(err.message, message);
      assert.equal(queries().length - sent, 1, "a permanent error is not retried");
    }
  } finally {
    await replay.close();
    salesforceTokens.clear();
  }
});
