/** The Linear connector (a manifest) against its GraphQL sandbox. */
import { demoLinear } from "../../connectors/demo/world.ts";
import { LINEAR_MANIFEST } from "../../connectors/linear/mod.ts";
import { manifestConnector } from "../../connectors/manifest/mod.ts";
import { startLinearSandbox } from "../../connectors/linear/sandbox/mod.ts";
import { cmp, conformanceSandbox, conformanceSuite } from "./kit.ts";
import { acmeConnectionOf } from "../../connectors/sdk/_testing.ts";

const KEY = "lin_api_conformance";
// Linear's own manifest with a small page size, so scans cross page boundaries (60 issues).
const linear = manifestConnector({
  ...LINEAR_MANIFEST,
  tables: LINEAR_MANIFEST.tables.map((t) => ({ ...t, graphql: { ...t.graphql!, page_size: 25 } })),
});

conformanceSuite({
  name: "linear",
  connector: linear,
  async start() {
    const sb = await startLinearSandbox({ org: "acme", apiKeys: [KEY] });
    return conformanceSandbox(
      sb,
      acmeConnectionOf("linear", "conf-linear", sb.url, { apiKey: KEY }),
    );
  },
  tables: [{
    name: "issues",
    key: ["id"],
    expected: () =>
      demoLinear("acme").issues.map((i) => ({
        id: i.id,
        identifier: i.identifier,
        title: i.title,
        branch_name: i.branchName,
        team: i.team.key,
        state: i.state.name,
        estimate: i.estimate,
        assignee_email: i.assignee?.email ?? null,
        created_at: i.createdAt,
        completed_at: i.completedAt,
      })),
    predicateSets: [
      [cmp("team", "=", "web")],
      [{ column: "state", op: "in", values: ["Done", "Canceled"] }],
      [{ column: "state", op: "not in", values: ["Done"] }, cmp("team", "!=", "web")],
      [{ column: "estimate", op: "is null" }],
      [cmp("estimate", ">=", 3), cmp("priority", "<", 3)],
      [{ column: "completed_at", op: "is not null" }],
      [cmp("created_at", ">", "2025-10-01T00:00:00Z")],
      [{ column: "title", op: "like", pattern: "Fix%" }],
      [{ column: "title", op: "like", pattern: "%mode" }],
      [cmp("assignee_email", "=", "ana.mobile@acme.example")],
      [{ column: "branch_name", op: "like", pattern: "feature/%" }],
      [cmp("title", "=", 'O\'Brien "quoted" \\ } { $filter')],
    ],
    empty: [cmp("team", "=", "no-such-team")],
  }],
  rateLimitHeaders: [{
    headers: {
      "x-ratelimit-requests-limit": "1500",
      "x-ratelimit-requests-remaining": "1499",
      "x-ratelimit-requests-reset": "1767225600000",
      "x-ratelimit-complexity-limit": "250000",
      "x-ratelimit-complexity-remaining": "1000",
      "x-ratelimit-complexity-reset": "1767225600500",
    },
    // The tighter budget (complexity) is the one reported; resets are epoch milliseconds.
    expect: { limit: 250000, remaining: 1000, resetAt: 1767225600500 },
  }],
});
