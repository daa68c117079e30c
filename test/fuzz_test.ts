/**
 * Fuzz: random and mutated SQL, JSON bodies and headers against the edge, seeded and bounded in
 * time (`FUZZ_MS`, default 10 s; `FUZZ_SEED` replays a run). The only answers allowed are 2xx and
 * the vocabulary's codes with their own status; the process keeps answering and its memory stays
 * bounded.
 */
import assert from "node:assert/strict";
import { ERROR_STATUS } from "../src/errors.ts";
import {
  cloneTenant,
  envMs,
  memoryMb,
  prng,
  startReliabilityStack,
  UNBOUNDED_BUDGETS,
  VOCABULARY,
} from "./_reliability.ts";
import { postQuery, tokenFor } from "./_stack.ts";
import { queryDoors } from "./_doors.ts";

const opts = { sanitizeResources: false, sanitizeOps: false };

const SEEDS = [
  "SELECT pr_id, title FROM github.pull_requests WHERE status = 'merged' LIMIT 5",
  "SELECT gh.pr_id, ji.issue_key FROM github.pull_requests gh JOIN jira.issues ji ON gh.branch = ji.branch_name WHERE ji.status = 'In Progress'",
  "SELECT author, count(*) AS n FROM github.pull_requests GROUP BY author ORDER BY n DESC",
  "WITH t AS (SELECT issue_key, story_points FROM jira.issues) SELECT * FROM t WHERE story_points > 3",
  "EXPLAIN SELECT * FROM jira.issues WHERE status != 'Done'",
  "SELECT 1",
];
const TOKENS = [
  "SELECT",
  "FROM",
  "WHERE",
  "JOIN",
  "ON",
  "(",
  ")",
  ",",
  "'",
  '"',
  ";",
  "--",
  "/*",
  "*/",
  "*",
  "UNION",
  "DROP TABLE x",
  "github.pull_requests",
  "jira.issues",
  "nope.nothing",
  "NULL",
  "1e308",
  "\u0000",
  "\u{1F600}",
  "$1",
  "::",
  "INSERT",
  "COPY",
  "read_csv('/etc/passwd')",
  "EXPLAIN",
];

function assertDepthLimit(error: unknown): void {
  const e = error as { code?: string; details?: { limit?: string } } | undefined;
  assert.equal(e?.code, "INVALID_REQUEST", JSON.stringify(error));
  assert.match(String(e?.details?.limit), /^max_(nesting|expression)_depth$/);
}

