import assert from "node:assert/strict";
import { OmniError } from "../../src/errors.ts";
import { DEMO_SUPPORT } from "../../src/catalog/demo.ts";
import {
  type Connection,
  findTable,
  type Predicate,
  runScan,
  type ScanOffer,
  SourceClient,
} from "../sdk/mod.ts";
import { startDemoSupport, supportConnection } from "./_testing.ts";
import { mappingsFromTools } from "./discover.ts";
import { closeMcpSessions, mcp, mcpSession, readMcpConfig } from "./mod.ts";
import type { SupportSandbox } from "./sandbox/server.ts";

const opts = { sanitizeResources: false, sanitizeOps: false };
const FAST = { maxRetries: 2, baseDelayMs: 1, maxRateLimitWaitMs: 0 };
const ALL = ["ticket_id", "status", "priority", "requester_email", "jira_issue_key", "updated_at"];

function scan(conn: Connection, offer: ScanOffer) {
  return runScan(mcp, findTable(mcp, "tickets", conn), conn, offer, FAST);
}

async function withDesk(fn: (sb: SupportSandbox) => Promise<void>): Promise<void> {
  const sb = await startDemoSupport();
  try {
    await fn(sb);
  } finally {
    await closeMcpSessions();
    await sb.close();
  }
}

const toolCalls = (sb: SupportSandbox) => sb.calls.filter((c) => c.method === "tools/call");

Deno.test("MCP scan follows the tool's cursor across pages to the last one", opts, async () => {
  await withDesk(async (sb) => {
    const result = await scan(supportConnection(sb.url), { predicates: [], columns: ALL });
    assert.equal(result.rows.length, sb.tickets.length);
    assert.deepEqual(result.rows.map((r) => r.ticket_id), sb.tickets.map((t) => t.id));
    assert.equal(result.pages, Math.ceil(sb.tickets.length / 100));
    const cursors = toolCalls(sb).map((c) => c.arguments?.cursor);
    assert.equal(cursors[0], undefined);
    assert.equal(new Set(cursors.slice(1)).size, cursors.length - 1, "each cursor once");
    assert.ok(cursors.slice(1).every((c) => typeof c === "string"));
  });
});

