/**
 * The support-desk sandbox: a real MCP server (the SDK's `Server` over its Streamable HTTP
 * transport, one session per client, server notifications on the session's event stream) serving
 * one demo organisation's tickets through `list_tickets` (filters, cursor pagination) and
 * `get_ticket`. It authenticates with static bearer tokens or OAuth client credentials per the MCP
 * authorization spec (a 401 names its protected-resource metadata, which names this server as its
 * authorization server, whose token endpoint takes `client_secret_basic`), records every tool
 * call's arguments, injects faults, and can withdraw or add tools (announcing
 * `notifications/tools/list_changed`).
 *
 * @module
 */
import { Server } from "@modelcontextprotocol/sdk/server/index.js";
import { WebStandardStreamableHTTPServerTransport } from "@modelcontextprotocol/sdk/server/webStandardStreamableHttp.js";
import {
  type CallToolRequest,
  CallToolRequestSchema,
  type CallToolResult,
  ListToolsRequestSchema,
  type Tool,
} from "@modelcontextprotocol/sdk/types.js";
import { type DemoTicket, demoTickets } from "./tickets.ts";

/** Options of {@link startSupportSandbox}. */
export interface SupportSandboxOptions {
  /** Port to listen on; 0 picks a free one. @default 0 */
  port?: number;
  /** Demo organisation whose desk this is: `acme` or `globex`. */
  org: string;
  /** Bearer tokens accepted as they are. @default [] */
  tokens?: string[];
  /** OAuth clients that may get a token with the client-credentials grant. @default [] */
  clients?: { clientId: string; clientSecret: string }[];
  /** Tickets per page when the caller does not ask for fewer. @default 50 */
  pageSize?: number;
  /** Delay added to every answer. @default 0 */
  latencyMs?: number;
}

/** A fault the next matching MCP requests get instead of their answer. */
export interface SupportSandboxFault {
  /** Status to answer. @default 200 (with `body`) */
  status?: number;
  /** Raw body (e.g. malformed JSON). @default a JSON-RPC error body */
  body?: string;
  /** How many requests get it. @default 1 */
  times?: number;
  /** Sets `Retry-After` (seconds). */
  retryAfterS?: number;
  /** The JSON-RPC method it hits. @default "tools/call" */
  method?: string;
  /** Answer a JSON-RPC error to the request (its id) instead of `body`. */
  rpcError?: { code: number; message: string };
}

/** A recorded JSON-RPC request. */
export interface SupportSandboxCall {
  method: string;
  /** For `tools/call`: the tool's name. */
  tool?: string;
  arguments?: Record<string, unknown>;
}

/** A running support-desk sandbox. */
export interface SupportSandbox {
  /** The MCP endpoint, e.g. `http://127.0.0.1:41234/mcp`. */
  url: string;
  tickets: DemoTicket[];
  /** Every `tools/list` and `tools/call` received, in order. */
  calls: SupportSandboxCall[];
  /** Client sessions open now. */
  sessions(): number;
  inject(fault: SupportSandboxFault): void;
  /** Clears recorded calls and pending faults, and restores the default tools. */
  reset(): void;
  /** Withdraws or offers a tool, and tells every session its tool list changed. */
  setTool(name: string, offered: boolean): Promise<void>;
  close(): Promise<void>;
}

const TICKET_SCHEMA = {
  type: "object",
  properties: {
    id: { type: "string", description: "Ticket id, e.g. SUP-1001." },
    subject: { type: "string", description: "What the requester wrote as the subject." },
    status: { type: "string", enum: ["open", "pending", "solved", "closed"] },
    priority: { type: "string", enum: ["low", "normal", "high", "urgent"] },
    requester: {
      type: "object",
      properties: {
        name: { type: "string" },
        email: { type: "string", format: "email" },
      },
      required: ["name", "email"],
    },
    jira_issue_key: {
      type: ["string", "null"],
      description: "The Jira issue the ticket was escalated to.",
    },
    time_spent_minutes: { type: "integer", description: "Agent time spent, minutes." },
    created_at: { type: "string", format: "date-time" },
    updated_at: { type: "string", format: "date-time" },
  },
  required: ["id", "subject", "status", "priority", "requester", "created_at", "updated_at"],
} as const;

