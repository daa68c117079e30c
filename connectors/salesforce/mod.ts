/**
 * The Salesforce connector: `accounts` and `opportunities` over the REST API's SOQL query
 * endpoint, with an OAuth 2.0 token per connection (client credentials or refresh token,
 * refreshed once on `INVALID_SESSION_ID`), `nextRecordsUrl` batches, the `Sforce-Limit-Info`
 * budget and SOQL pushdown (WHERE, field list, ORDER BY, LIMIT). Its sandbox (`./sandbox/`)
 * serves the demo world over the same protocol.
 *
 * Connection: base URL = the org's My Domain (`https://acme.my.salesforce.com`, where the token
 * endpoint lives); credentials `{clientId, clientSecret}` or `{clientId, clientSecret?,
 * refreshToken}`; config `{apiVersion?: "62.0", fields?: {jiraIssueKey?: "Jira_Issue_Key__c"},
 * batchSize?: 2000}`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { salesforce } from "./mod.ts";
 * assert.ok(salesforce.tables.map((t) => t.name).join() === "accounts,opportunities");
 * ```
 *
 * @module
 */
import { type ConnectorDef, protocolReaders } from "../sdk/mod.ts";
import { SALESFORCE_CONNECTION, SALESFORCE_PROTOCOL, salesforceAuthorize } from "./client.ts";
import { accounts } from "./accounts.ts";
import { opportunities } from "./opportunities.ts";

/** The Salesforce connector. */
export const salesforce: ConnectorDef = {
  id: "salesforce",
  description: "Salesforce (REST API, SOQL): accounts and opportunities of the org.",
  tables: [accounts, opportunities],
  connection: SALESFORCE_CONNECTION,
  authorize: salesforceAuthorize,
  ...protocolReaders(SALESFORCE_PROTOCOL),
};

export { salesforceTokens } from "./client.ts";
export type { SalesforceConfig } from "./client.ts";
