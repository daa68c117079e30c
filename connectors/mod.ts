/**
 * Every connector OmniSQL ships, by id.
 *
 * @example
 * ```ts
 * import { CONNECTORS } from "./mod.ts";
 * console.assert("github" in CONNECTORS && "jira" in CONNECTORS);
 * ```
 *
 * @module
 */
import type { ConnectorDef } from "./sdk/connector.ts";
import { github } from "./github/mod.ts";
import { jira } from "./jira/mod.ts";

/** The connectors, by id. */
export const CONNECTORS: Record<string, ConnectorDef> = { github, jira };
