/**
 * `deno task cluster` end to end: every role its own process on real Postgres and Redis. A result
 * cached through one edge is a hit through the other; identical cold queries on the two `us`
 * instances make one set of API calls; an async job whose instance is killed mid-job is taken
 * over once its lease expires, exactly once; a user budget is one count wherever queries enter.
 */
import assert from "node:assert/strict";
import postgres from "postgres";
import { waitHealthy } from "../cluster/processes.ts";
import { forgetClusterSecrets, readClusterSecrets } from "../cluster/secrets.ts";
import { DevIssuer } from "../src/auth/dev_issuer.ts";
import { scratchDatabase } from "../src/catalog/testing.ts";
import { DEV_ISSUER } from "../src/config.ts";

const opts = { sanitizeOps: false, sanitizeResources: false };
const PORT = freePortBlock(60);
const local = (p: number) => `http://127.0.0.1:${p}`;
const serverUrl = Deno.env.get("DATABASE_URL") ?? "postgres://postgres@127.0.0.1:5432/test";

/**
 * A base port whose next `size` ports are free now, so that the cluster's fixed offsets (edges,
 * workers, bridge, sandboxes) clash with nothing else running on the machine.
 */
function freePortBlock(size: number): number {
  for (let attempt = 0; attempt < 50; attempt++) {
    const base = 20_000 + Math.floor(Math.random() * 400) * 100;
    const held: Deno.Listener[] = [];
    try {
      for (let p = base; p < base + size; p++) {
        held.push(Deno.listen({ hostname: "127.0.0.1", port: p }));
      }
      return base;
    } catch {
      // taken: try another block
    } finally {
      for (const listener of held) listener.close();
    }
  }
  throw new Error("no block of free ports found");
}

async function startCluster() {
  const scratch = await scratchDatabase(serverUrl, "omnisql_cluster_e2e");
  const databaseUrl = scratch.url;
  const log: string[] = [];
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "cluster/main.ts"],
    env: {
      PORT: `${PORT}`,
      DATABASE_URL: databaseUrl,
      // Slow apps, so that queries and jobs are still running when the test acts.
      SANDBOX_LATENCY_MS: "600",
      OMNISQL_JOB_LEASE_MS: "2000",
      OMNISQL_ENGINES: "1",
      // Nothing here is timed: engines skip their 2 s warm-up.
      OMNISQL_ENGINE_WARMUP_MS: "0",
    },
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  for (const stream of [child.stdout, child.stderr]) {
    (async () => {
      for await (const chunk of stream.pipeThrough(new TextDecoderStream())) log.push(chunk);
    })().catch(() => {});
  }
  const close = async () => {
    try {
      child.kill("SIGTERM");
    } catch { /* gone */ }
    // The cluster stops its roles on SIGTERM; one that hangs is killed rather than the suite.
    const stopped = await Promise.race([
      child.status.then(() => true),
      new Promise<false>((r) => setTimeout(() => r(false), 30_000)),
    ]);
    if (!stopped) {
      child.kill("SIGKILL");
      await child.status;
    }
    await scratch.drop();
    await forgetClusterSecrets(databaseUrl);
  };
  try {
    for (const p of [PORT, PORT + 1, PORT + 10, PORT + 11, PORT + 20]) {
      await waitHealthy(`${local(p)}/healthz`, 240_000);
    }
  } catch (err) {
    console.error(log.join("").slice(-4000));
    await close();
    throw err;
  }
  const secrets = await readClusterSecrets(databaseUrl);
  const issuer = await DevIssuer.fromSecret(secrets!.DEV_ISSUER_SECRET, DEV_ISSUER, "omnisql");
  const db = postgres(databaseUrl, { max: 1, onnotice: () => {} });
  return {
    token: (tenant: string, sub: string) => issuer.mint({ sub, tenant }),
    db,
    log,
    async close() {
      await db.end();
      await close();
    },
  };
}

async function query(port: number, token: string, sql: string, metadata: object) {
  // Bounded: a hung instance fails the step instead of stalling the suite.
  const res = await fetch(`${local(port)}/v1/query`, {
    signal: AbortSignal.timeout(60_000),
    method: "POST",
    headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
    body: JSON.stringify({ sql, metadata }),
  });
  return { status: res.status, body: await res.json() };
}

