/**
 * Attributes set in the tenant's directory (`admin users set --attr k=v`) reach the policy at
 * query time: a row rule reading `user.<attribute>` filters by the directory's value when the
 * token does not carry the claim, and by the token's when it does.
 */
import assert from "node:assert/strict";
import { postQuery, startTestStack } from "./_stack.ts";
import { DEMO_POLICY_ACME } from "../src/catalog/demo.ts";

const opts = { sanitizeResources: false, sanitizeOps: false };
const SQL = "SELECT DISTINCT repo FROM github.pull_requests ORDER BY repo";

Deno.test("directory attributes are read by row rules at query time", opts, async (t) => {
  const stack = await startTestStack();
  try {
    const { catalog } = stack;
    await catalog.upsertUser({
      tenantId: "acme",
      email: "ana@acme",
      role: "developer",
      teamId: "mobile",
      attributes: { repo_scope: "ios-app" },
    });
    await catalog.upsertUser({
      tenantId: "acme",
      email: "bo@acme",
      role: "developer",
      teamId: "mobile",
    });
    await catalog.putPolicy(
      "acme",
      `${DEMO_POLICY_ACME}  - id: rls_repo_scope
    rule: "SELECT * FROM github.pull_requests WHERE repo = user.repo_scope FOR role:developer"
`,
      "test",
    );
    const reposFor = async (claims: Record<string, unknown>) => {
      const token = await stack.devIssuer.mint({ tenant: "acme", ...claims } as never);
      let res = await postQuery(stack.edgeUrl, token, { sql: SQL });
      // The new policy is compiled within its refresh time.
      for (
        let i = 0;
        i < 30 && res.status === 200 && (res.body.rows as unknown[]).length > 1;
        i++
      ) {
        await new Promise((r) => setTimeout(r, 200));
        res = await postQuery(stack.edgeUrl, token, { sql: SQL });
      }
      assert.equal(res.status, 200, JSON.stringify(res.body));
      return (res.body.rows as { repo: string }[]).map((r) => r.repo);
    };

    await t.step("a token without the claim gets the directory's value", async () => {
      assert.deepEqual(await reposFor({ sub: "ana@acme" }), ["ios-app"]);
      assert.deepEqual(await reposFor({ sub: "ana@acme", role: "developer", team_id: "mobile" }), [
        "ios-app",
      ]);
    });

    await t.step("the token's own claim wins over the directory", async () => {
      assert.deepEqual(
        await reposFor({
          sub: "ana@acme",
          role: "developer",
          team_id: "mobile",
          repo_scope: "mobile-app",
        }),
        ["mobile-app"],
      );
    });

    await t.step("a user with no such attribute anywhere sees no rows (fails closed)", async () => {
      assert.deepEqual(await reposFor({ sub: "bo@acme" }), []);
    });
  } finally {
    await stack.close();
  }
});
