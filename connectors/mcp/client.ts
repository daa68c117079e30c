/**
 * The MCP client of a connection: one long-lived session per connection (the SDK's `Client` over
 * its Streamable HTTP transport), shared by every query of the process, so the handshake and
 * `tools/list` are paid once and the server's `notifications/tools/list_changed` reach us on the
 * session's event stream. Every HTTP exchange goes through the calling query's
 * {@link SourceClient} (its retries, deadline, cancellation, call counts and error mapping); each
 * JSON-RPC request spends the connection's calls budget first.
 *
 * @module
 */
import { AsyncLocalStorage } from "node:async_hooks";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { ClientCredentialsProvider } from "@modelcontextprotocol/sdk/client/auth-extensions.js";
import {
  StreamableHTTPClientTransport,
  StreamableHTTPError,
} from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import {
  type CallToolResult,
  ErrorCode,
  type ListToolsResult,
  McpError,
  type Tool,
  ToolListChangedNotificationSchema,
} from "@modelcontextprotocol/sdk/types.js";
import { OAuthError } from "@modelcontextprotocol/sdk/server/auth/errors.js";
import { OmniError } from "../../src/errors.ts";
import type { Connection, ConnectorDef, SourceClient, SourceResponse } from "../sdk/mod.ts";
import { SourceClient as HttpClient, sourceError } from "../sdk/mod.ts";
import { callBudget } from "./budget.ts";
import { readMcpConfig } from "./mapping.ts";

/** The scan whose client carries the current exchange (see {@link McpSession.callTool}). */
const current = new AsyncLocalStorage<SourceClient>();

/** Sessions idle this long are closed (their event stream with them). */
const IDLE_MS = 5 * 60_000;
/** A handshake or a `tools/list` that takes longer fails the call. */
const REQUEST_TIMEOUT_MS = 30_000;

/** Every 4xx but 429: the SDK's OAuth discovery reads them (a 404 means "try the next URL"). */
const ALL_4XX = Array.from({ length: 100 }, (_, i) => 400 + i).filter((s) => s !== 429);

/**
 * One connection's MCP session.
 *
 * @example
 * ```ts ignore
 * const session = await mcpSession(mcp, connection);
 * const page = await session.callTool(http, "list_tickets", { status: "open" });
 * ```
 */
export class McpSession {
  readonly #connector: ConnectorDef;
  readonly #connection: Connection;
  readonly #client: Client;
  readonly #transport: StreamableHTTPClientTransport;
  /** Exchanges outside any scan: the handshake and the server's event stream. */
  readonly #background: SourceClient;
  #tools?: Promise<Map<string, Tool>>;
  #closed = false;
  /** `tools/list` reads so far (tests assert the list is re-read only when it changed). */
  toolListReads = 0;

