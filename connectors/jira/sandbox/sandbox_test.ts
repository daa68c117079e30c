import assert from "node:assert/strict";
import { findTable, runScan } from "../../sdk/mod.ts";
import { DEMO, demoConnection } from "../_testing.ts";
import { clearJiraCaches } from "../client.ts";
import { jira } from "../mod.ts";
import { type JiraSandbox, startJiraSandbox } from "./mod.ts";
import { failure } from "../../sdk/_testing.ts";

const table = findTable(jira, "issues");
const AUTH = "Basic " + btoa(`${DEMO.acme.email}:${DEMO.acme.apiToken}`);

async function withSandbox(
  fn: (sb: JiraSandbox) => Promise<void>,
  extra: { ratePerMinute?: number } = {},
): Promise<void> {
  clearJiraCaches();
  const sb = await startJiraSandbox({
    org: "acme",
    email: DEMO.acme.email,
    apiToken: DEMO.acme.apiToken,
    ...extra,
  });
  try {
    await fn(sb);
  } finally {
    await sb.close();
  }
}

async function call(sb: JiraSandbox, method: string, path: string, body?: unknown, auth = AUTH) {
  const res = await fetch(sb.url + path, {
    method,
    headers: { authorization: auth, "content-type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  let json: unknown = text;
  try {
    json = JSON.parse(text);
  } catch { /* raw */ }
  return { status: res.status, headers: res.headers, body: json as Record<string, unknown> };
}

const scan = (sb: JiraSandbox, conn = demoConnection(sb.url)) =>
  runScan(jira, table, conn, { predicates: [], columns: ["issue_key"] }, { baseDelayMs: 1 });

Deno.test("sandbox: wrong credentials → 401 with Jira's body; the scan fails with SOURCE_ERROR", async () => {
  await withSandbox(async (sb) => {
    const res = await call(
      sb,
      "GET",
      "/rest/api/3/myself",
      undefined,
      "Basic " + btoa("bot@acme.example:wrong"),
    );
    assert.equal(res.status, 401);
    assert.deepEqual(res.body, {
      errorMessages: ["Client must be authenticated to access this resource."],
      errors: {},
    });
    assert.match(res.headers.get("www-authenticate") ?? "", /^Basic realm=/);
    const conn = demoConnection(sb.url);
    conn.credentials = { email: DEMO.acme.email, apiToken: "nope" };
    const err = await failure(scan(sb, conn));
    assert.equal(err.code, "SOURCE_ERROR");
    assert.match(err.message, /credentials/);
  });
});

Deno.test("sandbox: the removed search API answers 410", async () => {
  await withSandbox(async (sb) => {
    for (const method of ["GET", "POST"]) {
      const res = await call(
        sb,
        method,
        "/rest/api/3/search?jql=project%3DMOB",
        method === "POST" ? {} : undefined,
      );
      assert.equal(res.status, 410);
      assert.match((res.body.errorMessages as string[])[0], /\/rest\/api\/3\/search\/jql/);
    }
  });
});

Deno.test("sandbox: 429 with Jira's headers; the scan fails with RATE_LIMIT_EXHAUSTED", async () => {
  await withSandbox(async (sb) => {
    for (let i = 0; i < 8; i++) {
      assert.equal((await call(sb, "GET", "/rest/api/3/myself")).status, 200);
    }
    const near = await call(sb, "GET", "/rest/api/3/myself");
    assert.equal(near.headers.get("x-ratelimit-nearlimit"), "true");
    await call(sb, "GET", "/rest/api/3/myself");
    const res = await call(sb, "GET", "/rest/api/3/myself");
    assert.equal(res.status, 429);
    assert.equal(res.headers.get("x-ratelimit-remaining"), "0");
    assert.equal(res.headers.get("x-ratelimit-limit"), "10");
    assert.equal(res.headers.get("ratelimit-reason"), "jira-quota-global-based");
    assert.ok(Date.parse(res.headers.get("x-ratelimit-reset")!) > Date.now());
    const retryAfter = Number(res.headers.get("retry-after"));
    assert.ok(retryAfter >= 1 && retryAfter <= 60);
    const err = await failure(scan(sb));
    assert.equal(err.code, "RATE_LIMIT_EXHAUSTED");
    assert.ok(err.retryAfterMs! > 0 && err.retryAfterMs! <= 60_000);
  }, { ratePerMinute: 10 });
});

Deno.test("connector: an injected 429 maps Retry-After to retryAfterMs", async () => {
  await withSandbox(async (sb) => {
    sb.inject({ status: 429, retryAfterS: 7, path: /search\/jql/ });
    const err = await failure(scan(sb));
    assert.equal(err.code, "RATE_LIMIT_EXHAUSTED");
    assert.equal(err.retryAfterMs, 7000);
  });
});

Deno.test("connector: an injected 503 once is retried and the scan succeeds", async () => {
  await withSandbox(async (sb) => {
    sb.inject({ status: 503, times: 1, path: /search\/jql/ });
    const { rows, calls } = await scan(sb);
    assert.equal(rows.length, 300);
    assert.equal(calls, 5); // two pages per project, and the retry
  });
});

Deno.test("connector: a malformed JSON answer is a SOURCE_ERROR", async () => {
  await withSandbox(async (sb) => {
    sb.inject({ body: "{not json", path: /search\/jql/ });
    assert.equal((await failure(scan(sb))).code, "SOURCE_ERROR");
    sb.inject({ body: JSON.stringify({ values: [] }), path: /search\/jql/ });
    const err = await failure(scan(sb));
    assert.equal(err.code, "SOURCE_ERROR");
    assert.match(err.message, /malformed/);
  });
});

Deno.test("sandbox: search defaults to id-only issues, 50 per page; tokens are tied to the JQL", async () => {
  await withSandbox(async (sb) => {
    const a = await call(
      sb,
      "GET",
      "/rest/api/3/search/jql?jql=" + encodeURIComponent("project = MOB"),
    );
    assert.equal(a.status, 200);
    const issues = a.body.issues as Record<string, unknown>[];
    assert.equal(issues.length, 50);
    assert.equal(issues[0].fields, undefined);
    assert.equal(issues[0].key, undefined);
    assert.equal(a.body.isLast, false);
    assert.equal(a.body.total, undefined);
    const token = a.body.nextPageToken as string;
    const b = await call(sb, "POST", "/rest/api/3/search/jql", {
      jql: "project = WEB",
      nextPageToken: token,
    });
    assert.equal(b.status, 400);
    const c = await call(sb, "POST", "/rest/api/3/search/jql", {
      jql: "project = MOB",
      nextPageToken: token,
      maxResults: 1000,
      fields: ["key", "status", "created", "customfield_10016"],
    });
    assert.equal((c.body.issues as unknown[]).length, 100);
    assert.equal(c.body.isLast, true);
    assert.equal(c.body.nextPageToken, undefined);
    const issue = (c.body.issues as { key: string; fields: Record<string, unknown> }[])[0];
    assert.match(issue.key, /^MOB-/);
    assert.deepEqual(Object.keys(issue.fields).sort(), ["created", "customfield_10016", "status"]);
    assert.match(issue.fields.created as string, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.000\+0000$/);
    const ids = await call(
      sb,
      "GET",
      "/rest/api/3/search/jql?jql=project%3DMOB&fields=id&maxResults=5000",
    );
    assert.equal((ids.body.issues as unknown[]).length, 150);
  });
});

Deno.test("sandbox: JQL errors are 400s with Jira's messages, never 500", async () => {
  await withSandbox(async (sb) => {
    const cases: [string, RegExp][] = [
      ["", /Unbounded JQL queries are not allowed here/],
      ["order by key", /Unbounded JQL/],
      [
        'status = "x\' OR project = SECRET"',
        /The value 'x' OR project = SECRET' does not exist for the field 'status'\./,
      ],
      ["project = SECRET", /does not exist for the field 'project'/],
      ["project = MOB AND", /Error in the JQL Query/],
      ["project MOB", /Expecting operator/],
      ['project = "MOB', /has not been completed/],
      ["cf[10050] = x", /The operator '=' is not supported by the 'Branch' field/],
      ["nosuchfield = 1", /Field 'nosuchfield' does not exist/],
      ["created > tomorrowish", /Date value 'tomorrowish'/],
      ["key = MOB-999", /An issue with key 'MOB-999' does not exist/],
      [
        "project = MOB ORDER BY key, created, updated, status, summary, project, assignee, key",
        /at most 7/,
      ],
      ['summary ~ ""', /empty string/],
      ["((((", /Error in the JQL Query/],
    ];
    for (const [jql, message] of cases) {
      const res = await call(sb, "POST", "/rest/api/3/search/jql", { jql });
      assert.equal(res.status, 400, jql);
      assert.match((res.body.errorMessages as string[]).join(" "), message, jql);
    }
    const garbage = await fetch(sb.url + "/rest/api/3/search/jql", {
      method: "POST",
      headers: { authorization: AUTH },
      body: "{{{",
    });
    assert.equal(garbage.status, 400);
    await garbage.body?.cancel();
  });
});

Deno.test("sandbox: ~ is a tokenised word and phrase search, not substring", async () => {
  await withSandbox(async (sb) => {
    const count = async (jql: string) =>
      ((await call(sb, "POST", "/rest/api/3/search/jql", {
        jql,
        maxResults: 100,
        fields: ["summary"],
      })).body
        .issues as unknown[]).length;
    const all = await count('project = MOB AND summary ~ "login"');
    assert.ok(all > 0);
    assert.equal(await count('project = MOB AND summary ~ "logi"'), 0);
    assert.equal(await count('project = MOB AND summary ~ "logi*"'), all);
    assert.equal(await count('project = MOB AND summary ~ "LOGIN flow"'), all);
    assert.equal(await count('project = MOB AND summary ~ "\\"flow login\\""'), 0);
  });
});

Deno.test("sandbox: /field, /status and /myself describe the site", async () => {
  await withSandbox(async (sb) => {
    const fields = (await call(sb, "GET", "/rest/api/3/field")).body as unknown as {
      id: string;
      name: string;
    }[];
    assert.ok(
      fields.some((f) => f.id === "customfield_10016" && f.name === "Story point estimate"),
    );
    assert.ok(fields.some((f) => f.id === "customfield_10050" && f.name === "Branch"));
    const statuses = (await call(sb, "GET", "/rest/api/3/status")).body as unknown as {
      name: string;
      statusCategory: { key: string };
    }[];
    assert.deepEqual(statuses.map((s) => s.name), ["To Do", "In Progress", "In Review", "Done"]);
    assert.equal(statuses[3].statusCategory.key, "done");
    const me = await call(sb, "GET", "/rest/api/3/myself");
    assert.equal(me.body.emailAddress, DEMO.acme.email);
    sb.reset();
    assert.equal(sb.requests.length, 0);
  });
});
