import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { CONNECTORS } from "../../connectors/mod.ts";
import type { UserClaims } from "../auth/user_token.ts";
import { OmniError } from "../errors.ts";
import { compilePolicy, parsePolicy, parseRule, policySchema } from "./mod.ts";
import {
  refuseWithoutPassthroughToken,
  withPassthrough,
  withPassthroughClaim,
} from "./passthrough.ts";

const schema = policySchema(CONNECTORS, { roles: ["developer", "qa", "admin"] });
const PR = "github.pull_requests";

const MASK_KEY = new Uint8Array(32).fill(1);

function guard(yaml: string, user: UserClaims, version = 1, maskKey = MASK_KEY) {
  return compilePolicy(parsePolicy(yaml, schema), { tenantId: "acme", version, schema })
    .guardFor(user, { maskKey });
}

const policy = (...rules: string[]) =>
  `policies:\n${rules.map((r, i) => `  - id: r${i}\n    rule: "${r}"\n`).join("")}`;

const dev: UserClaims = { sub: "dev@acme", tenant: "acme", role: "developer", team_id: "mobile" };
const rows = [
  { pr_id: 1, team_id: "mobile", author: "ana", email: "ana@acme.example", additions: 3 },
  { pr_id: 2, team_id: "web", author: "ben", email: null, additions: 5 },
  { pr_id: 3, team_id: null, author: "cy", email: "cy@acme.example", additions: 7 },
];

Deno.test("parseRule() reads the four rule forms and their subjects", () => {
  const rls = parseRule(
    "a",
    `SELECT * FROM ${PR} WHERE team_id = user.team_id FOR ALL EXCEPT role:admin`,
  );
  assert.equal(rls.kind, "rls");
  assert.deepEqual(rls.subjects, { all: true, roles: ["admin"] });
  const mask = parseRule(
    "b",
    "MASK github.pull_requests.author WITH redact FOR role:qa, role:intern",
  );
  assert.ok(mask.kind === "mask" && mask.mask === "redact");
  assert.deepEqual(mask.target, { table: PR, column: "author" });
  assert.deepEqual(mask.subjects, { all: false, roles: ["qa", "intern"] });
  assert.equal(parseRule("c", "BLOCK email FOR role:qa").kind, "block");
  assert.equal(parseRule("d", "DENY TABLE jira.issues").kind, "deny");
  assert.throws(() => parseRule("e", "GRANT ALL"), /SELECT \* FROM, MASK, BLOCK or DENY/);
  assert.throws(() => parseRule("f", `SELECT * FROM ${PR} WHERE team_id =`), /column \d+/);
});

