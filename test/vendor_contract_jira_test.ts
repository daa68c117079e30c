/**
 * Contract test on Jira Cloud's own examples: the issues, field list, statuses and error bodies
 * of Atlassian's published OpenAPI description (`test/contract/fixtures/jira/README.md` says
 * where each came from), served over the connector's real protocol — `POST
 * /rest/api/3/search/jql` paged by `nextPageToken` until `isLast`, Jira's error collections,
 * `Retry-After` on 429 and 503. The connector must give the right rows and errors.
 */
import assert from "node:assert/strict";
import { jira } from "../connectors/jira/mod.ts";
import { clearJiraCaches } from "../connectors/jira/client.ts";
import { type Connection, findTable, runScan } from "../connectors/sdk/mod.ts";
import { fixture, type Replayed, startReplay } from "./contract/_replay.ts";
import { failure } from "../connectors/sdk/_testing.ts";

type Json = Record<string, unknown>;
interface SearchBody {
  jql: string;
  fields: string[];
  maxResults: number;
  nextPageToken?: string;
}

Deno.test("contract: Jira's published examples give the right rows, pages, retries and errors", async () => {
  clearJiraCaches();
  const [search, bulk, dictionaries, errors] = await Promise.all([
    fixture<{ response: { isLast: boolean; issues: Json[] } }>("jira", "search_jql.json"),
    fixture<{ issues: Json[] }>("jira", "issues_bulkfetch.json"),
    fixture<{ field: Json[]; status: Json[]; changelog_bulkfetch_nextPageToken: string }>(
      "jira",
      "dictionaries.json",
    ),
    fixture<Record<"bad_jql" | "forbidden" | "rate_limited" | "unavailable", Replayed>>(
      "jira",
      "errors.json",
    ),
  ]);
  const token = dictionaries.changelog_bulkfetch_nextPageToken;
  // One issue gets a status and a creation time from the same description's other examples
  // (GET /rest/api/3/status, a comment's `created`): the search examples carry neither.
  const [first, ...rest] = bulk.issues;
  const firstPage = [
    {
      ...first,
      fields: {
        ...(first.fields as Json),
        status: dictionaries.status[0],
        created: "2021-01-17T12:34:00.000+0000",
      },
    },
    ...rest,
  ];
  /** Failures to answer, in order, before the normal answers resume. */
  const faults: Replayed[] = [];
  let fieldsFault: Replayed | undefined;
  const replay = startReplay((req) => {
    if (req.path === "/rest/api/3/field") return fieldsFault ?? { body: dictionaries.field };
    if (req.path === "/rest/api/3/status") return { body: dictionaries.status };
    if (req.method !== "POST" || req.path !== "/rest/api/3/search/jql") return errors.forbidden;
    const fault = faults.shift();
    if (fault) return fault;
    const body = req.body as SearchBody;
    // The first page ends with a continuation token; the documented example is the last page.
    if (body.nextPageToken === undefined) {
      return { body: { issues: firstPage, nextPageToken: token, isLast: false } };
    }
    if (body.nextPageToken === token) return { body: search.response };
    return errors.bad_jql;
  });
  const connection: Connection = {
    id: "contract-jira",
    tenantId: "t",
    connector: "jira",
    name: "jira",
    baseUrl: replay.url,
    credentials: { email: "bot@example.com", apiToken: "contract" },
    config: { projects: ["EX"], projectTeams: { EX: "example" } },
  };
  const table = findTable(jira, "issues");
  const columns = table.columns.map((c) => c.name);
  const searches = () => replay.seen.filter((r) => r.path === "/rest/api/3/search/jql");
  // Every scan here is unfiltered: only its columns and retry options vary.
  const scan = (columns: string[], options: Parameters<typeof runScan>[4]) =>
    runScan(jira, table, connection, { predicates: [], columns }, options);
  try {
    const all = await scan(columns, { maxRetries: 0 });
    assert.equal(all.pages, 2);
    const [sent, next] = searches().map((r) => r.body as SearchBody);
    assert.equal(sent.jql, 'project in ("EX")');
    assert.equal(sent.nextPageToken, undefined);
    assert.deepEqual({ ...next, nextPageToken: undefined }, { ...sent, nextPageToken: undefined });
    assert.equal(next.nextPageToken, token, "the next page must send the token it was given");
    // The site has no Branch or Story point field (the published field list): neither is asked.
    assert.ok(!sent.fields.some((f) => f.startsWith("customfield_") || f.startsWith("<")));
    assert.equal(replay.seen.filter((r) => r.path === "/rest/api/3/field").length, 1);
    const auth = searches()[0].headers.get("authorization");
    assert.equal(auth, `Basic ${btoa("bot@example.com:contract")}`);

    const mia = {
      assignee: "Mia Krystof",
      assignee_email: "mia@example.com",
      assignee_account_id: "5b10a2844c20165700ede21g",
    };
    const none = { branch_name: null, story_points: null };
    assert.deepEqual(all.rows.map((r) => ({ ...r })), [
      {
        issue_key: "EX-1",
        id: "10002",
        summary: "My first example issue",
        status: "In Progress",
        status_category: "in-flight",
        ...mia,
        ...none,
        project: "EX",
        team: "example",
        created: "2021-01-17T12:34:00.000Z",
        updated: null,
      },
      {
        issue_key: "EX-2",
        id: "10005",
        summary: "My second example issue",
        status: null,
        status_category: null,
        ...mia,
        ...none,
        // The issue's own project field wins over its key's prefix; ABC has no team.
        project: "ABC",
        team: null,
        created: null,
        updated: null,
      },
      {
        issue_key: "EX-4",
        id: "10005",
        summary: "My fourth example issue",
        status: null,
        status_category: null,
        ...mia,
        ...none,
        project: "MKY",
        team: null,
        created: null,
        updated: null,
      },
      {
        issue_key: "ED-1",
        id: "10002",
        summary: null,
        status: null,
        status_category: null,
        assignee: null,
        assignee_email: null,
        assignee_account_id: null,
        ...none,
        project: "EX",
        team: "example",
        created: null,
        // The published example gives `"updated": 1`, not a Jira time: NULL, not a crash.
        updated: null,
      },
    ]);

    // A pushed status is checked against the site's statuses and sent as JQL.
    const byStatus = await runScan(jira, table, connection, {
      predicates: [{ column: "status", op: "=", value: "In Progress" }],
      columns: ["issue_key"],
    }, { maxRetries: 0 });
    assert.equal(replay.seen.filter((r) => r.path === "/rest/api/3/status").length, 1);
    assert.match((searches().at(-1)!.body as SearchBody).jql, /status = "In Progress"/);
    // The replay does not filter (Jira would); the pages still arrive whole.
    assert.equal(byStatus.rows.length, 4);

    // 429 and 503 with `Retry-After` are waited out and retried; the rows are whole.
    faults.push(errors.rate_limited, errors.unavailable);
    const before = searches().length;
    const retried = await scan(["issue_key"], {
      maxRetries: 2,
      baseDelayMs: 1,
      deadline: Date.now() + 60_000,
    });
    assert.deepEqual(retried.rows.map((r) => r.issue_key), ["EX-1", "EX-2", "EX-4", "ED-1"]);
    assert.equal(searches().length - before, 4, "two failed answers, then two pages");

    // Without time to wait, a 429 is a spent budget, not a wrong answer.
    faults.push(errors.rate_limited);
    const spent = await failure(scan(["issue_key"], { maxRetries: 0 }));
    assert.equal(spent.code, "RATE_LIMIT_EXHAUSTED");

    // Jira's error collection: a permanent 400 or 403 is a SOURCE_ERROR with the upstream
    // status and message, never retried.
    faults.push(errors.bad_jql);
    const sentBefore = searches().length;
    const bad = await failure(scan(["issue_key"], { maxRetries: 2, baseDelayMs: 1 }));
    assert.equal(searches().length - sentBefore, 1, "a permanent error is not retried");
    assert.equal(bad.code, "SOURCE_ERROR");
    assert.equal(bad.details?.status, 400);
    assert.match(bad.message, /Field 'universe' does not exist/);

    clearJiraCaches();
    fieldsFault = errors.forbidden;
    const denied = await failure(scan(["branch_name"], { maxRetries: 2, baseDelayMs: 1 }));
    assert.equal(denied.code, "SOURCE_ERROR");
    assert.equal(denied.details?.status, 403);
    assert.match(denied.message, /Only Jira administrators can access fields\./);
  } finally {
    await replay.close();
    clearJiraCaches();
  }
});
