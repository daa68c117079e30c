/**
 * Test helpers for the planner's end-to-end tests: the demo sandboxes, acme's GitHub, Jira,
 * Linear and Salesforce connections to them, and `run` — `executeQuery` in-process (no edge, no catalog), with pushdown on or off and
 * an estimates store of the test's own.
 *
 * @module
 */
import { CONNECTORS } from "../connectors/mod.ts";
import { type DemoSandboxSet, startDemoSandboxes } from "../connectors/demo/sandboxes.ts";
import type { Connection } from "../connectors/sdk/table.ts";
import { DEMO_GITHUB, DEMO_JIRA, DEMO_LINEAR, DEMO_SALESFORCE } from "../src/catalog/demo.ts";
import { EnginePool } from "../src/duckdb/pool.ts";
import { RowEstimates } from "../src/query/estimates.ts";
import { executeQuery, type ExplainResponse, type QueryResponse } from "../src/query/execute.ts";

/** What a planner test works with. */
export interface PlannerHarness {
  sandboxes: DemoSandboxSet;
  connections: Connection[];
  estimates: RowEstimates;
  /** Runs a query for admin@acme. */
  run(sql: string, options?: { pushdown?: boolean }): Promise<QueryResponse>;
  explain(sql: string): Promise<ExplainResponse>;
  close(): Promise<void>;
}

/** Starts the sandboxes and builds acme's GitHub and Jira connections to them. */
export async function startPlannerHarness(): Promise<PlannerHarness> {
  const sandboxes = await startDemoSandboxes();
  const connections: Connection[] = [
    {
      id: "gh-acme",
      tenantId: "acme",
      connector: "github",
      name: "github",
      baseUrl: sandboxes.urls.github.url,
      ...DEMO_GITHUB.acme,
    },
    {
      id: "jira-acme",
      tenantId: "acme",
      connector: "jira",
      name: "jira",
      baseUrl: sandboxes.urls.jira.acme.url,
      ...DEMO_JIRA.acme,
    },
  ];
  // Linear and Salesforce join the suite wherever their sandboxes run.
  const { linear, salesforce } = sandboxes.urls;
  if (linear) {
    connections.push({
      id: "linear-acme",
      tenantId: "acme",
      connector: "linear",
      name: "linear",
      baseUrl: linear.acme.url,
      ...DEMO_LINEAR.acme,
    });
  }
  if (salesforce) {
    connections.push({
      id: "sf-acme",
      tenantId: "acme",
      connector: "salesforce",
      name: "salesforce",
      baseUrl: salesforce.acme.url,
      ...DEMO_SALESFORCE.acme,
    });
  }
  // No spare, no warm-up: nothing here kills an engine or is timed.
  const engine = new EnginePool({ size: 1, spares: 0, warmUpMs: 0 });
  const estimates = new RowEstimates();
  const exec = (sql: string, pushdown: boolean) =>
    executeQuery({ sql, metadata: { max_staleness_ms: 0 } }, {
      tenantId: "acme",
      user: { sub: "admin@acme", tenant: "acme", role: "admin" },
      connections,
      traceId: "t",
      zone: "us",
    }, { engine, connectors: CONNECTORS, pushdown, estimates });
  return {
    sandboxes,
    connections,
    estimates,
    run: async (sql, options = {}) => await exec(sql, options.pushdown ?? true) as QueryResponse,
    explain: async (sql) => await exec(`EXPLAIN ${sql}`, true) as ExplainResponse,
    close: async () => {
      await engine.close();
      await sandboxes.close();
    },
  };
}

/**
 * A test with a harness of its own, closed whatever the test does. Servers keep sockets and
 * timers a moment past closing, so the sanitizers are off.
 */
export function plannerTest(
  name: string,
  fn: (h: PlannerHarness, t: Deno.TestContext) => Promise<void>,
): void {
  Deno.test(name, { sanitizeResources: false, sanitizeOps: false }, async (t) => {
    const h = await startPlannerHarness();
    try {
      await fn(h, t);
    } finally {
      await h.close();
    }
  });
}
