/**
 * The audit survives a crash: a process answering queries under load is killed with SIGKILL;
 * restarted, it replays its journals, and every query that got an answer — from the edge's
 * result cache, or run in a zone — is in the audit log exactly once, on a keyed chain that
 * verifies.
 *
 * @module
 */
import assert from "node:assert/strict";
import postgres from "postgres";
import { inArray } from "drizzle-orm";
import { auditLog } from "../src/catalog/schema.ts";
import { openCatalog } from "../src/catalog/db.ts";
import { verifyAudit } from "../src/catalog/audit.ts";

const SERVER = Deno.env.get("DATABASE_URL") ?? "postgres://postgres@127.0.0.1:5432/test";
const AUDIT_KEY = "audit-crash-test-key-0123456789";

async function maintenance(statement: string): Promise<void> {
  const client = postgres(SERVER, { max: 1, onnotice: () => {} });
  try {
    await client.unsafe(statement);
  } finally {
    await client.end({ timeout: 1 });
  }
}

function start(env: Record<string, string>) {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", new URL("./_audit_crash_server.ts", import.meta.url).pathname],
    env,
    stdout: "piped",
    stderr: "null",
  }).spawn();
  const ready = (async () => {
    const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
    let text = "";
    for (;;) {
      const { value, done } = await reader.read();
      if (done) throw new Error("the server stopped before it was ready");
      text += value;
      const line = text.split("\n").find((l) => l.startsWith('{"edgeUrl"'));
      if (line) {
        // Keep draining its output so its writes never block.
        void (async () => {
          while (!(await reader.read().catch(() => ({ done: true }))).done);
        })();
        return JSON.parse(line) as { edgeUrl: string; token: string };
      }
    }
  })();
  return { child, ready };
}

Deno.test({
  name: "SIGKILL under load loses no answered query from the audit log; the chain verifies",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const name = `omnisql_crash_${crypto.randomUUID().replaceAll("-", "").slice(0, 12)}`;
    await maintenance(`CREATE DATABASE ${name}`);
    const url = new URL(SERVER);
    url.pathname = `/${name}`;
    const journalDir = await Deno.makeTempDir();
    const env = {
      DATABASE_URL: url.toString(),
      OMNISQL_AUDIT_JOURNAL_DIR: journalDir,
      OMNISQL_AUDIT_KEY: AUDIT_KEY,
    };
    let server = start(env);
    try {
      const { edgeUrl, token } = await server.ready;
      const answered: string[] = [];
      let stop = false;
      const cached =
        "SELECT pr_id, title FROM github.pull_requests WHERE status = 'merged' LIMIT 5";
      const loop = async (worker: number) => {
        for (let i = 0; !stop; i++) {
          const traceId = `crash-${worker}-${i}`;
          // Most from the edge's result cache; some run in the zone (live), some refused there.
          const sql = worker === 0
            ? "SELECT count(*) AS n FROM jira.issues"
            : worker === 1
            ? "SELECT nope FROM github.pull_requests"
            : cached;
          try {
            const res = await fetch(`${edgeUrl}/v1/query`, {
              method: "POST",
              headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
              body: JSON.stringify({
                sql,
                metadata: { trace_id: traceId, max_staleness_ms: worker === 0 ? 0 : 600_000 },
              }),
            });
            await res.arrayBuffer();
            answered.push(traceId);
          } catch {
            return; // the process is gone
          }
        }
      };
      // Warm: the cached query's first answer fills the result cache.
      const warm = await fetch(`${edgeUrl}/v1/query`, {
        method: "POST",
        headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
        body: JSON.stringify({ sql: cached, metadata: { max_staleness_ms: 600_000 } }),
      });
      assert.equal(warm.status, 200, await warm.text());
      const loops = Array.from({ length: 12 }, (_, w) => loop(w));
      // Killed once enough answers are out (not after a fixed time: a busy machine answers fewer).
      for (const until = Date.now() + 60_000; answered.length < 150 && Date.now() < until;) {
        await new Promise((r) => setTimeout(r, 50));
      }
      server.child.kill("SIGKILL");
      stop = true;
      await Promise.all(loops);
      await server.child.status;
      assert.ok(answered.length > 100, `only ${answered.length} answers before the kill`);

      // Restarted, the stack replays its journals before it reports ready.
      server = start(env);
      await server.ready;
      const { db, close } = await openCatalog({ databaseUrl: env.DATABASE_URL });
      try {
        const counts = new Map<string, number>();
        for (let i = 0; i < answered.length; i += 500) {
          const rows = await db.select({ traceId: auditLog.traceId }).from(auditLog)
            .where(inArray(auditLog.traceId, answered.slice(i, i + 500)));
          for (const r of rows) counts.set(r.traceId, (counts.get(r.traceId) ?? 0) + 1);
        }
        const missing = answered.filter((t) => !counts.has(t));
        const twice = answered.filter((t) => (counts.get(t) ?? 0) > 1);
        assert.deepEqual(missing, [], `${missing.length} of ${answered.length} answers unaudited`);
        assert.deepEqual(twice, [], "audited twice");
        const verified = await verifyAudit(db, "acme", { auditKey: AUDIT_KEY });
        assert.ok(verified.ok, JSON.stringify(verified));
      } finally {
        await close();
      }
    } finally {
      try {
        server.child.kill("SIGTERM");
      } catch {
        // It already stopped.
      }
      await server.child.status;
      await Deno.remove(journalDir, { recursive: true }).catch(() => {});
      await maintenance(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    }
  },
});
