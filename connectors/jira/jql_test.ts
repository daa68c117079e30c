import assert from "node:assert/strict";
import { matchesPredicate, type Predicate, type ScanOffer } from "../sdk/mod.ts";
import { compileJql, parseJql } from "./sandbox/_jql_eval.ts";
import { DEMO, expectedRows } from "./_testing.ts";
import {
  applyKnownStatuses,
  dropUnknownValue,
  phraseIsSuperset,
  planJql,
  quoteJql,
  renderJql,
} from "./jql.ts";
import { jiraSite } from "./sandbox/mod.ts";

const CONFIG = { projects: ["MOB", "WEB"], projectTeams: { MOB: "mobile", WEB: "web" } };
const IDS = { branch: "customfield_10050", storyPoints: "customfield_10016" };
const STATUSES = ["To Do", "In Progress", "In Review", "Done"];
const B = 'project in ("MOB", "WEB")';

function build(predicates: Predicate[], extra: Partial<ScanOffer> = {}) {
  const p = planJql({ predicates, columns: ["issue_key"], ...extra }, CONFIG);
  const query = applyKnownStatuses(p.query, STATUSES);
  return { ...p, query, jql: query.none ? null : renderJql(query, IDS) };
}

/** Values, plain and hostile, and how quoteJql() writes each. */
const QUOTED: [string, string][] = [
  ["Done", '"Done"'],
  ["x' OR project = SECRET", `"x' OR project = SECRET"`],
  ['x" OR project = SECRET', '"x\\" OR project = SECRET"'],
  ["\\", '"\\\\"'],
  ['"\\"', '"\\"\\\\\\""'],
  ["a\nb\r\tc", '"a\\nb\\r\\tc"'],
  ["\u0000\u001f\u007f\u2028", '"\\u0000\\u001f\\u007f\\u2028"'],
  ["ü🚀", '"ü🚀"'],
  ["\ud800x", '"\\ud800x"'],
];

Deno.test("quoteJql() escapes quotes, backslashes and control characters", () => {
  for (const [value, quoted] of QUOTED) assert.equal(quoteJql(value), quoted, value);
});

Deno.test("quoteJql() round-trips every hostile value through the JQL parser as one value", () => {
  const site = jiraSite("acme", DEMO.acme.email);
  for (
    const v of [
      "x' OR project = SECRET",
      'x" OR project = SECRET',
      "\\",
      '"\\"',
      "a\nb",
      "ü🚀",
      "\u0001",
    ]
  ) {
    const q = parseJql(`summary ~ ${quoteJql(v + " zz")} AND project = MOB`);
    const where = q.where!;
    assert.equal(where.kind, "and");
    const left = (where as { left: { kind: string; values: { text: string }[] } }).left;
    assert.equal(left.kind, "clause");
    assert.equal(left.values[0].text, v + " zz");
    compileJql(q, site.schema); // no error: the value is a value, nothing more
  }
});