  constructor(connector: ConnectorDef, connection: Connection) {
    this.#connector = connector;
    this.#connection = connection;
    this.#background = new HttpClient(connector, connection, { maxRetries: 2 });
    const endpoint = new URL(connection.baseUrl);
    const { clientId, clientSecret } = connection.credentials;
    const oauth = readMcpConfig(connection.config).config.oauth;
    const authProvider = clientId && clientSecret
      ? new ClientCredentialsProvider({
        clientId,
        clientSecret,
        clientName: "OmniSQL",
        ...(oauth?.scope ? { scope: oauth.scope } : {}),
        ...(oauth?.issuer ? { expectedIssuer: oauth.issuer } : {}),
      })
      : undefined;
    // The transport hands back a 401 it can answer (OAuth), an expired session (404) and a
    // server without an event stream (405); other URLs are OAuth discovery, read by the SDK.
    const passThrough = [404, 405, ...(authProvider ? [401, 403] : [])];
    this.#transport = new StreamableHTTPClientTransport(endpoint, {
      ...(authProvider ? { authProvider } : {}),
      fetch: (url: string | URL, init?: RequestInit) => {
        const http = current.getStore() ?? this.#background;
        const same = new URL(url).href === endpoint.href;
        return http.send(url, init, { passThrough: same ? passThrough : ALL_4XX });
      },
    });
    this.#client = new Client({ name: "OmniSQL", version: "1.0.0" }, { capabilities: {} });
    this.#client.setNotificationHandler(ToolListChangedNotificationSchema, () => {
      this.#tools = undefined;
    });
  }

  /** Performs the handshake (charged to the connection's budget), OAuth included. */
  async connect(): Promise<void> {
    this.#spend(this.#background);
    try {
      await current.run(
        this.#background,
        () => this.#client.connect(this.#transport, { timeout: REQUEST_TIMEOUT_MS }),
      );
    } catch (err) {
      throw mapError(this.#background, err);
    }
  }

  /** The server's tools by name: read once, and again after the server says they changed. */
  tools(http: SourceClient, signal?: AbortSignal): Promise<Map<string, Tool>> {
    if (!this.#tools) {
      const reading = this.#readTools(http, signal);
      this.#tools = reading;
      reading.catch(() => {
        if (this.#tools === reading) this.#tools = undefined;
      });
    }
    return this.#tools;
  }

  async #readTools(http: SourceClient, signal?: AbortSignal): Promise<Map<string, Tool>> {
    const tools = new Map<string, Tool>();
    let cursor: string | undefined;
    do {
      this.#spend(http);
      this.toolListReads++;
      const page = await this.#request<ListToolsResult>(
        http,
        () =>
          this.#client.listTools(cursor ? { cursor } : undefined, {
            signal,
            timeout: REQUEST_TIMEOUT_MS,
          }),
      );
      for (const tool of page.tools) tools.set(tool.name, tool);
      cursor = page.nextCursor;
    } while (cursor);
    return tools;
  }

  /**
   * Calls a tool through the scan's client and returns its structured result as an answer
   * (`body`), or the JSON of its text content when it has none.
   */
  async callTool(
    http: SourceClient,
    name: string,
    args: Record<string, unknown>,
    signal?: AbortSignal,
  ): Promise<SourceResponse> {
    const tools = await this.tools(http, signal);
    if (!tools.has(name)) {
      throw http.error(
        "SOURCE_ERROR",
        `the MCP server does not offer the tool ${name} (it offers ${
          [...tools.keys()].join(", ") || "none"
        }); update the connection's table mapping`,
      );
    }
    this.#spend(http);
    const result = await this.#request<CallToolResult>(
      http,
      () => this.#client.callTool({ name, arguments: args }, undefined, { signal }),
    );
    const text = (result.content as { type: string; text?: string }[] | undefined)
      ?.filter((c) => c.type === "text").map((c) => c.text ?? "").join("\n") ?? "";
    if (result.isError) {
      throw http.error("SOURCE_ERROR", `the tool ${name} failed: ${text.slice(0, 300)}`, {
        upstreamMessage: text.slice(0, 300),
      });
    }
    let body: unknown = result.structuredContent;
    if (body === undefined) {
      try {
        body = JSON.parse(text);
      } catch {
        throw http.error("SOURCE_ERROR", `malformed reply: the tool ${name} returned no JSON`);
      }
    }
    return {
      status: 200,
      headers: new Headers(),
      body,
      url: `${this.#connection.baseUrl}#${name}`,
    };
  }

  /** Runs one SDK request with `http` carrying its exchanges, errors mapped to the vocabulary. */
  async #request<T>(http: SourceClient, run: () => Promise<T>): Promise<T> {
    try {
      return await current.run(http, run);
    } catch (err) {
      if (httpStatusOf(err) === 404) this.close();
      throw mapError(http, err);
    } finally {
      http.lastRateLimit = callBudget(this.#connection).reading();
    }
  }

  #spend(http: SourceClient): void {
    const budget = callBudget(this.#connection);
    const wait = budget.take();
    http.lastRateLimit = budget.reading();
    if (wait !== undefined) {
      throw http.error(
        "RATE_LIMIT_EXHAUSTED",
        `the connection's MCP calls budget is spent (${budget.limit} calls per ${budget.windowS} s)`,
        { retryAfterMs: wait, level: "source" },
      );
    }
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** Ends the session (and its event stream); the next call opens a new one. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#client.close().catch(() => {});
  }
}

/** The HTTP status of a transport failure (the SDK's `StreamableHTTPError`). */
function httpStatusOf(err: unknown): number | undefined {
  if (!(err instanceof StreamableHTTPError)) return undefined;
  const code = (err as { code?: unknown }).code;
  return typeof code === "number" && code >= 100 ? code : undefined;
}

