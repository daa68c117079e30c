import assert from "node:assert/strict";
import { CONNECTORS } from "../../connectors/mod.ts";
import type { Connection } from "../../connectors/sdk/table.ts";
import { OmniError } from "../errors.ts";
import { parseQuery } from "./parse.ts";
import { planQuery } from "./plan.ts";

const connection = (connector: string): Connection => ({
  id: connector,
  tenantId: "acme",
  connector,
  name: connector,
  baseUrl: "https://sandbox.invalid",
  credentials: {},
  config: {},
});
const connections = [connection("github"), connection("jira")];

/** The PLAN_FAILED message of a query, as a user sees it. */
function planError(sql: string, mayName?: (table: string, column?: string) => boolean): string {
  try {
    planQuery(parseQuery(sql), connections, CONNECTORS, { mayName });
  } catch (err) {
    assert.ok(err instanceof OmniError && err.code === "PLAN_FAILED", String(err));
    return `${err.message} ${JSON.stringify(err.details ?? {})}`;
  }
  assert.fail(`${sql} planned`);
}

Deno.test("a did-you-mean hint never names a table or column the user may not see", () => {
  const deniedIssues = (table: string, column?: string) =>
    table !== "jira.issues" && !(table === "github.pull_requests" && column === "email");
  assert.match(planError("SELECT 1 FROM jira.isues"), /did you mean jira\.issues/);
  assert.doesNotMatch(planError("SELECT 1 FROM jira.isues", deniedIssues), /jira\.issues\b/);
  assert.match(planError("SELECT emai FROM github.pull_requests"), /did you mean email/);
  assert.doesNotMatch(
    planError("SELECT emai FROM github.pull_requests", deniedIssues),
    /\bemail\b/,
  );
  assert.doesNotMatch(planError("SELECT 1 FROM issues", deniedIssues), /jira\.issues/);
});
