/**
 * Starting every app's sandbox with the demo data and the demo credentials, as the local stack
 * and the end-to-end tests use them.
 *
 * @module
 */
import {
  DEMO_GITHUB,
  DEMO_JIRA,
  DEMO_LINEAR,
  DEMO_SALESFORCE,
  DEMO_SUPPORT,
  type DemoSandboxes,
} from "../../src/catalog/demo.ts";
import { type GithubSandbox, startGithubSandbox } from "../github/sandbox/mod.ts";
import { type JiraSandbox, startJiraSandbox } from "../jira/sandbox/mod.ts";
import { type LinearSandbox, startLinearSandbox } from "../linear/sandbox/mod.ts";
import { type SalesforceSandbox, startSalesforceSandbox } from "../salesforce/sandbox/mod.ts";
import { startSupportSandbox, type SupportSandbox } from "../mcp/sandbox/server.ts";

/** Options of {@link startDemoSandboxes}. */
export interface DemoSandboxOptions {
  /** Fixed ports; 0 or absent picks free ones. */
  ports?: {
    github?: number;
    jiraAcme?: number;
    jiraGlobex?: number;
    linearAcme?: number;
    linearGlobex?: number;
    salesforceAcme?: number;
    salesforceGlobex?: number;
    supportAcme?: number;
    supportGlobex?: number;
  };
  /** Injected latency on every answer, ms. @default 0 */
  latencyMs?: number;
}

/** The running sandboxes. */
export interface DemoSandboxSet {
  /** Their URLs, in the shape the demo seed takes. */
  urls: DemoSandboxes;
  github: GithubSandbox;
  jiraAcme: JiraSandbox;
  jiraGlobex: JiraSandbox;
  linearAcme: LinearSandbox;
  linearGlobex: LinearSandbox;
  salesforceAcme: SalesforceSandbox;
  salesforceGlobex: SalesforceSandbox;
  /** Each tenant's support desk, an MCP server. */
  supportAcme: SupportSandbox;
  supportGlobex: SupportSandbox;
  close(): Promise<void>;
}

/**
 * Starts the sandboxes of every demo connection.
 *
 * @example
 * ```ts ignore
 * const sandboxes = await startDemoSandboxes();
 * await seedDemo(catalog, sandboxes.urls);
 * await sandboxes.close();
 * ```
 */
export async function startDemoSandboxes(
  options: DemoSandboxOptions = {},
): Promise<DemoSandboxSet> {
  const started: { close(): Promise<void> }[] = [];
  const closeAll = async () => {
    for (const s of started.reverse()) await s.close();
  };
  // Each sandbox is closed with the others if a later one fails to start.
  const keep = async <T extends { close(): Promise<void> }>(starting: Promise<T>): Promise<T> => {
    const sandbox = await starting;
    started.push(sandbox);
    return sandbox;
  };
  try {
    const latencyMs = options.latencyMs ?? 0;
    const github = await keep(startGithubSandbox({
      port: options.ports?.github ?? 0,
      latencyMs,
      tokens: {
        [DEMO_GITHUB.acme.credentials.token]: ["acme"],
        [DEMO_GITHUB.globex.credentials.token]: ["globex"],
      },
    }));
    const jira = (org: "acme" | "globex", port?: number) =>
      startJiraSandbox({
        port: port ?? 0,
        latencyMs,
        org,
        email: DEMO_JIRA[org].credentials.email,
        apiToken: DEMO_JIRA[org].credentials.apiToken,
      });
    const jiraAcme = await keep(jira("acme", options.ports?.jiraAcme));
    const jiraGlobex = await keep(jira("globex", options.ports?.jiraGlobex));
    const linear = (org: "acme" | "globex", port?: number) =>
      startLinearSandbox({
        port: port ?? 0,
        latencyMs,
        org,
        apiKeys: [DEMO_LINEAR[org].credentials.apiKey],
      });
    const linearAcme = await keep(linear("acme", options.ports?.linearAcme));
    const linearGlobex = await keep(linear("globex", options.ports?.linearGlobex));
    const salesforce = (org: "acme" | "globex", port?: number) => {
      const { clientId, clientSecret, refreshToken } = DEMO_SALESFORCE[org].credentials;
      return startSalesforceSandbox({
        port: port ?? 0,
        latencyMs,
        org,
        clientId,
        clientSecret,
        refreshTokens: refreshToken ? [refreshToken] : [],
      });
    };
    const salesforceAcme = await keep(salesforce("acme", options.ports?.salesforceAcme));
    const salesforceGlobex = await keep(salesforce("globex", options.ports?.salesforceGlobex));
    const support = (org: "acme" | "globex", port?: number) => {
      const { token, clientId, clientSecret } = DEMO_SUPPORT[org].credentials;
      return startSupportSandbox({
        port: port ?? 0,
        latencyMs,
        org,
        tokens: token ? [token] : [],
        clients: clientId && clientSecret ? [{ clientId, clientSecret }] : [],
      });
    };
    const supportAcme = await keep(support("acme", options.ports?.supportAcme));
    const supportGlobex = await keep(support("globex", options.ports?.supportGlobex));
    return {
      urls: {
        github: { url: github.url },
        jira: { acme: { url: jiraAcme.url }, globex: { url: jiraGlobex.url } },
        linear: { acme: { url: linearAcme.url }, globex: { url: linearGlobex.url } },
        salesforce: { acme: { url: salesforceAcme.url }, globex: { url: salesforceGlobex.url } },
        support: { acme: { url: supportAcme.url }, globex: { url: supportGlobex.url } },
      },
      github,
      jiraAcme,
      jiraGlobex,
      linearAcme,
      linearGlobex,
      salesforceAcme,
      salesforceGlobex,
      supportAcme,
      supportGlobex,
      close: closeAll,
    };
  } catch (err) {
    await closeAll();
    throw err;
  }
}