const TOOLS: Record<string, Tool> = {
  list_tickets: {
    name: "list_tickets",
    title: "List tickets",
    description: "Lists support tickets, oldest first, a page at a time.",
    inputSchema: {
      type: "object",
      properties: {
        status: { type: "string", enum: ["open", "pending", "solved", "closed"] },
        priority: { type: "string", enum: ["low", "normal", "high", "urgent"] },
        jira_issue_key: { type: "string", description: "Only tickets escalated to this issue." },
        requester_email: { type: "string", description: "Requester email, any case." },
        updated_since: {
          type: "string",
          format: "date-time",
          description: "Only tickets updated at or after this time.",
        },
        cursor: { type: "string", description: "next_cursor of the previous page." },
        limit: { type: "integer", minimum: 1, maximum: 100, description: "Page size." },
      },
    },
    outputSchema: {
      type: "object",
      properties: {
        tickets: { type: "array", items: TICKET_SCHEMA },
        next_cursor: { type: ["string", "null"], description: "Absent or null on the last page." },
      },
      required: ["tickets"],
    },
    annotations: { readOnlyHint: true },
  },
  get_ticket: {
    name: "get_ticket",
    title: "Get a ticket",
    description: "One ticket by id.",
    inputSchema: {
      type: "object",
      properties: { ticket_id: { type: "string" } },
      required: ["ticket_id"],
    },
    outputSchema: {
      type: "object",
      properties: { ticket: TICKET_SCHEMA },
      required: ["ticket"],
    },
    annotations: { readOnlyHint: true },
  },
  list_macros: {
    name: "list_macros",
    title: "List macros",
    description: "Canned replies agents use.",
    inputSchema: { type: "object", properties: {} },
    outputSchema: {
      type: "object",
      properties: {
        macros: {
          type: "array",
          items: {
            type: "object",
            properties: { id: { type: "integer" }, title: { type: "string" } },
          },
        },
      },
      required: ["macros"],
    },
    annotations: { readOnlyHint: true },
  },
};
const DEFAULT_TOOLS = ["list_tickets", "get_ticket"];
const TOKEN_TTL_S = 3600;

interface Session {
  server: Server;
  transport: WebStandardStreamableHTTPServerTransport;
}

/**
 * Starts the sandbox.
 *
 * @example
 * ```ts ignore
 * const sb = await startSupportSandbox({ org: "acme", tokens: ["t"] });
 * console.log(sb.url); // http://127.0.0.1:PORT/mcp
 * await sb.close();
 * ```
 */
