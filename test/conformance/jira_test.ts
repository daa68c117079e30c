/** The Jira connector against its REST v3 sandbox. */
import { DEMO, demoConnection, expectedRows } from "../../connectors/jira/_testing.ts";
import { clearJiraCaches } from "../../connectors/jira/client.ts";
import { jira } from "../../connectors/jira/mod.ts";
import { startJiraSandbox } from "../../connectors/jira/sandbox/mod.ts";
import { cmp, conformanceSuite } from "./kit.ts";

conformanceSuite({
  name: "jira",
  connector: jira,
  async start() {
    clearJiraCaches();
    const sb = await startJiraSandbox({
      org: "acme",
      email: DEMO.acme.email,
      apiToken: DEMO.acme.apiToken,
    });
    return {
      connection: demoConnection(sb.url, "acme"),
      inject: (f) => sb.inject(f),
      reset: () => {
        sb.reset();
        clearJiraCaches();
      },
      close: () => sb.close(),
    };
  },
  tables: [{
    name: "issues",
    key: ["issue_key"],
    expected: () => expectedRows("acme"),
    predicateSets: [
      [cmp("status", "=", "In Progress")],
      [{ column: "status", op: "not in", values: ["Done", "To Do"] }],
      [cmp("team", "=", "web")],
      [cmp("story_points", ">", 3)],
      [{ column: "branch_name", op: "is null" }],
      [cmp("created", ">=", "2025-09-01T00:00:00Z")],
      [cmp("summary", "=", 'a "quoted" \\ value')],
    ],
    empty: [cmp("project", "=", "NOPE")],
  }],
  // The sandbox, like Jira Cloud, sends budget headers only near or over the limit.
  reportsBudget: false,
  rateLimitHeaders: [{
    headers: {
      "x-ratelimit-limit": "100",
      "x-ratelimit-remaining": "7",
      "x-ratelimit-reset": "2026-01-01T00:00:00Z",
      "retry-after": "3",
    },
    expect: {
      limit: 100,
      remaining: 7,
      resetAt: Date.parse("2026-01-01T00:00:00Z"),
      retryAfterMs: 3000,
    },
  }],
});
