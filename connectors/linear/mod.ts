/**
 * The Linear connector: a declarative connector, entirely described by `linear.yaml` and run by
 * the manifest runtime (`connectors/manifest/`). `linear.issues` reads Linear's GraphQL `issues`
 * connection; predicates become an `IssueFilter` sent as a GraphQL variable. Its sandbox
 * (`./sandbox/`) serves the demo world over the same protocol.
 *
 * Connection: base URL `https://api.linear.app`; credentials `{apiKey}` (sent as
 * `Authorization: <key>`) or `{accessToken}` (Bearer).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { linear } from "./mod.ts";
 * assert.ok(linear.id === "linear" && linear.tables[0].name === "issues");
 * ```
 *
 * @module
 */
import { loadManifest, type Manifest, manifestConnector } from "../manifest/mod.ts";
import type { Classification, ConnectorDef } from "../sdk/mod.ts";

const MANIFEST_URL = new URL("./linear.yaml", import.meta.url);

/** Linear's manifest, validated. */
export const LINEAR_MANIFEST: Manifest = loadManifest(
  Deno.readTextFileSync(MANIFEST_URL),
  "connectors/linear/linear.yaml",
);

/** What Linear's columns hold, for policies that target data classes. */
const CLASSIFICATIONS: Record<string, Record<string, Classification>> = {
  issues: {
    assignee: "pii.person",
    assignee_email: "pii.email",
    // Linear generates branch names from the assignee's name: `chloe/mob-12-login`.
    branch_name: "pii.person_text",
  },
};

const connector = classify(manifestConnector(LINEAR_MANIFEST));

/** The Linear connector. */
export const linear: ConnectorDef = {
  ...connector,
  connection: {
    ...connector.connection!,
    baseUrl: "https://api.linear.app (the GraphQL endpoint is /graphql under it)",
    example: { ...connector.connection!.example, baseUrl: "https://api.linear.app" },
  },
};

function classify(connector: ConnectorDef): ConnectorDef {
  return {
    ...connector,
    tables: connector.tables.map((table) => ({
      ...table,
      columns: table.columns.map((c) => {
        const classification = CLASSIFICATIONS[table.name]?.[c.name];
        return classification ? { ...c, classification } : c;
      }),
    })),
  };
}
