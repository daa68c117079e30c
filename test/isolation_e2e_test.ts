/**
 * Execution isolation end to end, through the edge: a runaway query answers QUERY_TIMEOUT at its
 * deadline and is audited with that code while other tenants keep being served; an out-of-memory
 * query answers RESOURCE_EXHAUSTED; cancelling an async job stops its DuckDB work; `/metrics`
 * shows the pool.
 */
import assert from "node:assert/strict";
import { auditRows, cloneTenant, startReliabilityStack } from "./_reliability.ts";
import { postQuery, tokenFor } from "./_stack.ts";

const opts = { sanitizeResources: false, sanitizeOps: false };
const RUNAWAY =
  "WITH RECURSIVE t(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM t) SELECT count(*) AS c FROM t";

Deno.test(
  "runaway and out-of-memory queries are stopped, answered and audited",
  opts,
  async (t) => {
    // A spare, as in production: a stopped engine is replaced before the next query needs it.
    const stack = await startReliabilityStack({ jobs: { pollMs: 100 }, engines: { spares: 1 } });
    try {
      const acme = await cloneTenant(stack, "acme");
      const dev = await tokenFor(stack, acme, "dev@acme");
      const admin = await tokenFor(stack, acme, "admin@acme");
      const globex = await tokenFor(stack, "globex", "dev@globex");

      // Engines start in about a second: a cold one would spend the runaway's deadline starting.
      await Promise.all([stack.engines.us.warm(), stack.engines.eu.warm()]);

      await t.step("a runaway gets QUERY_TIMEOUT; another tenant is served meanwhile", async () => {
        const runaway = postQuery(stack.edgeUrl, dev, {
          sql: RUNAWAY,
          metadata: { max_staleness_ms: 0, timeout_ms: 3000 },
        });
        const other = await postQuery(stack.edgeUrl, globex, {
          sql: "SELECT count(*) AS n FROM github.pull_requests",
          metadata: { max_staleness_ms: 0 },
        });
        assert.equal(other.status, 200, JSON.stringify(other.body));
        const stopped = await runaway;
        const stats = stack.engines.us.stats();
        assert.ok(stats.timeouts >= 1, `it was stopped inside an engine: ${JSON.stringify(stats)}`);
        assert.equal(stopped.status, 504, JSON.stringify(stopped.body));
        const error = stopped.body.error as { code: string; details: Record<string, number> };
        assert.equal(error.code, "QUERY_TIMEOUT");
        assert.equal(error.details.timeout_ms, 3000);
        assert.ok(error.details.elapsed_ms >= 3000);
        const audited = await auditRows(stack, stopped.body.trace_id as string);
        assert.equal(audited.length, 1);
        assert.equal(audited[0].errorCode, "QUERY_TIMEOUT");
        assert.equal(audited[0].status, 504);
        const after = await postQuery(stack.edgeUrl, dev, { sql: "SELECT 42 AS x" });
        assert.deepEqual(after.body.rows, [{ x: 42 }]);
      });

      await t.step("a caller who leaves stops the query; the zone is not blamed", async () => {
        const metric = async () => {
          const text = await (await fetch(`${stack.edgeUrl}/metrics`)).text();
          return text.split("\n").filter((l) =>
            l.startsWith("omnisql_queries_total") && l.includes("REGION_UNAVAILABLE")
          );
        };
        const before = await metric();
        const gone = await fetch(`${stack.edgeUrl}/v1/query`, {
          method: "POST",
          headers: { authorization: `Bearer ${dev}`, "content-type": "application/json" },
          body: JSON.stringify({
            sql: RUNAWAY,
            // A deadline far beyond the wait below: only the cancel can stop it in time.
            metadata: { trace_id: "gone-1", max_staleness_ms: 0, timeout_ms: 120_000 },
          }),
          signal: AbortSignal.timeout(500),
        }).then(() => "answered", (err: Error) => err.name);
        assert.equal(gone, "TimeoutError");
        for (let i = 0; i < 200 && stack.engines.us.stats().busy > 0; i++) {
          await new Promise((r) => setTimeout(r, 50));
        }
        assert.equal(stack.engines.us.stats().busy, 0, "the zone stopped the query");
        let audited: Awaited<ReturnType<typeof auditRows>> = [];
        for (let i = 0; i < 100 && audited.length === 0; i++) {
          await new Promise((r) => setTimeout(r, 50));
          audited = await auditRows(stack, "gone-1");
        }
        assert.equal(audited.length, 1, JSON.stringify(audited));
        assert.equal(audited[0].errorCode, "INVALID_REQUEST", JSON.stringify(audited));
        assert.deepEqual(await metric(), before);
      });

      await t.step("an out-of-memory query gets RESOURCE_EXHAUSTED, not a 500", async () => {
        const res = await postQuery(stack.edgeUrl, dev, {
          sql: "SELECT length(repeat('x', 2000000000)) AS n",
        });
        assert.equal(res.status, 422, JSON.stringify(res.body));
        const error = res.body.error as { code: string; message: string };
        assert.equal(error.code, "RESOURCE_EXHAUSTED");
        assert.match(error.message, /memory limit of \d+ MiB.*async/);
      });

      await t.step("cancelling an async job stops its engine work", async () => {
        const submitted = await postQuery(stack.edgeUrl, admin, {
          sql: RUNAWAY,
          metadata: { async: true, max_staleness_ms: 0, timeout_ms: 30_000 },
        });
        assert.equal(submitted.status, 202);
        const id = submitted.body.job_id as string;
        const view = async (method = "GET") => {
          const res = await fetch(`${stack.edgeUrl}/v1/jobs/${id}`, {
            method,
            headers: { authorization: `Bearer ${admin}` },
          });
          return await res.json();
        };
        for (let i = 0; i < 100 && (await view()).status !== "running"; i++) {
          await new Promise((r) => setTimeout(r, 100));
        }
        const pool = stack.engines.us;
        for (let i = 0; i < 100 && pool.stats().busy === 0; i++) {
          await new Promise((r) => setTimeout(r, 100));
        }
        assert.equal(pool.stats().busy, 1, "the job's query is in DuckDB");
        assert.equal((await view("DELETE")).status, "cancelled");
        for (let i = 0; i < 100 && pool.stats().busy > 0; i++) {
          await new Promise((r) => setTimeout(r, 50));
        }
        assert.equal(pool.stats().busy, 0, "its engine was stopped");
      });

      await t.step("/metrics shows the engine pool", async () => {
        const text = await (await fetch(`${stack.workerUrls.us}/metrics`)).text();
        assert.match(text, /omnisql_engine_pool_size\{zone="us"\} \d+/);
        assert.match(text, /omnisql_engine_timeouts_total\{zone="us"\} [1-9]/);
        assert.match(text, /omnisql_engine_replacements_total\{zone="us"\} [1-9]/);
        assert.match(text, /omnisql_engine_queue_length\{zone="us"\} 0/);
      });
    } finally {
      await stack.close();
    }
  },
);
