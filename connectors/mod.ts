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
import type { ColumnDef } from "./sdk/table.ts";
import { github } from "./github/mod.ts";
import { jira } from "./jira/mod.ts";
import { linear } from "./linear/mod.ts";
import { mcp } from "./mcp/mod.ts";
import { salesforce } from "./salesforce/mod.ts";

/** The connectors, by id. */
export const CONNECTORS: Record<string, ConnectorDef> = { github, jira, linear, mcp, salesforce };

/** One connector's tables as the catalog records them: names, descriptions and columns. */
export interface DeclaredTables {
  connector: string;
  tables: {
    name: string;
    description: string;
    columns: Pick<ColumnDef, "name" | "type" | "description">[];
  }[];
}

/**
 * Every connector's tables, as the catalog syncs them at start.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { declaredTables } from "./mod.ts";
 * const github = declaredTables().find((d) => d.connector === "github")!;
 * assert.ok(github.tables.some((t) => t.name === "pull_requests"));
 * ```
 */
export function declaredTables(): DeclaredTables[] {
  return Object.values(CONNECTORS).map((c) => ({
    connector: c.id,
    tables: c.tables.map((t) => ({
      name: t.name,
      description: t.description,
      columns: t.columns.map(({ name, type, description }) => ({ name, type, description })),
    })),
  }));
}
