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
    // Every other app has one sandbox per demo org, on the ports asked for as `<app>Acme` and
    // `<app>Globex`.
    const perOrg = async <T extends { url: string; close(): Promise<void> }>(
      app: "jira" | "linear" | "salesforce" | "support",
      start: (base: { port: number; latencyMs: number; org: "acme" | "globex" }) => Promise<T>,
    ) => ({
      acme: await keep(start({ port: options.ports?.[`${app}Acme`] ?? 0, latencyMs, org: "acme" })),
      globex: await keep(
        start({ port: options.ports?.[`${app}Globex`] ?? 0, latencyMs, org: "globex" }),
      ),
    });
    const jira = await perOrg("jira", (base) => {
      const { email, apiToken } = DEMO_JIRA[base.org].credentials;
      return startJiraSandbox({ ...base, email, apiToken });
    });
    const linear = await perOrg(
      "linear",
      (base) =>
        startLinearSandbox({ ...base, apiKeys: [DEMO_LINEAR[base.org].credentials.apiKey] }),
    );
    const salesforce = await perOrg("salesforce", (base) => {
      const { clientId, clientSecret, refreshToken } = DEMO_SALESFORCE[base.org].credentials;
      const refreshTokens = refreshToken ? [refreshToken] : [];
      return startSalesforceSandbox({ ...base, clientId, clientSecret, refreshTokens });
    });
    const support = await perOrg("support", (base) => {
      const { token, clientId, clientSecret } = DEMO_SUPPORT[base.org].credentials;
      return startSupportSandbox({
        ...base,
        tokens: token ? [token] : [],
        clients: clientId && clientSecret ? [{ clientId, clientSecret }] : [],
      });
    });
    const urls = (both: { acme: { url: string }; globex: { url: string } }) => ({
      acme: { url: both.acme.url },
      globex: { url: both.globex.url },
    });
    return {
      urls: {
        github: { url: github.url },
        jira: urls(jira),
        linear: urls(linear),
        salesforce: urls(salesforce),
        support: urls(support),
      },
      github,
      jiraAcme: jira.acme,
      jiraGlobex: jira.globex,
      linearAcme: linear.acme,
      linearGlobex: linear.globex,
      salesforceAcme: salesforce.acme,
      salesforceGlobex: salesforce.globex,
      supportAcme: support.acme,
      supportGlobex: support.globex,
      close: closeAll,
    };
  } catch (err) {
    await closeAll();
    throw err;
  }
}
