/**
 * End to end through real HTTP with the MCP connector: acme's `support` connection (an MCP
 * server) joined with Jira through the edge, pushdown into the tool's arguments seen in
 * `sources[]`, and the tenant's policies on `requester_email` (classified `pii.email`, named by no
 * rule) for the qa role.
 */
import assert from "node:assert/strict";
import { demoOrg } from "../connectors/demo/world.ts";
import { demoTickets } from "../connectors/mcp/sandbox/tickets.ts";
import { postQuery, startTestStack, tokenFor } from "./_stack.ts";

const opts = { sanitizeResources: false, sanitizeOps: false };
const tickets = demoTickets("acme");
const issues = demoOrg("acme").issues;

interface Answer {
  columns: string[];
  rows: Record<string, unknown>[];
  from_cache: boolean;
  sources: {
    table: string;
    pushdown: { pushed: string[]; residual: string[]; native: string[] };
  }[];
}

Deno.test("MCP end to end: support.tickets through the edge", opts, async (t) => {
  const stack = await startTestStack();
  try {
    const desk = stack.sandboxes.supportAcme;
    const run = async (user: string, sql: string, maxStalenessMs = 0) => {
      const token = await tokenFor(stack, "acme", user);
      const res = await postQuery(stack.edgeUrl, token, {
        sql,
        metadata: { max_staleness_ms: maxStalenessMs },
      });
      assert.equal(res.status, 200, JSON.stringify(res.body).slice(0, 500));
      return res.body as unknown as Answer;
    };

    await t.step("every ticket, across the tool's cursor pages", async () => {
      const body = await run("admin@acme", "SELECT count(*) AS n FROM support.tickets");
      assert.equal(Number(body.rows[0].n), tickets.length);
    });

    await t.step("support.tickets ⋈ jira.issues on the Jira key", async () => {
      const body = await run(
        "admin@acme",
        "SELECT t.ticket_id, j.issue_key, j.status AS jira_status FROM support.tickets t " +
          "JOIN jira.issues j ON t.jira_issue_key = j.issue_key WHERE t.priority = 'urgent'",
      );
      const byKey = new Map(issues.map((i) => [i.key, i]));
      const expected = tickets.filter((x) => x.priority === "urgent" && x.jira_issue_key)
        .map((x) => [x.id, x.jira_issue_key, byKey.get(x.jira_issue_key!)!.status]);
      assert.ok(expected.length > 0);
      const got = body.rows.map((r) => [r.ticket_id, r.issue_key, r.jira_status]);
      assert.deepEqual(
        got.map((r) => JSON.stringify(r)).sort(),
        expected.map((r) => JSON.stringify(r)).sort(),
      );
      const src = body.sources.find((s) => s.table === "support.tickets")!;
      assert.deepEqual(src.pushdown.pushed, ["priority = 'urgent'"]);
      // The request as sent: a JSON-RPC tools/call with the pushed argument.
      assert.match(
        src.pushdown.native[0],
        /^POST \/mcp method=tools\/call params=\{"name":"list_tickets","arguments":\{"priority":"urgent"/,
      );
    });

    await t.step("a status filter reaches the tool as its argument", async () => {
      desk.calls.length = 0;
      const body = await run(
        "admin@acme",
        "SELECT ticket_id FROM support.tickets WHERE status = 'pending' AND subject LIKE 'Cannot%'",
      );
      const expected = tickets.filter((x) =>
        x.status === "pending" && x.subject.startsWith("Cannot")
      );
      assert.deepEqual(body.rows.map((r) => r.ticket_id).sort(), expected.map((x) => x.id).sort());
      const calls = desk.calls.filter((c) => c.method === "tools/call");
      assert.ok(calls.length > 0 && calls.every((c) => c.arguments?.status === "pending"));
      assert.deepEqual(body.sources[0].pushdown.residual, ["subject LIKE 'Cannot%'"]);
    });

    await t.step("a repeated query is answered from cache", async () => {
      const sql = "SELECT ticket_id, status FROM support.tickets WHERE priority = 'low'";
      await run("admin@acme", sql, 600_000);
      desk.calls.length = 0;
      const again = await run("admin@acme", sql, 600_000);
      assert.equal(again.from_cache, true);
      assert.equal(desk.calls.length, 0);
    });

    await t.step("qa reads requester_email masked, and never pushes it", async () => {
      const body = await run(
        "qa@acme",
        "SELECT ticket_id, requester_email, lower(requester_email) AS e FROM support.tickets",
      );
      assert.equal(body.rows.length, tickets.length);
      const raw = new Set(tickets.map((x) => x.requester.email));
      for (const r of body.rows) {
        assert.match(String(r.requester_email), /^[0-9a-f]{8}\*\*\*\*@/);
        assert.ok(!raw.has(String(r.e)), "an expression over the column is masked too");
      }
      const admin = await run("admin@acme", "SELECT requester_email FROM support.tickets LIMIT 5");
      assert.ok(admin.rows.every((r) => raw.has(String(r.requester_email))));
      desk.calls.length = 0;
      const email = tickets[0].requester.email;
      const filtered = await run(
        "qa@acme",
        `SELECT ticket_id FROM support.tickets WHERE requester_email = '${email}'`,
      );
      assert.ok(
        !JSON.stringify(filtered.sources).includes(email),
        "no pushdown of a masked column",
      );
      assert.ok(desk.calls.every((c) => c.arguments?.requester_email === undefined));
      // requester_name is pii.person: the rule that hides authors from qa covers it too.
      const names = await run("qa@acme", "SELECT DISTINCT requester_name FROM support.tickets");
      const realNames = new Set(tickets.map((x) => x.requester.name));
      assert.ok(names.rows.every((r) => !realNames.has(String(r.requester_name))));
    });

    await t.step("the catalog lists support.tickets, masked columns marked", async () => {
      const listing = async (user: string) => {
        const res = await fetch(`${stack.edgeUrl}/v1/catalog`, {
          headers: { authorization: `Bearer ${await tokenFor(stack, "acme", user)}` },
        });
        assert.equal(res.status, 200);
        const body = await res.json() as {
          tables: {
            table: string;
            columns: { name: string; masked?: boolean; filterable: string[] }[];
          }[];
        };
        return body.tables.find((x) => x.table === "support.tickets")!;
      };
      const qa = await listing("qa@acme");
      assert.equal(qa.columns.find((c) => c.name === "requester_email")?.masked, true);
      assert.deepEqual(qa.columns.find((c) => c.name === "status")?.filterable, ["="]);
      const admin = await listing("admin@acme");
      assert.equal(admin.columns.find((c) => c.name === "requester_email")?.masked, undefined);
      assert.ok(!JSON.stringify(admin).includes("mcp_demo_acme_support_token"));
    });
  } finally {
    await stack.close();
  }
});
