/**
 * The REST example manifest (`connectors/manifest/examples/statuspage.yaml`) against its own
 * sandbox: a connector made of YAML alone passes the same suite as the code connectors.
 */
import { STATUSPAGE_MANIFEST } from "../../connectors/manifest/examples/mod.ts";
import {
  startStatuspageSandbox,
  statuspageIncidents,
} from "../../connectors/manifest/examples/statuspage_sandbox.ts";
import { manifestConnector } from "../../connectors/manifest/mod.ts";
import { cmp, conformanceSandbox, conformanceSuite } from "./kit.ts";
import { acmeConnectionOf } from "../../connectors/sdk/_testing.ts";

conformanceSuite({
  name: "statuspage (REST manifest)",
  connector: manifestConnector(STATUSPAGE_MANIFEST),
  async start() {
    const sb = await startStatuspageSandbox({ pageId: "pg_1", apiKey: "sp_key" });
    return conformanceSandbox(
      sb,
      acmeConnectionOf("statuspage", "conf-sp", sb.url, { apiKey: "sp_key" }, { page_id: "pg_1" }),
    );
  },
  tables: [{
    name: "incidents",
    key: ["id"],
    expected: () =>
      statuspageIncidents().map((i) => ({
        id: i.id,
        name: i.name,
        status: i.status,
        impact: i.impact,
        created_at: i.created_at,
        resolved_at: i.resolved_at,
        components: i.components.map((c) => c.name),
        started_at_s: new Date(i.started_at * 1000).toISOString(),
      })),
    predicateSets: [
      [{ column: "status", op: "in", values: ["resolved", "postmortem"] }],
      [cmp("status", "=", "investigating")],
      [cmp("impact", "=", "critical"), cmp("status", "!=", "resolved")],
      [cmp("created_at", ">=", "2025-12-01T00:00:00Z")],
      [{ column: "resolved_at", op: "is null" }],
      [cmp("impact", "=", "a&b=c?d#e")],
    ],
    empty: [cmp("impact", "=", "apocalyptic")],
  }],
  rateLimitHeaders: [{
    headers: {
      "x-ratelimit-limit": "10",
      "x-ratelimit-remaining": "2",
      "x-ratelimit-reset": "1767225600",
    },
    expect: { limit: 10, remaining: 2, resetAt: 1767225600000 },
  }],
});
