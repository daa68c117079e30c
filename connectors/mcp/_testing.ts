/**
 * What the MCP connector's tests share: the demo support desk started as the demo connection
 * expects it, and that connection.
 *
 * @module
 */
import { DEMO_SUPPORT } from "../../src/catalog/demo.ts";
import type { Connection } from "../sdk/mod.ts";
import { startSupportSandbox, type SupportSandbox } from "./sandbox/server.ts";

/** Starts acme's support desk with the demo credentials (bearer and OAuth client). */
export function startDemoSupport(org: "acme" | "globex" = "acme"): Promise<SupportSandbox> {
  return startSupportSandbox({
    org,
    tokens: [DEMO_SUPPORT.acme.credentials.token],
    clients: [{
      clientId: DEMO_SUPPORT.globex.credentials.clientId,
      clientSecret: DEMO_SUPPORT.globex.credentials.clientSecret,
    }],
  });
}

/** The demo `support` connection to a running desk; `overrides` replace parts of it. */
export function supportConnection(
  url: string,
  overrides: Partial<Pick<Connection, "credentials" | "config" | "id">> = {},
): Connection {
  return {
    id: overrides.id ?? `support-${crypto.randomUUID()}`,
    tenantId: "acme",
    connector: "mcp",
    name: "support",
    baseUrl: url,
    credentials: overrides.credentials ?? DEMO_SUPPORT.acme.credentials,
    config: overrides.config ?? DEMO_SUPPORT.acme.config,
  };
}
