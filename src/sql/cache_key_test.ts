import assert from "node:assert/strict";
import { parseQuery } from "./parse.ts";
import { queryCacheKey } from "./cache_key.ts";

const key = (sql: string) => queryCacheKey(parseQuery(sql));

Deno.test("queryCacheKey() ignores comments, spacing and keyword case", () => {
  assert.equal(
    key("select count(*) as n from jira.issues where status = 'Done' -- it's"),
    key("SELECT count(*) AS n\n  FROM jira.issues /* it's */ WHERE status = 'Done';"),
  );
});

Deno.test("queryCacheKey() never lets two literals share a key", () => {
  const pairs: [string, string][] = [
    // The collision: a quote inside a comment shifted the old text normaliser.
    [
      "SELECT count(*) AS n FROM jira.issues /* it's */ WHERE status = 'Done'",
      "SELECT count(*) AS n FROM jira.issues /* it's */ WHERE status = 'DONE'",
    ],
    ["SELECT $$it's$$ AS a, 'X' AS b", "SELECT $$it's$$ AS a, 'x' AS b"],
    ["SELECT $$A$$ AS a", "SELECT $$a$$ AS a"],
    // node-sql-parser rounds long numbers; the key keeps them as written.
    [
      "SELECT 1 FROM jira.issues WHERE story_points != 3.0000000000000001",
      "SELECT 1 FROM jira.issues WHERE story_points != 3.0000000000000000",
    ],
    ['SELECT "Status" FROM jira.issues', 'SELECT "status" FROM jira.issues'],
    ["SELECT 1e2 AS a", "SELECT 1e3 AS a"],
  ];
  for (const [a, b] of pairs) assert.notEqual(key(a), key(b), `${a} | ${b}`);
});
