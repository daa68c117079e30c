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
import type { Gateway } from "../gateway.ts";
import { buildMcpServer, type McpToolsOptions } from "./tools.ts";

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
    const server = buildMcpServer({ ...options, token });
    const transport = new WebStandardStreamableHTTPServerTransport({
      sessionIdGenerator: undefined,
      enableJsonResponse: true,
    });
    await server.connect(transport);
    return await transport.handleRequest(c.req.raw);
  };
}