Deno.test("MCP pushdown fills tool arguments and hands back the rest", opts, async () => {
  await withDesk(async (sb) => {
    const conn = supportConnection(sb.url);
    const predicates: Predicate[] = [
      { column: "status", op: "=", value: "open" },
      { column: "updated_at", op: ">", value: "2025-11-01T00:00:00.000Z" },
      { column: "subject", op: "=", value: "Cannot log in" },
      { column: "priority", op: "in", values: ["high", "urgent"] },
    ];
    const result = await scan(conn, { predicates, columns: ALL });
    assert.deepEqual(toolCalls(sb)[0].arguments, {
      status: "open",
      updated_since: "2025-11-01T00:00:00.000Z",
      limit: 100,
    });
    assert.deepEqual(result.plan.pushed.map((p) => p.column), ["status", "updated_at"]);
    assert.deepEqual(result.plan.residual.map((p) => p.column), ["subject", "priority"]);
    assert.match(result.plan.native[0], /^tools\/call list_tickets \{"status":"open"/);
    // The widened bound (>= for >) keeps every row the predicate selects, and no closed ones.
    const want = sb.tickets.filter((t) =>
      t.status === "open" && t.updated_at > "2025-11-01T00:00:00Z"
    ).map((t) => t.id);
    const got = result.rows.filter((r) => String(r.updated_at) > "2025-11-01T00:00:00Z")
      .map((r) => r.ticket_id);
    assert.deepEqual(got, want);
    assert.ok(result.rows.every((r) => r.status === "open"));
  });
});

Deno.test("MCP pushdown: a LIMIT past exact arguments becomes the page size", opts, async () => {
  await withDesk(async (sb) => {
    const result = await scan(supportConnection(sb.url), {
      predicates: [{ column: "priority", op: "=", value: "urgent" }],
      columns: ALL,
      limit: 7,
    });
    assert.equal(result.plan.limit, 7);
    assert.equal(result.rows.length, 7);
    assert.deepEqual(toolCalls(sb).map((c) => c.arguments?.limit), [7]);
    // A widened argument (requester_email matches any case) never carries the limit.
    const widened = findTable(mcp, "tickets", supportConnection(sb.url)).plan({
      predicates: [{ column: "requester_email", op: "=", value: "a@b.example" }],
      columns: ALL,
      limit: 7,
    }, supportConnection(sb.url));
    assert.equal(widened.limit, undefined);
  });
});

Deno.test(
  "MCP calls budget: a spent budget is RATE_LIMIT_EXHAUSTED before the server is called",
  opts,
  async () => {
    await withDesk(async (sb) => {
      const config = { ...DEMO_SUPPORT.acme.config, budget: { calls: 3, window_s: 60 } };
      const conn = supportConnection(sb.url, { config });
      // initialize + tools/list + 1 page = 3: a second page does not fit.
      await assert.rejects(
        () => scan(conn, { predicates: [], columns: ALL }),
        (err) => {
          assert.ok(err instanceof OmniError);
          assert.equal(err.code, "RATE_LIMIT_EXHAUSTED");
          assert.equal(err.details?.level, "source");
          assert.ok((err.retryAfterMs ?? 0) > 0 && (err.retryAfterMs ?? 0) <= 60_000);
          return true;
        },
      );
      assert.equal(toolCalls(sb).length, 1);
      await assert.rejects(
        () =>
          scan(conn, { predicates: [{ column: "status", op: "=", value: "open" }], columns: ALL }),
        (err) => err instanceof OmniError && err.code === "RATE_LIMIT_EXHAUSTED",
      );
      assert.equal(toolCalls(sb).length, 1, "a spent budget sends nothing");
      // The reading a scan reports is the budget's.
      const roomy = supportConnection(sb.url, {
        config: { ...DEMO_SUPPORT.acme.config, budget: { calls: 50, window_s: 60 } },
      });
      const ok = await scan(roomy, { predicates: [], columns: ["ticket_id"] });
      assert.equal(ok.rateLimit?.limit, 50);
      assert.equal(ok.rateLimit?.remaining, 50 - 2 - ok.pages);
    });
  },
);

Deno.test("MCP tools/list is read once and again after list_changed", opts, async () => {
  await withDesk(async (sb) => {
    const conn = supportConnection(sb.url);
    const http = new SourceClient(mcp, conn, FAST);
    await scan(conn, { predicates: [], columns: ["ticket_id"] });
    await scan(conn, {
      predicates: [{ column: "status", op: "=", value: "open" }],
      columns: ["ticket_id"],
    });
    const lists = () => sb.calls.filter((c) => c.method === "tools/list").length;
    assert.equal(lists(), 1, "cached across scans");
    const session = await mcpSession(mcp, conn);
    await sb.setTool("list_macros", true);
    let tools = await session.tools(http);
    for (let i = 0; i < 100 && !tools.has("list_macros"); i++) {
      await new Promise((r) => setTimeout(r, 20));
      tools = await session.tools(http);
    }
    assert.ok(tools.has("list_macros"), "the new tool was seen after the notification");
    assert.equal(lists(), 2);
    // A withdrawn tool fails the scan with what to do, rather than calling it blind.
    await sb.setTool("list_tickets", false);
    for (let i = 0; i < 100 && (await session.tools(http)).has("list_tickets"); i++) {
      await new Promise((r) => setTimeout(r, 20));
    }
    await assert.rejects(
      () => scan(conn, { predicates: [], columns: ["ticket_id"] }),
      (err) =>
        err instanceof OmniError && err.code === "SOURCE_ERROR" &&
        /does not offer the tool list_tickets/.test(err.message),
    );
  });
});

Deno.test("MCP transient errors are retried; lasting ones are SOURCE_ERROR", opts, async () => {
  await withDesk(async (sb) => {
    const conn = supportConnection(sb.url);
    sb.inject({ status: 503, times: 1 });
    const result = await scan(conn, { predicates: [], columns: ["ticket_id"] });
    assert.equal(result.rows.length, sb.tickets.length);
    sb.inject({ status: 502, times: 10 });
    await assert.rejects(
      () => scan(conn, { predicates: [], columns: ["ticket_id"] }),
      (err) =>
        err instanceof OmniError && err.code === "SOURCE_ERROR" && err.details?.status === 502 &&
        err.details?.transient === true,
    );
    sb.reset();
    // A tool's own error (a bad cursor) is not retried: it will not change.
    sb.inject({ rpcError: { code: -32602, message: "invalid cursor" }, times: 3 });
    await assert.rejects(
      () => scan(conn, { predicates: [], columns: ["ticket_id"] }),
      (err) =>
        err instanceof OmniError && err.code === "SOURCE_ERROR" &&
        /error -32602: .*invalid cursor/.test(err.message) && err.details?.transient === false,
    );
  });
});

Deno.test("MCP OAuth client credentials: discovered from the server's metadata", opts, async () => {
  await withDesk(async (sb) => {
    const oauth = { ...DEMO_SUPPORT.globex.config, oauth: { issuer: new URL(sb.url).origin } };
    const conn = supportConnection(sb.url, {
      credentials: DEMO_SUPPORT.globex.credentials,
      config: oauth,
    });
    const result = await scan(conn, { predicates: [], columns: ["ticket_id"] });
    assert.equal(result.rows.length, sb.tickets.length);
    const wrong = supportConnection(sb.url, {
      credentials: { clientId: "omnisql-globex", clientSecret: "wrong" },
      config: oauth,
    });
    await assert.rejects(
      () => scan(wrong, { predicates: [], columns: ["ticket_id"] }),
      (err) =>
        err instanceof OmniError && err.code === "SOURCE_ERROR" && err.details?.status === 401,
    );
    const bad = supportConnection(sb.url, { credentials: { token: "nope" } });
    await assert.rejects(
      () => scan(bad, { predicates: [], columns: ["ticket_id"] }),
      (err) => err instanceof OmniError && err.details?.status === 401,
    );
  });
});

Deno.test(
  "MCP tables from outputSchema: the desk's tools imply the tickets table",
  opts,
  async () => {
    await withDesk(async (sb) => {
      const conn = supportConnection(sb.url);
      const session = await mcpSession(mcp, conn);
      const tools = await session.tools(new SourceClient(mcp, conn, FAST));
      const [tickets, ...rest] = mappingsFromTools([...tools.values()]);
      assert.equal(rest.length, 0, "get_ticket needs an id: not a table");
      assert.equal(tickets.name, "tickets");
      assert.deepEqual(tickets.cursor, { argument: "cursor", next: "next_cursor" });
      assert.deepEqual(tickets.page_size, { argument: "limit", value: 100 });
      assert.deepEqual(tickets.arguments?.map((a) => `${a.argument} ${a.op} ${a.column}`), [
        "status = status",
        "priority = priority",
        "jira_issue_key = jira_issue_key",
        "requester_email = requester_email",
        "updated_since >= updated_at",
      ]);
      const email = tickets.columns.find((c) => c.name === "requester_email");
      assert.deepEqual(email, {
        name: "requester_email",
        type: "text",
        path: "requester.email",
        classification: "pii.email",
      });
      assert.equal(tickets.columns.find((c) => c.name === "created_at")?.type, "timestamp");
      const discovered = supportConnection(sb.url, { config: { tables: [tickets] } });
      assert.deepEqual(readMcpConfig(discovered.config).problems, []);
      const result = await scan(discovered, {
        predicates: [{ column: "status", op: "=", value: "solved" }],
        columns: ["id", "requester_email"],
      });
      assert.equal(result.rows.length, sb.tickets.filter((t) => t.status === "solved").length);
      assert.equal(result.plan.pushed.length, 1);
    });
  },
);

Deno.test("MCP mapping problems are reported and the table left out", () => {
  const { config, problems } = readMcpConfig({
    tables: [
      { name: "ok", tool: "t", records: ".", columns: [{ name: "id", type: "text" }] },
      {
        name: "bad",
        tool: "t",
        records: ".",
        columns: [{ name: "id", type: "varchar" }],
        arguments: [{ argument: "x", column: "nope", op: "~" }],
      },
    ],
    budget: { calls: 0, window_s: 60 },
  });
  assert.deepEqual(config.tables.map((t) => t.name), ["ok"]);
  assert.deepEqual(problems, [
    "table bad: column id: type is one of text, integer, double, boolean, timestamp, json",
    "table bad: argument x: no column nope",
    "table bad: argument x: op is one of = >= > <= < in",
    "budget: needs positive calls and window_s",
  ]);
  assert.deepEqual(mcp.tablesFor!({ name: "s", config: {} }), []);
});
