/**
 * The MCP door: AI agents query OmniSQL over the Model Context Protocol with their user's
 * token, through the same pipeline as `POST /v1/query`.
 *
 * @example
 * ```ts ignore
 * import { mcpEndpoint } from "./mod.ts";
 * app.all("/mcp", mcpEndpoint({ gateway }));
 * ```
 *
 * @module
 */
export { mcpEndpoint, type McpEndpointOptions } from "./endpoint.ts";
export { buildMcpServer, type McpToolsOptions } from "./tools.ts";