Deno.test("fuzzed requests get 2xx or a vocabulary error, never a 500", opts, async () => {
  const seed = Number(Deno.env.get("FUZZ_SEED") ?? 20_240_607);
  const budgetMs = envMs("FUZZ_MS", 10_000);
  const rand = prng(seed);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)];
  const int = (n: number) => Math.floor(rand() * n);

  const mutate = (text: string): string => {
    let out = text;
    for (let i = 0, n = 1 + int(4); i < n; i++) {
      const at = int(out.length + 1);
      switch (int(5)) {
        case 0:
          out = out.slice(0, at) + out.slice(at + 1 + int(8));
          break;
        case 1:
          out = out.slice(0, at) + pick(TOKENS) + " " + out.slice(at);
          break;
        case 2:
          out = out.slice(0, at) + String.fromCharCode(int(0x3000)) + out.slice(at);
          break;
        case 3:
          out = out + " " + out.slice(int(out.length));
          break;
        default:
          out = "(".repeat(int(3000)) + out;
      }
    }
    return out;
  };
  /** Nesting of every kind the parser or our tree walks recurse on, mixed, up to 8,000 deep. */
  const deepSql = (): string => {
    const n = 1 + int(8000);
    const terms = (op: string, leaf: string) => Array(n).fill(leaf).join(op);
    switch (int(9)) {
      case 0:
        return "SELECT " + "NOT ".repeat(n) + "TRUE";
      case 1:
        return "SELECT " + pick(["- ", "+", "~", "-+ "]).repeat(n) + "1";
      case 2:
        return "SELECT " + terms(pick([" + ", " * ", " || "]), "1");
      case 3:
        return "SELECT 1 WHERE " + terms(pick([" AND ", " OR "]), "TRUE");
      case 4:
        return "SELECT " + "CASE WHEN TRUE THEN ".repeat(n) + "1" + " END".repeat(n);
      case 5:
        return "SELECT " + `${pick(["abs", "lower", "coalesce"])}(`.repeat(n) + "1" +
          ")".repeat(n);
      case 6:
        return "SELECT " + pick(["[", "{'a': ", "(", "(SELECT "]).repeat(n) + "1";
      case 7:
        return "SELECT " +
          Array.from({ length: n }, () => pick(["NOT ", "- ", "(", "CASE WHEN ", "abs("]))
            .join("") +
          "1";
      default:
        return pick(SEEDS).replace("SELECT ", "SELECT " + "NOT ".repeat(n) + "TRUE AS x, ");
    }
  };
  const randomSql = () =>
    rand() < 0.15
      ? deepSql()
      : rand() < 0.6
      ? mutate(pick(SEEDS))
      : Array.from({ length: 1 + int(12) }, () => pick(TOKENS)).join(" ");
  const randomJson = (depth = 0): unknown => {
    switch (depth > 3 ? int(4) : int(7)) {
      case 0:
        return null;
      case 1:
        return rand() * 1e12 - 5e11;
      case 2:
        return randomSql();
      case 3:
        return rand() < 0.5;
      case 4:
        return Array.from({ length: int(4) }, () => randomJson(depth + 1));
      default:
        return Object.fromEntries(
          Array.from({ length: int(4) }, () => [
            pick(["sql", "metadata", "timeout_ms", "async", "trace_id", "x"]),
            randomJson(depth + 1),
          ]),
        );
    }
  };
  const randomBody = (): string => {
    const metadata = {
      max_staleness_ms: pick([undefined, 0, 60_000, -1, "x", null]),
      timeout_ms: pick([undefined, 1, 2_000, 10_000, 1e9, "soon"]),
      trace_id: pick([undefined, "fuzz", "bad id!", "x".repeat(200)]),
      async: pick([undefined, false, "yes"]),
    };
    switch (int(4)) {
      case 0:
        return JSON.stringify({ sql: randomSql(), metadata });
      case 1:
        return JSON.stringify(randomJson());
      case 2:
        return mutate(JSON.stringify({ sql: pick(SEEDS), metadata }));
      default:
        return JSON.stringify({ sql: pick(SEEDS), metadata });
    }
  };

  const stack = await startReliabilityStack();
  try {
    const tenant = await cloneTenant(stack, "acme", { rateLimits: UNBOUNDED_BUDGETS });
    const token = await tokenFor(stack, tenant, "admin@acme");
    const randomHeaders = (): Record<string, string> => {
      const h: Record<string, string> = { "content-type": "application/json" };
      const auth = int(10);
      if (auth < 7) h.authorization = `Bearer ${token}`;
      else if (auth === 7) {
        h.authorization = `Bearer ${mutate(token).replace(/[^\x21-\x7e]/g, "x")}`;
      } else if (auth === 8) h.authorization = pick(["Basic abc", "Bearer", "", "Bearer a.b.c"]);
      if (rand() < 0.2) h["content-type"] = pick(["text/plain", "application/x-www-form", ""]);
      if (rand() < 0.2) h["x-trace-id"] = pick(["t-1", "\t", "x".repeat(300)]);
      return h;
    };

    // The deep shapes that used to overflow the stack, through every door: edge, the zone's own
    // endpoint and EXPLAIN answer 400 naming the limit; an async job fails with the same error.
    const deep = [
      "SELECT " + "NOT ".repeat(5000) + "TRUE",
      "SELECT " + "- ".repeat(5000) + "1",
      "SELECT " + Array(8000).fill("1").join(" + "),
      "SELECT 1 WHERE " + Array(8000).fill("TRUE").join(" AND "),
      "SELECT " + "CASE WHEN TRUE THEN ".repeat(2000) + "1" + " END".repeat(2000),
    ];
    for (const sql of deep) {
      for (const [url, body] of queryDoors(stack, sql)) {
        const res = await postQuery(url, token, body);
        assert.equal(res.status, 400, `${sql.slice(0, 40)}…: ${JSON.stringify(res.body)}`);
        assertDepthLimit(res.body.error);
      }
      const submitted = await postQuery(stack.edgeUrl, token, { sql, metadata: { async: true } });
      assert.equal(submitted.status, 202, JSON.stringify(submitted.body));
      let job: Record<string, unknown> = { status: "queued" };
      for (let i = 0; i < 100 && ["queued", "running"].includes(String(job.status)); i++) {
        await new Promise((r) => setTimeout(r, 50));
        job = await fetch(`${stack.edgeUrl}/v1/jobs/${submitted.body.job_id}`, {
          headers: { authorization: `Bearer ${token}` },
        }).then((r) => r.json());
      }
      assert.equal(job.status, "failed", JSON.stringify(job));
      assertDepthLimit(job.error);
    }

    const started = Date.now();
    let memoryBaseline = 0;
    let sent = 0;
    const bad: string[] = [];
    while (Date.now() - started < budgetMs) {
      const method = rand() < 0.9 ? "POST" : pick(["GET", "DELETE", "PUT"]);
      const path = rand() < 0.9
        ? "/v1/query"
        : pick(["/v1/jobs/" + mutate("abc"), "/v1/catalog", "/v1/%ZZ", "/v1/query/../x"]);
      const body = method === "POST" || method === "PUT" ? randomBody() : undefined;
      const res = await fetch(stack.edgeUrl + path, { method, headers: randomHeaders(), body });
      const text = await res.text();
      sent++;
      if (sent === 20) memoryBaseline = memoryMb();
      if (res.status < 300) continue;
      let code: string | undefined;
      try {
        code = JSON.parse(text)?.error?.code;
      } catch { /* not JSON: reported below */ }
      const ok = code !== undefined && VOCABULARY.has(code) &&
        ERROR_STATUS[code as keyof typeof ERROR_STATUS] === res.status;
      if (!ok) {
        bad.push(`${res.status} ${text.slice(0, 200)} ← ${method} ${path} ${body?.slice(0, 200)}`);
      }
    }
    assert.deepEqual(bad, [], `seed ${seed}: answers outside the vocabulary`);
    const health = await fetch(`${stack.edgeUrl}/healthz`);
    assert.equal(health.status, 200, "the edge stopped answering");
    await health.body?.cancel();
    const growth = memoryMb() - memoryBaseline;
    console.log(
      `fuzz: seed ${seed}, ${sent} requests in ${Date.now() - started} ms, memory +${
        growth.toFixed(0)
      } MB`,
    );
    assert.ok(growth < 512, `memory grew ${growth.toFixed(0)} MB over the run`);
  } finally {
    await stack.close();
  }
});
