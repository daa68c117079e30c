import assert from "node:assert/strict";
import { CONNECTORS } from "../../connectors/mod.ts";
import { DEMO_SUPPORT, PLACEHOLDER_SANDBOXES } from "../catalog/demo.ts";
import { withCatalogs } from "../catalog/testing.ts";
import { PolicySecurityProvider } from "./provider.ts";

const SANDBOXES = {
  ...PLACEHOLDER_SANDBOXES,
  support: {
    acme: { url: "http://acme-support.sandbox.invalid/mcp" },
    globex: { url: "http://globex-support.sandbox.invalid/mcp" },
  },
};
const qa = { sub: "qa@acme", tenant: "acme", role: "qa", team_id: "mobile" };

withCatalogs(
  "a column an MCP mapping classifies later is covered by the class rules at once",
  async ({ catalog }) => {
    const security = new PolicySecurityProvider({ catalog, connectors: CONNECTORS, ttlMs: 0 });
    const masked = async () =>
      (await security.guardFor("acme", qa)).pushdown?.("support.tickets").unpushable ?? [];
    assert.ok((await masked()).includes("requester_email"));
    assert.ok(!(await masked()).includes("assignee_email"));
    const config = structuredClone(DEMO_SUPPORT.acme.config) as {
      tables: { columns: Record<string, unknown>[] }[];
    };
    config.tables[0].columns.push({
      name: "assignee_email",
      type: "text",
      path: "assignee.email",
      classification: "pii.email",
    });
    await catalog.updateConnection("acme", "support", { config });
    // The policy's version did not change; the tenant's tables did.
    assert.ok((await masked()).includes("assignee_email"));
  },
  { seed: SANDBOXES },
);

withCatalogs(
  "a compiled policy is kept while the catalog hands back the values it was compiled from",
  async ({ catalog }) => {
    const security = new PolicySecurityProvider({ catalog, connectors: CONNECTORS, ttlMs: 0 });
    const first = await security.policy("acme");
    // Nothing changed: the catalog's memo answers with the very same values.
    assert.equal(await security.policy("acme"), first);
    // A directory change (a new role) is a new value: compiled again, and it knows the role.
    await catalog.upsertUser({ tenantId: "acme", email: "a@acme", role: "auditor", teamId: null });
    const next = await security.policy("acme");
    assert.notEqual(next, first);
    next.checkClaims({ sub: "a@acme", tenant: "acme", role: "auditor" });
  },
);
