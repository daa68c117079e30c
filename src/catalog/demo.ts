/**
 * The demo tenants, users, credentials and connection configs: one source for the seed, the
 * connectors' sandboxes (which accept exactly these credentials) and the tests.
 *
 * @module
 */
import SUPPORT_MAPPING from "./demo_support_mapping.json" with { type: "json" };

/** URLs of the running sandboxes the demo connections point at. */
export interface DemoSandboxes {
  github: { url: string };
  jira: { acme: { url: string }; globex: { url: string } };
  /** Each tenant's Linear workspace; absent: no `linear` connection is seeded. */
  linear?: { acme: { url: string }; globex: { url: string } };
  /** Each tenant's Salesforce org (My Domain URL); absent: no `salesforce` connection. */
  salesforce?: { acme: { url: string }; globex: { url: string } };
  /** Each tenant's support desk (MCP endpoint URL); absent: no `support` connection. */
  support?: { acme: { url: string }; globex: { url: string } };
}

/** Credentials and config of one demo connection (its URL comes from the sandboxes). */
export interface DemoConnection {
  credentials: Record<string, string>;
  config: Record<string, unknown>;
}

/**
 * The demo tenants.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { DEMO_TENANTS } from "./demo.ts";
 * assert.ok(DEMO_TENANTS.find((t) => t.id === "globex")?.zone === "eu");
 * ```
 */
export const DEMO_TENANTS: readonly { id: string; name: string; zone: string }[] = [
  { id: "acme", name: "Acme Corp", zone: "us" },
  { id: "globex", name: "Globex Corporation", zone: "eu" },
];

/**
 * The demo users, with the attributes policies read.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { DEMO_USERS } from "./demo.ts";
 * assert.ok(DEMO_USERS.find((u) => u.email === "qa@acme")?.teamId === "mobile");
 * ```
 */
export const DEMO_USERS: readonly {
  tenantId: string;
  email: string;
  role: string;
  teamId: string | null;
}[] = [
  { tenantId: "acme", email: "dev@acme", role: "developer", teamId: "mobile" },
  { tenantId: "acme", email: "qa@acme", role: "qa", teamId: "mobile" },
  { tenantId: "acme", email: "webdev@acme", role: "developer", teamId: "web" },
  { tenantId: "acme", email: "admin@acme", role: "admin", teamId: null },
  { tenantId: "globex", email: "dev@globex", role: "developer", teamId: "platform" },
];

const JIRA_FIELDS = { branch: "customfield_10050", storyPoints: "customfield_10016" };

/**
 * The demo GitHub connections, by tenant.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { DEMO_GITHUB } from "./demo.ts";
 * assert.ok(DEMO_GITHUB.acme.credentials.token === "ghp_demo_acme_0123456789");
 * ```
 */
export const DEMO_GITHUB: { acme: DemoConnection; globex: DemoConnection } = {
  acme: {
    credentials: { token: "ghp_demo_acme_0123456789" },
    config: {
      owner: "acme",
      repos: ["mobile-app", "ios-app", "web-app", "web-dashboard"],
      teams: {
        "mobile-app": "mobile",
        "ios-app": "mobile",
        "web-app": "web",
        "web-dashboard": "web",
      },
    },
  },
  globex: {
    credentials: { token: "ghp_demo_globex_0123456789" },
    config: {
      owner: "globex",
      repos: ["platform-api", "platform-ui"],
      teams: { "platform-api": "platform", "platform-ui": "platform" },
    },
  },
};

/**
 * The demo Jira connections, by tenant.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { DEMO_JIRA } from "./demo.ts";
 * assert.ok(DEMO_JIRA.globex.credentials.apiToken === "jira_demo_globex_token");
 * ```
 */
export const DEMO_JIRA: { acme: DemoConnection; globex: DemoConnection } = {
  acme: {
    credentials: { email: "bot@acme.example", apiToken: "jira_demo_acme_token" },
    config: {
      projects: ["MOB", "WEB"],
      projectTeams: { MOB: "mobile", WEB: "web" },
      fields: JIRA_FIELDS,
    },
  },
  globex: {
    credentials: { email: "bot@globex.example", apiToken: "jira_demo_globex_token" },
    config: { projects: ["PLT"], projectTeams: { PLT: "platform" }, fields: JIRA_FIELDS },
  },
};

/**
 * The demo Linear connections, by tenant: a personal API key each (sent as
 * `Authorization: <key>`, without "Bearer", as Linear expects).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { DEMO_LINEAR } from "./demo.ts";
 * assert.ok(DEMO_LINEAR.acme.credentials.apiKey.startsWith("lin_api_"));
 * ```
 */
export const DEMO_LINEAR: { acme: DemoConnection; globex: DemoConnection } = {
  acme: { credentials: { apiKey: "lin_api_demo_acme_0123456789abcdef" }, config: {} },
  globex: { credentials: { apiKey: "lin_api_demo_globex_0123456789abcdef" }, config: {} },
};