Deno.test(
  "cluster: shared cache, cross-instance single-flight, job takeover, budgets",
  opts,
  async (t) => {
    const cluster = await startCluster();
    try {
      const admin = await cluster.token("acme", "admin@acme");

      await t.step("a result cached through one edge is a hit through the other", async () => {
        const sql = "SELECT status, count(*) AS n FROM github.pull_requests GROUP BY status";
        const first = await query(PORT, admin, sql, { max_staleness_ms: 600_000 });
        assert.equal(first.status, 200, JSON.stringify(first.body));
        assert.equal(first.body.from_cache, false);
        const second = await query(PORT + 1, admin, sql, { max_staleness_ms: 600_000 });
        assert.equal(second.status, 200);
        assert.equal(second.body.from_cache, true);
        assert.deepEqual(second.body.rows, first.body.rows);
      });

      await t.step(
        "identical cold queries on the two us instances make one set of API calls",
        async () => {
          const sql = "SELECT issue_key, status FROM jira.issues";
          const answers = await Promise.all(
            [PORT + 10, PORT + 11].map((p) => query(p, admin, sql, { max_staleness_ms: 0 })),
          );
          for (const a of answers) assert.equal(a.status, 200, JSON.stringify(a.body));
          const sources = answers.map((a) => a.body.sources[0]);
          assert.equal(sources.filter((s) => !s.from_cache).length, 1, JSON.stringify(sources));
          assert.ok(sources.find((s) => !s.from_cache).calls > 0);
          assert.equal(sources.find((s) => s.from_cache).calls, 0);
          assert.deepEqual(answers[0].body.rows, answers[1].body.rows);
        },
      );

      await t.step(
        "a job whose instance is killed mid-job is taken over once, after its lease",
        async () => {
          const submitted = await query(PORT, admin, "SELECT count(*) AS n FROM linear.issues", {
            async: true,
            max_staleness_ms: 0,
          });
          assert.equal(submitted.status, 202, JSON.stringify(submitted.body));
          const id = submitted.body.job_id as string;
          let holder: string | undefined;
          for (let i = 0; i < 400 && !holder; i++) {
            const [row] = await cluster.db`SELECT locked_by FROM jobs WHERE id = ${id}`;
            holder = row?.locked_by ?? undefined;
            if (!holder) await new Promise((r) => setTimeout(r, 25));
          }
          assert.ok(holder, "no instance claimed the job");
          const pid = Number(holder.split("/")[1]);
          Deno.kill(pid, "SIGKILL");

          let view: Record<string, unknown> = {};
          for (let i = 0; i < 240; i++) {
            const res = await fetch(`${local(PORT + 1)}/v1/jobs/${id}`, {
              signal: AbortSignal.timeout(10_000),
              headers: { authorization: `Bearer ${admin}` },
            });
            view = await res.json();
            if (!["queued", "running"].includes(view.status as string)) break;
            await new Promise((r) => setTimeout(r, 250));
          }
          assert.equal(view.status, "succeeded", JSON.stringify(view));
          const [row] = await cluster.db`SELECT attempts FROM jobs WHERE id = ${id}`;
          assert.equal(row.attempts, 2, "the job ran other than once after its holder died");
        },
      );

      await t.step(
        "a user budget is one count across the edges and the zone endpoints",
        async () => {
          await cluster.db`UPDATE tenants SET settings = jsonb_set(settings, '{budgets}',
        '{"user": {"tokens": 4, "windowMs": 60000}}') WHERE id = 'acme'`;
          await new Promise((r) => setTimeout(r, 3_500)); // the servers' settings memo
          // The instance killed above is back (the cluster restarts a role that dies).
          for (const p of [PORT + 10, PORT + 11]) await waitHealthy(`${local(p)}/healthz`, 120_000);
          const user = await cluster.token("acme", "budget@acme");
          const statuses = [];
          for (const p of [PORT, PORT + 1, PORT + 10, PORT + 11, PORT, PORT + 10]) {
            const res = await query(p, user, "SELECT 1 AS one", { max_staleness_ms: 0 });
            statuses.push(res.status);
            if (res.status === 429) assert.equal(res.body.error.details.level, "user");
          }
          assert.deepEqual(statuses, [200, 200, 200, 200, 429, 429]);
        },
      );
    } catch (err) {
      console.error(cluster.log.join("").slice(-3000));
      throw err;
    } finally {
      await cluster.close();
    }
  },
);