export function startSupportSandbox(options: SupportSandboxOptions): Promise<SupportSandbox> {
  const tickets = demoTickets(options.org);
  const pageSize = options.pageSize ?? 50;
  const calls: SupportSandboxCall[] = [];
  const sessions = new Map<string, Session>();
  const issued = new Map<string, number>();
  let faults: (SupportSandboxFault & { left: number })[] = [];
  let offered = new Set(DEFAULT_TOOLS);
  let origin = "";

  const authorized = (req: Request) => {
    const m = req.headers.get("authorization")?.match(/^Bearer\s+(.+)$/i);
    if (!m) return false;
    if (options.tokens?.includes(m[1])) return true;
    const expires = issued.get(m[1]);
    return expires !== undefined && expires > Date.now();
  };

  const makeServer = () => {
    const server = new Server(
      { name: `${options.org}-support-desk`, version: "1.0.0" },
      { capabilities: { tools: { listChanged: true } } },
    );
    server.setRequestHandler(ListToolsRequestSchema, () => {
      calls.push({ method: "tools/list" });
      return { tools: [...offered].map((name) => TOOLS[name]) };
    });
    server.setRequestHandler(CallToolRequestSchema, (req: CallToolRequest): CallToolResult => {
      const args = (req.params.arguments ?? {}) as Record<string, unknown>;
      calls.push({ method: "tools/call", tool: req.params.name, arguments: args });
      if (!offered.has(req.params.name)) return toolError(`unknown tool ${req.params.name}`);
      switch (req.params.name) {
        case "list_tickets":
          return listTickets(tickets, args, pageSize);
        case "get_ticket": {
          const ticket = tickets.find((t) => t.id === args.ticket_id);
          return ticket ? result({ ticket }) : toolError(`no ticket ${String(args.ticket_id)}`);
        }
        default:
          return result({ macros: [{ id: 1, title: "Thanks, we are on it" }] });
      }
    });
    return server;
  };

  const mcp = async (req: Request): Promise<Response> => {
    if (!authorized(req)) {
      return Response.json(
        { jsonrpc: "2.0", error: { code: -32001, message: "missing or invalid bearer token" } },
        {
          status: 401,
          headers: {
            "www-authenticate":
              `Bearer resource_metadata="${origin}/.well-known/oauth-protected-resource/mcp"`,
          },
        },
      );
    }
    let parsed: unknown;
    if (req.method === "POST") {
      try {
        parsed = await req.json();
      } catch {
        return Response.json({ jsonrpc: "2.0", error: { code: -32700, message: "Parse error" } }, {
          status: 400,
        });
      }
      const method = (parsed as { method?: unknown })?.method;
      const fault = faults.find((f) => f.left > 0 && (f.method ?? "tools/call") === method);
      if (fault) {
        fault.left--;
        const headers = new Headers({ "content-type": "application/json" });
        if (fault.retryAfterS !== undefined) headers.set("retry-after", String(fault.retryAfterS));
        const id = (parsed as { id?: unknown }).id ?? null;
        return new Response(
          fault.body ??
            JSON.stringify({
              jsonrpc: "2.0",
              id,
              error: fault.rpcError ?? { code: -32603, message: "injected fault" },
            }),
          { status: fault.status ?? 200, headers },
        );
      }
    }
    const sid = req.headers.get("mcp-session-id");
    if (sid) {
      const session = sessions.get(sid);
      if (!session) {
        return Response.json(
          { jsonrpc: "2.0", error: { code: -32001, message: "Session not found" }, id: null },
          { status: 404 },
        );
      }
      return await session.transport.handleRequest(req, { parsedBody: parsed });
    }
    if (req.method !== "POST") {
      return Response.json(
        { jsonrpc: "2.0", error: { code: -32000, message: "no session" }, id: null },
        { status: 400 },
      );
    }
    const server = makeServer();
    const transport: WebStandardStreamableHTTPServerTransport =
      new WebStandardStreamableHTTPServerTransport({
        sessionIdGenerator: () => crypto.randomUUID(),
        onsessioninitialized: (id: string) => void sessions.set(id, { server, transport }),
        onsessionclosed: (id: string) => void sessions.delete(id),
      });
    await server.connect(transport);
    return await transport.handleRequest(req, { parsedBody: parsed });
  };

  const token = async (req: Request): Promise<Response> => {
    const basic = req.headers.get("authorization")?.match(/^Basic\s+(.+)$/i);
    const [id, secret] = basic ? atob(basic[1]).split(":").map(decodeURIComponent) : [];
    const form = new URLSearchParams(await req.text());
    const client = options.clients?.find((c) => c.clientId === id && c.clientSecret === secret);
    if (!client) return Response.json({ error: "invalid_client" }, { status: 401 });
    if (form.get("grant_type") !== "client_credentials") {
      return Response.json({ error: "unsupported_grant_type" }, { status: 400 });
    }
    const accessToken = `mcp_at_${crypto.randomUUID()}`;
    issued.set(accessToken, Date.now() + TOKEN_TTL_S * 1000);
    return Response.json({
      access_token: accessToken,
      token_type: "Bearer",
      expires_in: TOKEN_TTL_S,
    }, { headers: { "cache-control": "no-store" } });
  };

  const handler = async (req: Request): Promise<Response> => {
    if (options.latencyMs) await new Promise((r) => setTimeout(r, options.latencyMs));
    const path = new URL(req.url).pathname;
    if (path === "/mcp") return await mcp(req);
    if (path.startsWith("/.well-known/oauth-protected-resource")) {
      return Response.json({
        resource: `${origin}/mcp`,
        authorization_servers: [origin],
        bearer_methods_supported: ["header"],
      });
    }
    if (path === "/.well-known/oauth-authorization-server") {
      return Response.json({
        issuer: origin,
        authorization_endpoint: `${origin}/oauth/authorize`,
        token_endpoint: `${origin}/oauth/token`,
        response_types_supported: ["code"],
        grant_types_supported: ["client_credentials"],
        token_endpoint_auth_methods_supported: ["client_secret_basic"],
      });
    }
    if (path === "/oauth/token" && req.method === "POST") return await token(req);
    return Response.json({ error: "not found" }, { status: 404 });
  };

  const server = Deno.serve(
    { port: options.port ?? 0, hostname: "127.0.0.1", onListen() {} },
    handler,
  );
  const addr = server.addr as Deno.NetAddr;
  origin = `http://${addr.hostname}:${addr.port}`;

  const announce = async () => {
    for (const s of sessions.values()) await s.server.sendToolListChanged().catch(() => {});
  };

  return Promise.resolve({
    url: `${origin}/mcp`,
    tickets,
    calls,
    sessions: () => sessions.size,
    inject(fault) {
      faults.push({ ...fault, left: fault.times ?? 1 });
    },
    reset() {
      calls.length = 0;
      faults = [];
      offered = new Set(DEFAULT_TOOLS);
    },
    async setTool(name, on) {
      if (!TOOLS[name]) throw new Error(`no tool ${name}`);
      if (on) offered.add(name);
      else offered.delete(name);
      await announce();
    },
    async close() {
      for (const s of [...sessions.values()]) await s.transport.close();
      sessions.clear();
      await server.shutdown();
    },
  });
}

