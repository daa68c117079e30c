/**
 * Every connector OmniSQL ships, by id.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { CONNECTORS } from "./mod.ts";
 * assert.ok(["github", "jira", "linear", "mcp", "salesforce"].every((id) => id in CONNECTORS));
 * ```
 *
 * @module
 */
import type { ConnectorDef } from "./sdk/connector.ts";
import { github } from "./github/mod.ts";
import { jira } from "./jira/mod.ts";
import { linear } from "./linear/mod.ts";
import { mcp } from "./mcp/mod.ts";
import { salesforce } from "./salesforce/mod.ts";

/** The connectors, by id. */
export const CONNECTORS: Record<string, ConnectorDef> = { github, jira, linear, mcp, salesforce };