const CASES: { name: string; predicates: Predicate[]; jql: string | null }[] = [
  { name: "no predicates", predicates: [], jql: B },
  {
    name: "status =",
    predicates: [{ column: "status", op: "=", value: "Done" }],
    jql: `${B} AND status = "Done"`,
  },
  {
    name: "status !=",
    predicates: [{ column: "status", op: "!=", value: "Done" }],
    jql: `${B} AND status != "Done"`,
  },
  {
    name: "status IN",
    predicates: [{ column: "status", op: "in", values: ["To Do", "In Review"] }],
    jql: `${B} AND status in ("To Do", "In Review")`,
  },
  {
    name: "status NOT IN",
    predicates: [{ column: "status", op: "not in", values: ["Done", "To Do"] }],
    jql: `${B} AND status not in ("Done", "To Do")`,
  },
  {
    name: "unknown status =",
    predicates: [{ column: "status", op: "=", value: "Nope" }],
    jql: null,
  },
  {
    name: "hostile status (single quote)",
    predicates: [{ column: "status", op: "=", value: "x' OR project = SECRET" }],
    jql: null,
  },
  {
    name: "hostile status IN keeps only known values",
    predicates: [{ column: "status", op: "in", values: ['x" OR project = SECRET', "Done"] }],
    jql: `${B} AND status = "Done"`,
  },
  {
    name: "status != unknown excludes nothing",
    predicates: [{ column: "status", op: "!=", value: 'x" OR project = SECRET' }],
    jql: B,
  },
  {
    name: "status != other case excludes nothing (SQL is case-sensitive)",
    predicates: [{ column: "status", op: "!=", value: "done" }],
    jql: B,
  },
  {
    name: "status = other case is a superset",
    predicates: [{ column: "status", op: "=", value: "done" }],
    jql: `${B} AND status = "done"`,
  },
  {
    name: "project =",
    predicates: [{ column: "project", op: "=", value: "WEB" }],
    jql: 'project in ("WEB")',
  },
  {
    name: "project not configured",
    predicates: [{ column: "project", op: "=", value: "SECRET" }],
    jql: null,
  },
  {
    name: "project NOT IN",
    predicates: [{ column: "project", op: "not in", values: ["WEB"] }],
    jql: 'project in ("MOB")',
  },
  {
    name: "team =",
    predicates: [{ column: "team", op: "=", value: "mobile" }],
    jql: 'project in ("MOB")',
  },
  {
    name: "team IN and project = contradict",
    predicates: [{ column: "team", op: "in", values: ["mobile"] }, {
      column: "project",
      op: "=",
      value: "WEB",
    }],
    jql: null,
  },
  { name: "team IS NULL", predicates: [{ column: "team", op: "is null" }], jql: null },
  {
    name: "issue_key IN keeps keys of configured projects",
    predicates: [{
      column: "issue_key",
      op: "in",
      values: ["MOB-1", "WEB-2", "mob-3", "SECRET-1", 'x" OR 1=1'],
    }],
    jql: `${B} AND key in ("MOB-1", "WEB-2")`,
  },
  {
    name: "issue_key = foreign key",
    predicates: [{ column: "issue_key", op: "=", value: "SECRET-1" }],
    jql: null,
  },
  {
    name: "assignee_account_id =",
    predicates: [{ column: "assignee_account_id", op: "=", value: "5b10ac8d82e05b22cc7d12345" }],
    jql: `${B} AND assignee = "5b10ac8d82e05b22cc7d12345"`,
  },
  {
    name: "assignee_account_id IS NULL",
    predicates: [{ column: "assignee_account_id", op: "is null" }],
    jql: `${B} AND assignee IS EMPTY`,
  },
  {
    name: "created >= widens by a day",
    predicates: [{ column: "created", op: ">=", value: "2025-03-09T20:30:06Z" }],
    jql: `${B} AND created >= "2025-03-08 20:30"`,
  },
  {
    name: "created < widens by a day",
    predicates: [{ column: "created", op: "<", value: "2025-03-09T20:30:06.000Z" }],
    jql: `${B} AND created <= "2025-03-10 20:30"`,
  },
  {
    name: "updated = brackets",
    predicates: [{ column: "updated", op: "=", value: "2025-06-01 10:00:00" }],
    jql: `${B} AND updated >= "2025-05-31 10:00" AND updated <= "2025-06-02 10:00"`,
  },
  {
    name: "story_points >=",
    predicates: [{ column: "story_points", op: ">=", value: 5 }],
    jql: `${B} AND cf[10016] >= 5`,
  },
  {
    name: "story_points IN",
    predicates: [{ column: "story_points", op: "in", values: [1, 13] }],
    jql: `${B} AND cf[10016] in (1, 13)`,
  },
  {
    name: "story_points IS NULL",
    predicates: [{ column: "story_points", op: "is null" }],
    jql: `${B} AND cf[10016] IS EMPTY`,
  },
  {
    name: "branch_name = phrase",
    predicates: [{ column: "branch_name", op: "=", value: "feature/MOB-12-login-flow" }],
    jql: `${B} AND cf[10050] ~ "\\"feature/MOB-12-login-flow\\""`,
  },
  {
    name: "branch_name IS NOT NULL",
    predicates: [{ column: "branch_name", op: "is not null" }],
    jql: `${B} AND cf[10050] IS NOT EMPTY`,
  },
  {
    name: "status_category",
    predicates: [{ column: "status_category", op: "in", values: ["new", "indeterminate"] }],
    jql: `${B} AND statusCategory in (2, 4)`,
  },
  {
    name: "status_category unknown",
    predicates: [{ column: "status_category", op: "=", value: "toString" }],
    jql: null,
  },
];

/** Predicates JQL cannot take exactly: each stays residual, and the request is the base one. */
const RESIDUAL: [string, Predicate][] = [
  ["assignee_account_id hostile", {
    column: "assignee_account_id",
    op: "=",
    value: 'x" OR project = SECRET',
  }],
  ["assignee_email =", { column: "assignee_email", op: "=", value: "a@b" }],
  ["created not a timestamp", { column: "created", op: ">", value: "yesterday" }],
  ["story_points = text", { column: "story_points", op: "=", value: "5" }],
  ["branch_name = hostile", { column: "branch_name", op: "=", value: 'x" OR project = SECRET' }],
  ["branch_name LIKE", { column: "branch_name", op: "like", pattern: "feature/%" }],
  ["summary LIKE", { column: "summary", op: "like", pattern: "%login%" }],
];

for (const c of CASES) {
  Deno.test(`planJql() ${c.name} → ${c.jql ?? "no request"}`, () => {
    const built = build(c.predicates);
    assert.equal(built.jql, c.jql);
    assert.deepEqual(built.residual, []);
    assert.equal(built.pushed.length, c.predicates.length);
  });
}

for (const [name, predicate] of RESIDUAL) {
  Deno.test(`planJql() ${name} stays residual → ${B}`, () => {
    const built = build([predicate]);
    assert.equal(built.jql, B);
    assert.deepEqual(built.residual, [predicate]);
    assert.deepEqual(built.pushed, []);
  });
}