/**
 * The demo Salesforce connections, by tenant: a connected app's client credentials each (acme)
 * or a refresh token (globex), so both OAuth grants run in the demo.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { DEMO_SALESFORCE } from "./demo.ts";
 * assert.ok(DEMO_SALESFORCE.globex.credentials.refreshToken !== undefined);
 * ```
 */
export const DEMO_SALESFORCE: { acme: DemoConnection; globex: DemoConnection } = {
  acme: {
    credentials: {
      clientId: "3MVG9demo_acme_consumer_key",
      clientSecret: "demo_acme_consumer_secret",
    },
    config: { apiVersion: "62.0", fields: { jiraIssueKey: "Jira_Issue_Key__c" } },
  },
  globex: {
    credentials: {
      clientId: "3MVG9demo_globex_consumer_key",
      clientSecret: "demo_globex_consumer_secret",
      refreshToken: "5Aep861demo_globex_refresh_token",
    },
    config: { apiVersion: "62.0", fields: { jiraIssueKey: "Jira_Issue_Key__c" } },
  },
};

/**
 * The demo MCP connections to each tenant's support desk (`connectors/mcp/sandbox/`): a bearer
 * token (acme) or OAuth client credentials (globex), and the mapping of the `list_tickets` tool
 * to `support.tickets`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { DEMO_SUPPORT } from "./demo.ts";
 * assert.equal(DEMO_SUPPORT.acme.credentials.token, "mcp_demo_acme_support_token");
 * ```
 */
export const DEMO_SUPPORT: { acme: DemoConnection; globex: DemoConnection } = {
  acme: { credentials: { token: "mcp_demo_acme_support_token" }, config: supportMapping() },
  globex: {
    credentials: { clientId: "omnisql-globex", clientSecret: "demo_globex_support_secret" },
    config: supportMapping(),
  },
};

/**
 * The MCP mapping of the demo help desk's `list_tickets` tool (a connection's config): a fresh
 * copy per connection, so that neither can change the other's.
 */
function supportMapping(): Record<string, unknown> {
  return structuredClone(SUPPORT_MAPPING);
}

/**
 * Acme's default `policy.yaml`, covering all four connectors: pull requests, Jira and Linear
 * issues, Salesforce accounts and opportunities filtered to the user's team (admins see every
 * team), every email column hashed for everyone but admins, and authors hidden from QA.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { DEMO_POLICY_ACME } from "./demo.ts";
 * assert.ok(DEMO_POLICY_ACME.includes("rls_by_team"));
 * ```
 */
export const DEMO_POLICY_ACME: string = `policies:
  - id: rls_by_team
    rule: "SELECT * FROM github.pull_requests WHERE team_id = user.team_id FOR ALL EXCEPT role:admin"
  - id: rls_issues_by_team
    rule: "SELECT * FROM jira.issues WHERE team = user.team_id FOR ALL EXCEPT role:admin"
  - id: mask_contributor_email
    rule: "MASK email WITH 'sha256' FOR ALL EXCEPT role:admin"
  - id: mask_assignee_email
    rule: "MASK jira.issues.assignee_email WITH 'sha256' FOR ALL EXCEPT role:admin"
  - id: rls_linear_by_team
    rule: "SELECT * FROM linear.issues WHERE team = user.team_id FOR ALL EXCEPT role:admin"
  - id: rls_accounts_by_team
    rule: "SELECT * FROM salesforce.accounts WHERE owner_department = user.team_id FOR ALL EXCEPT role:admin"
  - id: rls_opportunities_by_team
    rule: "SELECT * FROM salesforce.opportunities WHERE owner_department = user.team_id FOR ALL EXCEPT role:admin"
  - id: mask_linear_assignee_email
    rule: "MASK linear.issues.assignee_email WITH 'sha256' FOR ALL EXCEPT role:admin"
  - id: mask_account_owner_email
    rule: "MASK salesforce.accounts.owner_email WITH 'sha256' FOR ALL EXCEPT role:admin"
  - id: mask_opportunity_owner_email
    rule: "MASK salesforce.opportunities.owner_email WITH 'sha256' FOR ALL EXCEPT role:admin"
  - id: hide_author_from_qa
    rule: "MASK author WITH 'redact' FOR role:qa"
`;

/**
 * Sandbox URLs that point nowhere (`.invalid`), for tests that need a seeded catalog but never
 * call a source.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { PLACEHOLDER_SANDBOXES } from "./demo.ts";
 * assert.ok(PLACEHOLDER_SANDBOXES.github.url.endsWith(".invalid"));
 * ```
 */
export const PLACEHOLDER_SANDBOXES: DemoSandboxes = {
  github: { url: "http://github.sandbox.invalid" },
  jira: {
    acme: { url: "http://acme-jira.sandbox.invalid" },
    globex: { url: "http://globex-jira.sandbox.invalid" },
  },
};
