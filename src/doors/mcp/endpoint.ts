/**
 * `POST /mcp`: the Model Context Protocol endpoint (Streamable HTTP, stateless: one server and
 * transport per request, JSON answers) on the edge and on each zone's own endpoint. The bearer
 * token is the user's; a request without a valid one is 401 before any MCP message is read.
 *
 * @module
 */
import type { Handler } from "hono";
// @ts-types="npm:@modelcontextprotocol/sdk@1.32.2/server/webStandardStreamableHttp"
import { WebStandardStreamableHTTPServerTransport } from "@modelcontextprotocol/sdk/server/webStandardStreamableHttp.js";
import type { AppEnv } from "../../http/env.ts";
import { readBody } from "../../http/json_body.ts";
import { OmniError } from "../../errors.ts";
import type { Gateway } from "../gateway.ts";
import { buildMcpServer, type McpToolsOptions } from "./tools.ts";

/** The largest MCP message read, bytes (the MCP SDK's own default). */
const MAX_MCP_BODY_BYTES = 4 * 1024 * 1024;

/** Options of {@link mcpEndpoint}. */
export type McpEndpointOptions = Omit<McpToolsOptions, "token"> & { gateway: Gateway };

/**
 * The handler of `/mcp` (mount it for every method: GET and DELETE get 405, as a stateless
 * server should answer, or clients wait on an event stream forever).
 *
 * @example
 * ```ts ignore
 * app.all("/mcp", mcpEndpoint({ gateway: appGateway((r) => app.fetch(r)) }));
 * ```
 */
export function mcpEndpoint(options: McpEndpointOptions): Handler<AppEnv> {
  return async function mcpHandler(c) {
    if (c.req.method !== "POST") {
      return c.json(
        { jsonrpc: "2.0", error: { code: -32000, message: "Method not allowed." }, id: null },
        405,
        { allow: "POST" },
      );
    }
    const token = /^Bearer\s+(\S+)$/i.exec(c.req.header("authorization") ?? "")?.[1];
    const who = token
      ? await options.gateway({ door: "mcp", token, method: "GET", path: "/v1/whoami" })
      : undefined;
    if (!token || who?.status !== 200) {
      const body = who?.body ?? {
        error: { code: "UNAUTHENTICATED", message: "missing bearer token (a user token)" },
        trace_id: c.get("traceId"),
      };
      return c.json(body as Record<string, unknown>, 401, {
        "www-authenticate": 'Bearer realm="omnisql"',
      });
    }
    // The body is read here, within our size and time limits (a client that stops sending
    // would hold the handler otherwise); the transport parses it as it would have.
    let body: Uint8Array<ArrayBuffer>;
    try {
      body = await readBody(c.req.raw, { maxBytes: MAX_MCP_BODY_BYTES });
    } catch (err) {
      const message = err instanceof OmniError ? err.message : "the body could not be read";
      return c.json({ jsonrpc: "2.0", error: { code: -32600, message }, id: null }, 400);
    }
    const server = buildMcpServer({ ...options, token });
    const transport = new WebStandardStreamableHTTPServerTransport({
      sessionIdGenerator: undefined,
      enableJsonResponse: true,
    });
    await server.connect(transport);
    const { method, headers, url } = c.req.raw;
    return await transport.handleRequest(new Request(url, { method, headers, body }));
  };
}
