/**
 * Salesforce REST calls the connector makes: the OAuth 2.0 token (client credentials or refresh
 * token, shared and single-flighted through the SDK's {@link OAuthTokens}), `GET
 * /services/data/vNN.0/query?q=SOQL` and its `nextRecordsUrl` batches, the `Sforce-Limit-Info`
 * budget, and Salesforce's error arrays. An `INVALID_SESSION_ID` refreshes the token once and
 * retries; `REQUEST_LIMIT_EXCEEDED` is a spent budget.
 *
 * @module
 */
import { OmniError } from "../../src/errors.ts";
import {
  type AppProtocol,
  type Connection,
  type ConnectionSchema,
  type OAuthGrant,
  oauthKey,
  OAuthTokens,
  type PageRequest,
  type PageStyle,
  paginate,
  type SourceClient,
  type SourceResponse,
} from "../sdk/mod.ts";

/** The `config` of a Salesforce connection. */
export interface SalesforceConfig {
  /** REST API version. @default "62.0" */
  apiVersion: string;
  /** API name of the Opportunity custom field holding a Jira issue key. @default "Jira_Issue_Key__c" */
  jiraIssueKeyField: string;
  /** `Sforce-Query-Options: batchSize` hint (200–2000). @default 2000 */
  batchSize: number;
}

/** What a Salesforce connection holds (`connections describe salesforce`). */
export const SALESFORCE_CONNECTION: ConnectionSchema = {
  baseUrl: "The org's My Domain, e.g. https://acme.my.salesforce.com (its token endpoint)",
  config: [
    { name: "apiVersion", type: "string", description: 'REST API version (default "62.0").' },
    {
      name: "fields",
      type: "object",
      description: "{jiraIssueKey}: the Opportunity custom field holding a Jira key " +
        "(default Jira_Issue_Key__c).",
    },
    { name: "batchSize", type: "number", description: "Query batch size hint, 200–2000." },
  ],
  credentials: [
    [
      { name: "clientId", type: "string", required: true, description: "Connected app key." },
      {
        name: "clientSecret",
        type: "string",
        required: true,
        description: "Its secret (client credentials flow).",
      },
    ],
    [
      { name: "clientId", type: "string", required: true, description: "Connected app key." },
      {
        name: "refreshToken",
        type: "string",
        required: true,
        description: "A refresh token (refresh token flow).",
      },
      { name: "clientSecret", type: "string", description: "Its secret, when the app has one." },
    ],
  ],
  example: {
    baseUrl: "https://acme.my.salesforce.com",
    config: { apiVersion: "62.0", fields: { jiraIssueKey: "Jira_Issue_Key__c" } },
    credentials: { clientId: "3MVG9…", clientSecret: "…" },
  },
};

/**
 * Reads a connection's config.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { salesforceConfig } from "./client.ts";
 * assert.ok(salesforceConfig({ name: "sf", config: {} }).apiVersion === "62.0");
 * ```
 */
export function salesforceConfig(
  connection: Pick<Connection, "config" | "name">,
): SalesforceConfig {
  const c = connection.config ?? {};
  const bad = (what: string) =>
    new OmniError("SOURCE_ERROR", `${connection.name}: the Salesforce connection's config ${what}`);
  const apiVersion = c.apiVersion ?? "62.0";
  if (typeof apiVersion !== "string" || !/^\d{2,3}\.0$/.test(apiVersion)) {
    throw bad("has an invalid apiVersion (e.g. 62.0)");
  }
  const fields = (c.fields ?? {}) as Record<string, unknown>;
  const jira = fields.jiraIssueKey ?? "Jira_Issue_Key__c";
  if (typeof jira !== "string" || !/^[A-Za-z][A-Za-z0-9_]*__c$/.test(jira)) {
    throw bad(
      "has an invalid fields.jiraIssueKey (a custom field API name, e.g. Jira_Issue_Key__c)",
    );
  }
  const batchSize = c.batchSize ?? 2000;
  if (typeof batchSize !== "number" || batchSize < 200 || batchSize > 2000) {
    throw bad("has an invalid batchSize (200–2000)");
  }
  return { apiVersion, jiraIssueKeyField: jira, batchSize };
}

/** Tokens of every Salesforce connection of this process. */
export const salesforceTokens: OAuthTokens = new OAuthTokens({ defaultTtlMs: 30 * 60_000 });