Deno.test("planJql() pushes ORDER BY created and the limit only without residual", () => {
  const order = { orderBy: [{ column: "created", direction: "desc" as const }], limit: 5 };
  const a = build([{ column: "status", op: "=", value: "Done" }], order);
  assert.equal(a.jql, `${B} AND status = "Done" ORDER BY created DESC`);
  assert.equal(a.limit, 5);
  assert.equal(a.maxResults, 5);
  const b = build([{ column: "summary", op: "like", pattern: "%x%" }], order);
  assert.equal(b.limit, undefined);
  assert.equal(b.maxResults, 100);
  const c = build([], { orderBy: [{ column: "issue_key", direction: "asc" }], limit: 5 });
  assert.equal(c.jql, B, "Jira orders keys numerically, SQL as text: not pushed");
  assert.equal(c.limit, undefined);
  assert.equal(build([], { limit: 250 }).maxResults, 100);
});

Deno.test("dropUnknownValue() removes a value Jira does not know", () => {
  const p = build([{ column: "issue_key", op: "in", values: ["MOB-1", "MOB-999"] }]);
  const q = dropUnknownValue(p.query, "key", "MOB-999");
  assert.equal(renderJql(q, IDS), `${B} AND key = "MOB-1"`);
  assert.ok(dropUnknownValue(q, "key", "MOB-1").none);
});

Deno.test("phraseIsSuperset() accepts only values whose phrase search contains equality", () => {
  assert.ok(phraseIsSuperset("feature/MOB-12-login-flow"));
  assert.ok(!phraseIsSuperset(""));
  assert.ok(!phraseIsSuperset("the"));
  assert.ok(!phraseIsSuperset("a b"));
  assert.ok(!phraseIsSuperset('x"y'));
  assert.ok(!phraseIsSuperset("x*"));
  assert.ok(!phraseIsSuperset("--"));
});

Deno.test("renderJql() names custom fields by name until their ids are known", () => {
  const p = build([{ column: "story_points", op: ">", value: 3 }]);
  assert.equal(renderJql(p.query, {}), `${B} AND "Story point estimate" > 3`);
  assert.equal(renderJql(p.query, { storyPoints: null }), B);
});

// --- Round trip: every built JQL parses in the sandbox and means what the predicates mean ----

const ROWS = expectedRows("acme");
const sample = ROWS[40];
const ROUND_TRIP: { predicates: Predicate[]; exact: boolean }[] = [
  { predicates: [{ column: "status", op: "=", value: "Done" }], exact: true },
  { predicates: [{ column: "status", op: "!=", value: "In Review" }], exact: true },
  {
    predicates: [{ column: "status", op: "not in", values: ["Done", "To Do", "nope"] }],
    exact: true,
  },
  { predicates: [{ column: "status_category", op: "!=", value: "indeterminate" }], exact: true },
  {
    predicates: [{ column: "team", op: "=", value: "web" }, {
      column: "story_points",
      op: ">",
      value: 3,
    }],
    exact: true,
  },
  { predicates: [{ column: "story_points", op: "not in", values: [1, 2, 3] }], exact: true },
  {
    predicates: [{ column: "story_points", op: "is null" }, {
      column: "assignee_account_id",
      op: "is not null",
    }],
    exact: true,
  },
  {
    predicates: [{
      column: "assignee_account_id",
      op: "=",
      value: sample.assignee_account_id as string,
    }],
    exact: true,
  },
  {
    predicates: [{ column: "issue_key", op: "in", values: ["MOB-1", "WEB-7", "WEB-150"] }],
    exact: true,
  },
  { predicates: [{ column: "branch_name", op: "is null" }], exact: true },
  { predicates: [{ column: "created", op: ">=", value: sample.created as string }], exact: false },
  {
    predicates: [{ column: "updated", op: ">", value: "2025-06-01T00:00:00.000Z" }, {
      column: "updated",
      op: "<=",
      value: "2025-08-01T12:00:00.000Z",
    }],
    exact: false,
  },
  {
    predicates: [{
      column: "branch_name",
      op: "=",
      value: ROWS.find((r) => r.branch_name)!.branch_name as string,
    }],
    exact: false,
  },
  { predicates: [{ column: "branch_name", op: "=", value: "feature" }], exact: false },
];

Deno.test("built JQL round-trips through the sandbox's parser with the predicates' meaning", () => {
  const site = jiraSite("acme", DEMO.acme.email);
  const byKey = new Map(ROWS.map((r) => [r.issue_key, r]));
  for (const { predicates, exact } of ROUND_TRIP) {
    const built = build(predicates);
    assert.equal(built.residual.length, 0, JSON.stringify(predicates));
    const compiled = compileJql(parseJql(built.jql!), site.schema);
    const got = site.issues.filter(compiled.matches).map((i) => i.key).sort();
    const want = ROWS.filter((r) => predicates.every((p) => matchesPredicate(p, r[p.column])))
      .map((r) => r.issue_key as string).sort();
    if (exact) assert.deepEqual(got, want, built.jql!);
    else {
      for (const k of want) assert.ok(got.includes(k), `${built.jql} dropped ${k}`);
      const narrowed = got.filter((k) =>
        predicates.every((p) => matchesPredicate(p, byKey.get(k)![p.column]))
      );
      assert.deepEqual(narrowed, want);
    }
  }
});