/** One page of `list_tickets`: filters, then the page the cursor points at. */
function listTickets(
  all: DemoTicket[],
  args: Record<string, unknown>,
  defaultSize: number,
): CallToolResult {
  const str = (k: string) => typeof args[k] === "string" ? args[k] as string : undefined;
  const since = str("updated_since");
  const sinceMs = since === undefined ? undefined : Date.parse(since);
  if (sinceMs !== undefined && Number.isNaN(sinceMs)) {
    return toolError("updated_since is not a date-time");
  }
  const email = str("requester_email")?.toLowerCase();
  const matching = all.filter((t) =>
    (str("status") === undefined || t.status === str("status")) &&
    (str("priority") === undefined || t.priority === str("priority")) &&
    (str("jira_issue_key") === undefined || t.jira_issue_key === str("jira_issue_key")) &&
    (email === undefined || t.requester.email.toLowerCase() === email) &&
    (sinceMs === undefined || Date.parse(t.updated_at) >= sinceMs)
  );
  const limit = typeof args.limit === "number"
    ? Math.min(100, Math.max(1, args.limit))
    : defaultSize;
  let offset = 0;
  if (str("cursor") !== undefined) {
    const m = /^c(\d+)$/.exec(atobSafe(str("cursor")!));
    if (!m) return toolError("invalid cursor");
    offset = Number(m[1]);
  }
  const page = matching.slice(offset, offset + limit);
  const next = offset + limit < matching.length ? btoa(`c${offset + limit}`) : null;
  return result({ tickets: page, next_cursor: next });
}

function atobSafe(s: string): string {
  try {
    return atob(s);
  } catch {
    return "";
  }
}

function result(structured: Record<string, unknown>): CallToolResult {
  return {
    content: [{ type: "text", text: JSON.stringify(structured) }],
    structuredContent: structured,
  };
}

function toolError(message: string): CallToolResult {
  return { content: [{ type: "text", text: message }], isError: true };
}