/** The OAuth grant of a connection: refresh token when it has one, else client credentials. */
export function salesforceGrant(connection: Connection): OAuthGrant {
  const { clientId, clientSecret, refreshToken } = connection.credentials ?? {};
  if (!clientId || (!refreshToken && !clientSecret)) {
    throw new OmniError(
      "SOURCE_ERROR",
      `${connection.name}: the Salesforce connection has no credentials (clientId with clientSecret or refreshToken)`,
      { details: { source: connection.name, connector: "salesforce" } },
    );
  }
  const base = connection.baseUrl.replace(/\/+$/, "");
  return {
    tokenUrl: `${base}/services/oauth2/token`,
    grantType: refreshToken ? "refresh_token" : "client_credentials",
    clientId,
    ...(clientSecret ? { clientSecret } : {}),
    ...(refreshToken ? { refreshToken } : {}),
  };
}

/** `Authorization: Bearer <access token>`, obtaining or reusing the connection's token. */
export async function salesforceAuthorize(connection: Connection): Promise<HeadersInit> {
  const token = await salesforceTokens.get(oauthKey(connection), salesforceGrant(connection));
  return { authorization: `Bearer ${token.accessToken}` };
}

/**
 * How Salesforce's answers read: `Sforce-Limit-Info: api-usage=USED/LIMIT` (a rolling 24-hour
 * budget), error arrays `[{message, errorCode, fields?}]` (`REQUEST_LIMIT_EXCEEDED` is a spent
 * budget), and the token endpoint's `{error, error_description}`.
 */
export const SALESFORCE_PROTOCOL: AppProtocol = {
  rateLimit: {
    buckets: [],
    usage: { header: "sforce-limit-info", pattern: /api-usage=(\d+)\/(\d+)/ },
  },
  errors: {
    messages: ["[].message", "message", "error_description"],
    codes: ["[].errorCode", "errorCode", "error"],
    rateLimitedCodes: ["REQUEST_LIMIT_EXCEEDED"],
  },
};

/** A SOQL query's batches: records in `records`, the next batch at `nextRecordsUrl` until `done`. */
const QUERY_BATCHES: PageStyle = {
  style: "next_url",
  items: "records",
  next: "nextRecordsUrl",
  done: "done",
};

function isInvalidSession(err: unknown): boolean {
  return err instanceof OmniError && err.details?.status === 401;
}

/**
 * The batches of a SOQL query (`GET /services/data/vNN.0/query?q=…`, then each `nextRecordsUrl`),
 * each request on the org's instance URL with the connection's token, refreshed once if the
 * session is refused.
 *
 * @example
 * ```ts ignore
 * for await (const records of queryBatches(http, connection, "SELECT Id FROM Account")) {}
 * ```
 */
export async function* queryBatches(
  http: SourceClient,
  connection: Connection,
  soql: string,
  signal?: AbortSignal,
): AsyncGenerator<Record<string, unknown>[]> {
  const config = salesforceConfig(connection);
  const key = oauthKey(connection);
  const send = (request: PageRequest): Promise<SourceResponse> =>
    salesforceTokens.withToken(key, salesforceGrant(connection), async (token) => {
      const client = clientFor(http, connection, token.instanceUrl);
      try {
        return await client.get(request.url, request.query, request.headers);
      } finally {
        // Counters are shared; the latest budget reading is the instance's.
        if (client !== http) http.lastRateLimit = client.lastRateLimit;
      }
    }, isInvalidSession);
  const first: PageRequest = {
    url: `/services/data/v${config.apiVersion}/query`,
    query: { q: soql },
    headers: { "sforce-query-options": `batchSize=${config.batchSize}` },
  };
  for await (const page of paginate(http, QUERY_BATCHES, first, { signal, send })) {
    yield page.items as Record<string, unknown>[];
  }
}

/** The client for the org's instance URL: the connection's own when it is on the same origin. */
function clientFor(
  http: SourceClient,
  connection: Connection,
  instanceUrl?: string,
): SourceClient {
  if (!instanceUrl) return http;
  let same = false;
  try {
    same = new URL(instanceUrl).origin === new URL(connection.baseUrl).origin;
  } catch {
    same = false;
  }
  if (same) return http;
  return http.withBaseUrl(instanceUrl);
}
