import assert from "node:assert/strict";
import { DEMO_GITHUB, DEMO_POLICY_ACME, DEMO_USERS, type DemoSandboxes } from "./demo.ts";
import { seedDemo } from "./seed.ts";
import { withCatalogs } from "./testing.ts";

const SANDBOXES: DemoSandboxes = {
  github: { url: "http://127.0.0.1:7001" },
  jira: { acme: { url: "http://127.0.0.1:7002" }, globex: { url: "http://127.0.0.1:7003" } },
};

withCatalogs("seedDemo() creates the demo tenants, users, connections and policy", async ({
  catalog,
}) => {
  await seedDemo(catalog, SANDBOXES);
  assert.deepEqual(
    (await catalog.listTenants()).map((t) => [t.id, t.zone]),
    [["acme", "us"], ["globex", "eu"]],
  );
  const acmeUsers = await catalog.listUsers("acme");
  assert.deepEqual(
    acmeUsers.map((u) => [u.email, u.role, u.teamId]),
    [
      ["admin@acme", "admin", null],
      ["dev@acme", "developer", "mobile"],
      ["qa@acme", "qa", "mobile"],
      ["webdev@acme", "developer", "web"],
    ],
  );
  assert.equal((await catalog.getUser("globex", "dev@globex"))?.teamId, "platform");
  const globex = await catalog.listConnections("globex");
  assert.deepEqual(globex.map((c) => [c.connector, c.name, c.baseUrl]), [
    ["github", "github", "http://127.0.0.1:7001"],
    ["jira", "jira", "http://127.0.0.1:7003"],
  ]);
  assert.deepEqual(globex[0].credentials, DEMO_GITHUB.globex.credentials);
  assert.equal((await catalog.getPolicy("acme"))?.source, DEMO_POLICY_ACME);
}, { seed: false });

withCatalogs("seedDemo() run twice changes nothing but the sandbox URLs", async ({ catalog }) => {
  await seedDemo(catalog, SANDBOXES);
  const ids = (await catalog.listConnectionsPublic("acme")).map((c) => c.id);
  await catalog.putPolicy("acme", "policies: []\n", "admin@acme");
  const moved = { ...SANDBOXES, github: { url: "http://127.0.0.1:7999" } };
  await seedDemo(catalog, moved);
  const after = await catalog.listConnectionsPublic("acme");
  assert.deepEqual(after.map((c) => c.id), ids);
  assert.equal(after[0].baseUrl, "http://127.0.0.1:7999");
  assert.equal(
    (await catalog.listUsers("acme")).length + (await catalog.listUsers("globex")).length,
    DEMO_USERS.length,
  );
  assert.equal((await catalog.listTenants()).length, 2);
  // An admin's policy is not overwritten by a re-seed.
  assert.equal((await catalog.getPolicy("acme"))?.source, "policies: []\n");
});