Deno.test("parsePolicy() rejects the whole document naming the bad rule", () => {
  const cases: [string, RegExp][] = [
    [`SELECT * FROM github.nope WHERE a = 1`, /rule r1: unknown table github\.nope/],
    [`SELECT * FROM ${PR} WHERE colour = 'red'`, /rule r1: unknown column colour/],
    [
      `SELECT * FROM ${PR} WHERE team_id = user.department`,
      /unknown user attribute user\.department/,
    ],
    ["MASK nothing WITH 'sha256'", /no table has a column nothing/],
    ["MASK email WITH 'rot13'", /unknown mask/],
  ];
  for (const [rule, message] of cases) {
    assert.throws(
      () => parsePolicy(policy("MASK email WITH 'sha256'", rule), schema),
      (err: unknown) =>
        err instanceof OmniError && err.code === "INVALID_REQUEST" && message.test(err.message),
    );
  }
  assert.throws(() => parsePolicy("policies: {}", schema), /policies/);
  // A rule for a role the tenant does not know (a typo, a role nobody has) applies to nobody:
  // refused, unless the document declares the role for users outside the directory.
  for (
    const rule of [
      "MASK author WITH 'redact' FOR role:qaa",
      "DENY TABLE jira.issues FOR role:intern",
    ]
  ) {
    assert.throws(
      () => parsePolicy(policy(rule), schema),
      (err: unknown) =>
        err instanceof OmniError && err.code === "INVALID_REQUEST" &&
        /rule r0: unknown role (qaa|intern) \(roles: admin, developer, qa;/.test(err.message),
    );
  }
  assert.throws(
    () => parsePolicy(policy("MASK email WITH 'sha256' FOR ALL EXCEPT role:root"), schema),
    /unknown role root/,
  );
  const declared = parsePolicy(
    `roles: [intern]\n${policy("DENY TABLE jira.issues FOR role:intern")}`,
    schema,
  );
  assert.deepEqual(declared.roles, ["intern"]);
  assert.throws(() => parsePolicy(`roles: intern\n${policy()}`, schema), /roles:. must be a list/);
  // Attributes of the tenant's directory are known.
  const withDept = policySchema(CONNECTORS, { attributes: ["department"] });
  parsePolicy(policy(`SELECT * FROM ${PR} WHERE team_id = user.department`), withDept);
});

Deno.test("a row rule is offered to the source and always enforced on the rows", () => {
  const g = guard(policy(`SELECT * FROM ${PR} WHERE team_id = user.team_id`), dev);
  assert.deepEqual(g.rowFilters(PR), [{ column: "team_id", op: "=", value: "mobile" }]);
  assert.deepEqual((g.apply(PR, rows) as typeof rows).map((r) => r.pr_id), [1]);
  assert.deepEqual(g.pushdown?.(PR), { unpushable: [], columns: ["team_id"], limit: true });
});

Deno.test("a user lacking the attribute a rule needs sees no rows", () => {
  const noTeam = { sub: "x@acme", tenant: "acme", role: "developer", team_id: null };
  const g = guard(policy(`SELECT * FROM ${PR} WHERE team_id = user.team_id`), noTeam);
  assert.deepEqual(g.apply(PR, rows), []);
  const negated = guard(policy(`SELECT * FROM ${PR} WHERE NOT team_id != user.team_id`), noTeam);
  assert.deepEqual(negated.apply(PR, rows), []);
});

Deno.test("rules with OR are enforced on rows and keep the source's LIMIT off", () => {
  const g = guard(
    policy(`SELECT * FROM ${PR} WHERE team_id = user.team_id OR additions > 6`),
    dev,
  );
  assert.deepEqual(g.rowFilters(PR), []);
  assert.deepEqual((g.apply(PR, rows) as typeof rows).map((r) => r.pr_id), [1, 3]);
  assert.equal(g.pushdown?.(PR).limit, false);
  const admin = guard(
    policy(`SELECT * FROM ${PR} WHERE team_id = user.team_id OR user.role = 'admin'`),
    { sub: "a", tenant: "acme", role: "admin" },
  );
  assert.equal((admin.apply(PR, rows) as unknown[]).length, 3);
});

Deno.test("masks replace values before DuckDB and make the column unpushable", () => {
  const g = guard(
    policy("MASK email WITH 'sha256' FOR ALL EXCEPT role:admin", "MASK author WITH 'redact'"),
    dev,
  );
  const out = g.apply(PR, rows) as typeof rows;
  assert.match(String(out[0].email), /^[0-9a-f]{8}\*{4}@acme\.example$/);
  assert.equal(out[1].email, null);
  assert.deepEqual(out.map((r) => r.author), ["[HIDDEN]", "[HIDDEN]", "[HIDDEN]"]);
  // The branch may embed the author's name: it follows the author's rule (as a keyed hash).
  assert.deepEqual(g.pushdown?.(PR).unpushable.sort(), ["author", "branch", "email"]);
  const admin = guard(policy("MASK email WITH 'sha256' FOR ALL EXCEPT role:admin"), {
    sub: "a",
    tenant: "acme",
    role: "admin",
  });
  assert.equal((admin.apply(PR, rows) as typeof rows)[0].email, "ana@acme.example");
  const numbers = guard(policy("MASK additions WITH 'hash'"), dev);
  assert.equal((numbers.apply(PR, rows) as typeof rows)[0].additions, null);
});

Deno.test("hash masks are keyed: not the SHA-256 of the value, equal within a key", () => {
  const yaml = policy("MASK email WITH 'sha256' FOR ALL EXCEPT role:admin");
  const masked = (key: Uint8Array<ArrayBuffer>) =>
    String((guard(yaml, dev, 1, key).apply(PR, rows) as typeof rows)[0].email);
  const unkeyed = createHash("sha256").update("ana@acme.example").digest("hex");
  // The guess attack: substr(sha256('ana@acme.example'), 1, 8) no longer matches the mask.
  assert.ok(!masked(MASK_KEY).startsWith(unkeyed.slice(0, 8)));
  assert.equal(masked(MASK_KEY), masked(MASK_KEY));
  assert.notEqual(masked(MASK_KEY), masked(new Uint8Array(32).fill(2)));
  // The fingerprint changes with the key, so cached answers are never shared across keys.
  assert.notEqual(
    guard(yaml, dev, 1, MASK_KEY).fingerprint,
    guard(yaml, dev, 1, new Uint8Array(32).fill(2)).fingerprint,
  );
  // A hash mask without a key is refused, never computed unkeyed.
  const compiled = compilePolicy(parsePolicy(yaml, schema), {
    tenantId: "acme",
    version: 1,
    schema,
  });
  assert.ok(compiled.needsMaskKey);
  assert.throws(() => compiled.guardFor(dev), /mask key/);
});

Deno.test("check() refuses denied tables and blocked columns, naming them", () => {
  const g = guard(policy("BLOCK email FOR role:developer", "DENY TABLE jira.issues"), dev);
  assert.throws(
    () => g.check([{ key: PR, columns: ["pr_id", "email"] }]),
    (e: unknown) => e instanceof OmniError && e.status === 403 && /column email/.test(e.message),
  );
  assert.throws(() => g.check([{ key: "jira.issues", columns: ["issue_key"] }]), /jira\.issues/);
  g.check([{ key: PR, columns: ["pr_id"] }]);
  assert.equal((g.apply(PR, rows) as typeof rows)[0].email, null);
});

Deno.test("fingerprints are equal for equal entitlements only", () => {
  const yaml = policy(
    `SELECT * FROM ${PR} WHERE team_id = user.team_id`,
    "MASK author WITH 'redact' FOR role:qa",
  );
  const fp = (u: Partial<UserClaims>, version = 1) =>
    guard(yaml, { sub: "s", tenant: "acme", ...u }, version).fingerprint;
  const base = { role: "developer", team_id: "mobile" };
  assert.equal(fp({ ...base, sub: "one" }), fp({ ...base, sub: "two" }));
  assert.notEqual(fp(base), fp({ ...base, team_id: "web" }));
  assert.notEqual(fp(base), fp({ ...base, role: "qa" }));
  assert.notEqual(fp(base), fp(base, 2));
  assert.notEqual(
    fp({ ...base, sub: "one", passthrough_token: "t1" }),
    fp({ ...base, sub: "two", passthrough_token: "t2" }),
  );
});

Deno.test("passthrough connections use the user's token or refuse", () => {
  const conn = {
    id: "1",
    tenantId: "acme",
    connector: "github",
    name: "github",
    baseUrl: "http://gh",
    credentials: { token: "stored" },
    config: { passthrough: true },
  };
  const user = withPassthroughClaim(
    { sub: "ana", tenant: "acme", passthrough_token: "forged" },
    "mine",
  );
  const [c] = withPassthrough([conn], user);
  assert.equal(c.credentials.token, "mine");
  assert.equal(c.config.passthroughUser, "ana");
  const bare = withPassthroughClaim(
    { sub: "ana", tenant: "acme", passthrough_token: "forged" },
    undefined,
  );
  // Without the user's token: no credentials at all (never the stored ones), and a query that
  // reads the connection is refused.
  const [withoutToken] = withPassthrough([conn], bare);
  assert.deepEqual(withoutToken.credentials, {});
  assert.throws(() => refuseWithoutPassthroughToken(withoutToken), /x-omnisql-passthrough-token/);
  refuseWithoutPassthroughToken(c);
  const [plain] = withPassthrough([{ ...conn, config: {} }], bare);
  assert.equal(plain.credentials.token, "stored");
});

Deno.test("guardFor() refuses a role or team claim of another type or an unknown value", () => {
  const yaml = policy(
    `SELECT * FROM ${PR} WHERE team_id = user.team_id FOR ALL EXCEPT role:admin`,
    "MASK author WITH 'redact' FOR role:qa",
    `SELECT * FROM ${PR} WHERE additions < user.level FOR role:qa`,
  );
  const withLevel = policySchema(CONNECTORS, { roles: ["qa"], attributes: ["level"] });
  const compiled = compilePolicy(parsePolicy(`roles: [admin]\n${yaml}`, withLevel), {
    tenantId: "acme",
    version: 1,
    schema: withLevel,
  });
  const qa = { sub: "qa@acme", tenant: "acme", team_id: "mobile", level: 5 };
  // A known role and a missing one pass; roles the policy declares are known without a directory.
  compiled.guardFor({ ...qa, role: "qa" }, { maskKey: MASK_KEY });
  compiled.guardFor({ ...qa, role: "admin" }, { maskKey: MASK_KEY });
  compiled.guardFor(qa, { maskKey: MASK_KEY });
  const bad: [Record<string, unknown>, string][] = [
    [{ role: ["qa"] }, "role"],
    [{ role: "QA" }, "role"],
    [{ role: null }, "role"],
    [{ role: 1 }, "role"],
    [{ role: "intern" }, "role"],
    [{ role: "qa", team_id: ["mobile"] }, "team_id"],
    [{ role: "qa", team_id: 7 }, "team_id"],
    [{ role: "qa", email: { a: 1 } }, "email"],
    [{ role: "qa", level: [1] }, "level"],
  ];
  for (const [claims, name] of bad) {
    const user = { ...qa, ...claims } as UserClaims;
    const calls = [
      () => compiled.guardFor(user, { maskKey: MASK_KEY }),
      () => compiled.checkClaims(user),
    ];
    for (const call of calls) {
      assert.throws(
        call,
        (err: unknown) =>
          err instanceof OmniError && err.code === "UNAUTHENTICATED" &&
          err.message.includes(`claim ${name}`) && err.details?.claim === name,
        JSON.stringify(claims),
      );
    }
  }
});

Deno.test("a rule for connector.table covers every connection of that connector", () => {
  const withGh2 = policySchema(CONNECTORS, {
    roles: ["developer", "qa"],
    connections: [{ name: "github", connector: "github" }, { name: "gh2", connector: "github" }],
  });
  const compiled = compilePolicy(
    parsePolicy(
      policy(
        `SELECT * FROM ${PR} WHERE team_id = user.team_id`,
        "MASK github.pull_requests.author WITH 'redact'",
        "DENY TABLE github.pull_requests FOR role:qa",
        "MASK gh2.pull_requests.title WITH 'redact'",
      ),
      withGh2,
    ),
    { tenantId: "acme", version: 1, schema: withGh2 },
  );
  const g = compiled.guardFor(dev, { maskKey: MASK_KEY });
  const out = g.apply("gh2.pull_requests", rows) as typeof rows;
  assert.deepEqual(out.map((r) => r.pr_id), [1]);
  assert.equal(out[0].author, "[HIDDEN]");
  assert.equal(g.rowFilters("gh2.pull_requests")[0].column, "team_id");
  // A rule naming one connection covers that one only.
  const titled = [{ pr_id: 1, team_id: "mobile", title: "t" }];
  assert.equal((g.apply("gh2.pull_requests", titled) as typeof titled)[0].title, "[HIDDEN]");
  assert.equal((g.apply(PR, titled) as typeof titled)[0].title, "t");
  const qa = compiled.guardFor({ ...dev, role: "qa" }, { maskKey: MASK_KEY });
  assert.throws(
    () => qa.check([{ key: "gh2.pull_requests", columns: ["pr_id"] }]),
    /you may not read table gh2\.pull_requests/,
  );
  // A table the compiled policy has not seen (a connection added since) is refused.
  assert.throws(
    () => g.check([{ key: "gh3.pull_requests", columns: ["pr_id"] }]),
    /not yet covered by the policy/,
  );
});

Deno.test("rules may target a data class; an unruled classified column fails closed", () => {
  const classes = policySchema(CONNECTORS, { roles: ["developer", "qa", "admin"] });
  const byClass = compilePolicy(
    parsePolicy(policy("MASK CLASS pii.email WITH 'sha256' FOR ALL EXCEPT role:admin"), classes),
    { tenantId: "acme", version: 1, schema: classes },
  );
  const g = byClass.guardFor(dev, { maskKey: MASK_KEY });
  for (const [table, column] of [[PR, "email"], ["linear.issues", "assignee_email"]]) {
    assert.ok(g.pushdown?.(table).unpushable.includes(column), `${table}.${column}`);
  }
  // A policy that names only github's email column still covers every other email column: the
  // strongest rule of the class that applies to the user (here the mask), never nothing.
  const named = compilePolicy(
    parsePolicy(
      policy(
        "MASK github.pull_requests.email WITH 'sha256' FOR ALL EXCEPT role:admin",
        "BLOCK email FOR role:qa",
      ),
      classes,
    ),
    { tenantId: "acme", version: 1, schema: classes },
  );
  const issues = [{ assignee_email: "ana@acme.example", team: "mobile" }];
  const devView = named.guardFor(dev, { maskKey: MASK_KEY }).apply("linear.issues", issues);
  assert.match(String((devView as typeof issues)[0].assignee_email), /^[0-9a-f]{8}\*{4}@/);
  assert.throws(
    () =>
      named.guardFor({ ...dev, role: "qa" }, { maskKey: MASK_KEY })
        .check([{ key: "salesforce.accounts", columns: ["owner_email"] }]),
    /owner_email.*default for pii\.email/,
  );
  const admin = named.guardFor({ ...dev, role: "admin" }, { maskKey: MASK_KEY });
  assert.equal(
    (admin.apply("linear.issues", issues) as typeof issues)[0].assignee_email,
    "ana@acme.example",
  );
  // Text embedding a person's name (a branch `chloe/mob-12-login`) is hidden from whoever may not
  // see people, as a keyed hash where their rule redacts: equal branches still join.
  const people = compilePolicy(
    parsePolicy(policy("MASK author WITH 'redact' FOR role:qa"), classes),
    { tenantId: "acme", version: 1, schema: classes },
  );
  assert.ok(people.needsMaskKey);
  const qaPeople = people.guardFor({ ...dev, role: "qa" }, { maskKey: MASK_KEY });
  const branches = [{ branch_name: "chloe/mob-12-login", team: "mobile" }];
  const [linearView] = qaPeople.apply("linear.issues", branches) as typeof branches;
  const [jiraView] = qaPeople.apply("jira.issues", branches) as typeof branches;
  const [prView] = qaPeople.apply(PR, [{ branch: "chloe/mob-12-login" }]) as { branch: string }[];
  assert.match(linearView.branch_name, /^[0-9a-f]{16}$/);
  assert.equal(jiraView.branch_name, linearView.branch_name);
  assert.equal(prView.branch, linearView.branch_name);
  assert.ok(qaPeople.pushdown?.("linear.issues").unpushable.includes("branch_name"));
  const devPeople = people.guardFor(dev, { maskKey: MASK_KEY });
  assert.deepEqual(devPeople.apply("linear.issues", branches), branches);
  // A class no column has matches nothing: the rule is refused.
  assert.throws(
    () => parsePolicy(policy("MASK CLASS pii.passport WITH 'redact'"), classes),
    /no column is classified pii\.passport/,
  );
});

Deno.test("an attribute compared with a column takes the column's type, or denies", () => {
  const withClearance = policySchema(CONNECTORS, {
    roles: ["developer"],
    attributes: ["clearance"],
  });
  const yaml = policy(`SELECT * FROM ${PR} WHERE additions <= user.clearance`);
  const guardOf = (clearance: unknown) =>
    compilePolicy(parsePolicy(yaml, withClearance), {
      tenantId: "acme",
      version: 1,
      schema: withClearance,
    }).guardFor({ ...dev, clearance }, { maskKey: MASK_KEY });
  const admitted = (clearance: unknown) =>
    (guardOf(clearance).apply(PR, rows) as typeof rows).map((r) => r.pr_id);
  // As text, "10" <= "5" would hold and "3" <= "10" would not.
  assert.deepEqual(admitted("5"), [1, 2]);
  assert.deepEqual(admitted(5), [1, 2]);
  assert.deepEqual(admitted("10"), [1, 2, 3]);
  assert.deepEqual(guardOf("5").rowFilters(PR), [{ column: "additions", op: "<=", value: 5 }]);
  for (const bad of ["5abc", "", true]) assert.deepEqual(admitted(bad), [], String(bad));
});
