/** The MCP connector against the support-desk MCP sandbox (the demo `support` mapping). */
import { startDemoSupport, supportConnection } from "../../connectors/mcp/_testing.ts";
import { closeMcpSessions, mcp } from "../../connectors/mcp/mod.ts";
import { demoTickets } from "../../connectors/mcp/sandbox/tickets.ts";
import { cmp, conformanceSuite } from "./kit.ts";

conformanceSuite({
  name: "mcp",
  connector: mcp,
  async start() {
    const sb = await startDemoSupport();
    const connection = supportConnection(sb.url);
    return {
      connection,
      inject: (f) => sb.inject(f),
      reset: () => sb.reset(),
      close: async () => {
        await closeMcpSessions();
        await sb.close();
      },
    };
  },
  tables: [{
    name: "tickets",
    key: ["ticket_id"],
    expected: () =>
      demoTickets("acme").map((t) => ({
        ticket_id: t.id,
        status: t.status,
        requester_email: t.requester.email,
        jira_issue_key: t.jira_issue_key,
        created_at: t.created_at,
      })),
    predicateSets: [
      [cmp("status", "=", "open")],
      [cmp("priority", "=", "urgent"), cmp("status", "!=", "closed")],
      [cmp("jira_issue_key", "=", "MOB-42")],
      [cmp("requester_email", "=", "ana.mobile@acme.example")],
      [cmp("updated_at", ">", "2025-12-01T00:00:00.000Z")],
      [{ column: "status", op: "in", values: ["open", "pending"] }],
      [cmp("subject", "=", 'a "quoted" \\ value')],
    ],
    empty: [cmp("jira_issue_key", "=", "NOPE-1")],
    minPages: 4,
  }],
  // MCP defines no rate-limit headers; the connection's own calls budget is the reading a scan
  // reports, and a gateway's common headers are read when a server sends them.
  rateLimitHeaders: [{
    headers: { "x-ratelimit-limit": "100", "x-ratelimit-remaining": "7", "retry-after": "3" },
    expect: { limit: 100, remaining: 7, retryAfterMs: 3000 },
  }],
});