/** The SDK's failures, in the vocabulary. */
function mapError(http: SourceClient, err: unknown): OmniError {
  if (err instanceof OmniError) return err;
  const status = httpStatusOf(err);
  if (status !== undefined) {
    return http.error("SOURCE_ERROR", `the MCP server answered: ${(err as Error).message}`, {
      status,
      cause: err,
    });
  }
  if (err instanceof McpError) {
    const { code, message } = err as { code: number; message: string };
    if (code === ErrorCode.RequestTimeout) {
      return http.error("SOURCE_TIMEOUT", "the MCP server did not answer in time", { cause: err });
    }
    if (code === ErrorCode.ConnectionClosed) {
      return http.error("SOURCE_ERROR", "the MCP session closed", { cause: err, transient: true });
    }
    return http.error("SOURCE_ERROR", `the MCP server answered error ${code}: ${message}`, {
      upstreamMessage: message,
      cause: err,
    });
  }
  const message = err instanceof Error ? err.message : String(err);
  if (err instanceof OAuthError || (err instanceof Error && err.name === "UnauthorizedError")) {
    return http.error(
      "SOURCE_ERROR",
      `the MCP server's authorization refused the connection's credentials: ${message}`,
      { status: 401, cause: err },
    );
  }
  // A body that is not JSON, or JSON that is not JSON-RPC: the SDK's parsers throw.
  return http.error(
    "SOURCE_ERROR",
    `malformed reply from the MCP server: ${message.slice(0, 200)}`,
    { cause: err, transient: true },
  );
}

const sessions = new Map<
  string,
  { session: Promise<McpSession>; timer?: ReturnType<typeof setTimeout> }
>();

/**
 * The open session of a connection, opened on first use. A session is keyed by the connection,
 * its URL and credentials (new credentials open a new one) and closed after 5 idle minutes. A
 * `signal` stops the wait for the handshake (the query's deadline), not the handshake: the next
 * query may use the session it opens.
 *
 * @example
 * ```ts ignore
 * const session = await mcpSession(mcp, connection);
 * ```
 */
export async function mcpSession(
  connector: ConnectorDef,
  connection: Connection,
  signal?: AbortSignal,
): Promise<McpSession> {
  const key = await sessionKey(connection);
  let entry = sessions.get(key);
  if (entry) {
    const session = await entry.session.catch(() => undefined);
    if (!session || session.closed) {
      if (sessions.get(key) === entry) sessions.delete(key);
      entry = undefined;
    }
  }
  if (!entry) {
    const session = new McpSession(connector, connection);
    const opening = session.connect().then(() => session);
    entry = { session: opening };
    sessions.set(key, entry);
    const opened = entry;
    opening.catch(() => {
      if (sessions.get(key) === opened) sessions.delete(key);
      session.close();
    });
  }
  if (entry.timer !== undefined) clearTimeout(entry.timer);
  const idle = entry;
  entry.timer = setTimeout(() => {
    if (sessions.get(key) !== idle) return;
    sessions.delete(key);
    idle.session.then((s) => s.close(), () => {});
  }, IDLE_MS);
  Deno.unrefTimer(entry.timer as unknown as number);
  if (!signal) return await entry.session;
  const reason = () =>
    signal.reason instanceof OmniError ? signal.reason : sourceError(
      { source: connection.name, connector: connector.id },
      "SOURCE_TIMEOUT",
      "the MCP server did not complete the handshake in time",
    );
  if (signal.aborted) throw reason();
  let onAbort = () => {};
  const aborted = new Promise<never>((_, reject) => {
    onAbort = () => reject(reason());
    signal.addEventListener("abort", onAbort, { once: true });
  });
  try {
    return await Promise.race([entry.session, aborted]);
  } finally {
    signal.removeEventListener("abort", onAbort);
  }
}

/**
 * Closes every open session (tests, and a server shutting down).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { closeMcpSessions } from "./client.ts";
 * assert.equal(await closeMcpSessions(), 0);
 * ```
 */
export async function closeMcpSessions(): Promise<number> {
  const all = [...sessions.values()];
  sessions.clear();
  for (const entry of all) {
    if (entry.timer !== undefined) clearTimeout(entry.timer);
    const session = await entry.session.catch(() => undefined);
    session?.close();
  }
  return all.length;
}

async function sessionKey(connection: Connection): Promise<string> {
  const secret = new TextEncoder().encode(
    JSON.stringify([connection.baseUrl, connection.credentials, connection.config.oauth ?? null]),
  );
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", secret));
  return `${connection.tenantId}:${connection.id}:${
    [...digest.slice(0, 12)].map((b) => b.toString(16).padStart(2, "0")).join("")
  }`;
}
