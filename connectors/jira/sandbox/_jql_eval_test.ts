import assert from "node:assert/strict";
import { compileJql, JqlError, parseJql, parseJqlDate } from "./_jql_eval.ts";
import { jiraSite } from "./mod.ts";

const site = jiraSite("acme", "bot@acme.example");
const run = (jql: string) =>
  site.issues.filter(compileJql(parseJql(jql), site.schema).matches).map((i) => i.key);
const expected = (f: (i: (typeof site.org.issues)[number]) => boolean) =>
  site.org.issues.filter(f).map((i) => i.key);

Deno.test("parseJql() gives AND precedence over OR, and NOT and parentheses their meaning", () => {
  assert.deepEqual(
    run('project = WEB OR project = MOB AND status = "Done"'),
    expected((i) => i.project === "WEB" || (i.project === "MOB" && i.status === "Done")),
  );
  assert.deepEqual(
    run('(project = WEB OR project = MOB) AND NOT status = "Done"'),
    expected((i) => i.status !== "Done"),
  );
  assert.deepEqual(
    run("project = MOB && !(status in (Done, 'To Do'))"),
    expected((i) => i.project === "MOB" && !["Done", "To Do"].includes(i.status)),
  );
});

Deno.test("compileJql() treats status case-insensitively, != and NOT IN skip empty values", () => {
  assert.deepEqual(
    run("project = MOB AND status = dONE"),
    expected((i) => i.project === "MOB" && i.status === "Done"),
  );
  assert.deepEqual(
    run("project = MOB AND cf[10016] != 3"),
    expected((i) => i.project === "MOB" && i.storyPoints !== null && i.storyPoints !== 3),
  );
  assert.deepEqual(
    run("project = MOB AND customfield_10016 not in (1, 2)"),
    expected((i) =>
      i.project === "MOB" && i.storyPoints !== null && ![1, 2].includes(i.storyPoints)
    ),
  );
  assert.deepEqual(
    run('project = MOB AND "Branch" IS EMPTY'),
    expected((i) => i.project === "MOB" && i.branch === null),
  );
  assert.deepEqual(
    run("project = MOB AND assignee = EMPTY"),
    expected((i) => i.project === "MOB" && i.assignee === null),
  );
  assert.deepEqual(
    run("statusCategory = done AND project = MOB"),
    expected((i) => i.project === "MOB" && i.status === "Done"),
  );
});

Deno.test("compileJql() compares dates at minute precision in UTC", () => {
  const at = Date.parse("2025-06-01T10:00:00Z");
  assert.deepEqual(
    run('project = MOB AND created >= "2025-06-01 10:00"'),
    expected((i) => i.project === "MOB" && Date.parse(i.created) >= at),
  );
  assert.deepEqual(
    run("project = MOB AND created < 2025/06/01"),
    expected((i) =>
      i.project === "MOB" && Date.parse(i.created) < Date.parse("2025-06-01T00:00:00Z")
    ),
  );
  assert.equal(parseJqlDate("-2d", 1_000_000_000), 1_000_000_000 - 2 * 86_400_000);
  assert.equal(parseJqlDate("2025-02-30"), undefined);
});

Deno.test("parseJql() decodes JQL escapes and rejects illegal ones", () => {
  const q = parseJql('summary ~ "a\\"b\\\\c\\n\\u00fc"');
  assert.equal((q.where as { values: { text: string }[] }).values[0].text, 'a"b\\c\nü');
  assert.throws(() => parseJql('summary ~ "\\q"'), JqlError);
  assert.throws(() => parseJql("status = order"), /reserved JQL word/);
});
