import assert from "node:assert/strict";
import { demoOrg } from "../demo/world.ts";
import { findTable, runScan } from "../sdk/mod.ts";
import { memoryValidators } from "../sdk/_testing.ts";
import { acmeConnection, smallPages, withDemoSandbox } from "./_testing.ts";
import { github } from "./mod.ts";

const table = findTable(github, "pull_requests");

Deno.test("pull_requests: a list revalidated by 304s without Link still yields every page", () =>
  withDemoSandbox(async (gh) => {
    const repo = "mobile-app";
    const expected = demoOrg("acme").pulls.filter((p) => p.repo === repo).length;
    const offer = {
      predicates: [{ column: "repo", op: "=" as const, value: repo }],
      columns: ["pr_id"],
    };
    const conditional = memoryValidators().store;
    const options = { fetch: smallPages(5), conditional };
    const first = await runScan(github, table, acmeConnection(gh.url), offer, options);
    assert.ok(first.pages > 2, `pages: ${first.pages}`);
    assert.equal(first.rows.length, expected);
    const again = await runScan(github, table, acmeConnection(gh.url), offer, options);
    assert.equal(again.rows.length, expected, "a 304 without Link truncated the list");
    assert.deepEqual(again.rows, first.rows);
    assert.equal(again.calls, 0);
    assert.equal(again.revalidated, first.calls);
    assert.equal(again.pages, first.pages);
  }));
