import assert from "node:assert/strict";
import { type SQL, sql } from "drizzle-orm";
import { auditHash, type AuditRecord, GENESIS_HASH } from "./audit.ts";
import { executeRows, openCatalog } from "./db.ts";
import { canonicalJson } from "./_canonical_json.ts";
import { sha256Hex } from "../crypto/sha256.ts";
import { withCatalogs } from "./testing.ts";
import { Catalog } from "./store.ts";

function record(tenantId: string, i: number): AuditRecord {
  return {
    tenantId,
    userEmail: `dev@${tenantId}`,
    zone: tenantId === "acme" ? "us" : "eu",
    traceId: `trace-${i}`,
    sql: `SELECT ${i}`,
    tables: ["github.pull_requests"],
    rows: i,
    status: 200,
    kind: "query",
  };
}

/**
 * Runs a statement as a superuser who bypasses the append-only triggers (what an attacker with
 * the database's keys could do): verification must still notice.
 */
async function tamper(catalog: Catalog, statement: SQL): Promise<void> {
  await catalog.db.transaction(async (tx) => {
    await tx.execute(sql`set local session_replication_role = replica`);
    await tx.execute(statement);
  });
}

async function appendMany(catalog: Catalog, tenantId: string, n: number): Promise<number[]> {
  const ids: number[] = [];
  for (let i = 0; i < n; i++) ids.push((await catalog.appendAudit(record(tenantId, i))).id);
  return ids;
}

withCatalogs("appendAudit() chains each tenant's rows from 64 zeros", async ({ catalog }) => {
  const first = await catalog.appendAudit(record("acme", 0));
  assert.equal(first.prevHash, GENESIS_HASH);
  assert.match(first.hash, /^[0-9a-f]{64}$/);
  const other = await catalog.appendAudit(record("globex", 0));
  assert.equal(other.prevHash, GENESIS_HASH);
  const second = await catalog.appendAudit({
    ...record("acme", 1),
    status: 403,
    errorCode: "ENTITLEMENT_DENIED",
    rows: null,
    kind: "admin",
  });
  assert.equal(second.prevHash, first.hash);
  assert.equal(second.errorCode, "ENTITLEMENT_DENIED");
  assert.deepEqual(second.tables, ["github.pull_requests"]);
  assert.deepEqual(await catalog.verifyAudit("acme"), { ok: true, rows: 2 });
  assert.deepEqual(await catalog.verifyAudit("globex"), { ok: true, rows: 1 });
  assert.deepEqual(await catalog.verifyAudit("nobody"), { ok: true, rows: 0 });
});

withCatalogs(
  "appendAudit() stores any text, so no record can stop its tenant's chain",
  async ({ catalog }) => {
    // Refused at the door, but a record must never fail on its text: a failed commit would hold
    // every later record of the tenant back.
    const odd = { ...record("acme", 0), sql: "SELECT 3 -- \ud800 \u0000", tables: ["t\udc00"] };
    await catalog.appendAudit(odd);
    await catalog.appendAudit(record("acme", 1));
    const [first, second] = await catalog.tailAudit("acme", 2);
    assert.equal(first.sql, "SELECT 3 -- \uFFFD \uFFFD");
    assert.deepEqual(first.tables, ["t\uFFFD"]);
    assert.equal(second.sql, "SELECT 1");
    assert.equal((await catalog.verifyAudit("acme")).ok, true);
  },
);

withCatalogs("tailAudit() returns the newest rows, oldest first", async ({ catalog }) => {
  const ids = await appendMany(catalog, "acme", 5);
  await appendMany(catalog, "globex", 2);
  const tail = await catalog.tailAudit("acme", 3);
  assert.deepEqual(tail.map((r) => r.id), ids.slice(2));
  assert.deepEqual(tail.map((r) => r.sql), ["SELECT 2", "SELECT 3", "SELECT 4"]);
});

withCatalogs("the database refuses to update, delete or truncate audit rows", async ({
  catalog,
}) => {
  const ids = await appendMany(catalog, "acme", 3);
  for (
    const statement of [
      sql`update audit_log set sql = 'SELECT nothing_to_see' where id = ${ids[1]}`,
      sql`delete from audit_log where id = ${ids[2]}`,
      sql`truncate audit_log`,
      sql`delete from audit_heads where tenant_id = 'acme'`,
      sql`update audit_heads set last_id = ${ids[1]}, rows = 2 where tenant_id = 'acme'`,
    ]
  ) {
    await assert.rejects(catalog.db.execute(statement), (err: Error) => {
      // Drizzle wraps the database's error; the trigger's message is in the cause.
      const message = `${err.message} ${(err.cause as Error | undefined)?.message ?? ""}`;
      return /append-only|only moves forward/.test(message);
    });
  }
  assert.deepEqual(await catalog.verifyAudit("acme"), { ok: true, rows: 3 });
});

withCatalogs("verifyAudit() detects removed newest rows", async ({ catalog }) => {
  const ids = await appendMany(catalog, "acme", 4);
  await tamper(catalog, sql`delete from audit_log where id >= ${ids[2]}`);
  const result = await catalog.verifyAudit("acme");
  assert.ok(!result.ok && result.brokenAt === ids[1], JSON.stringify(result));
  assert.ok(!result.ok && /newest rows were removed/.test(result.reason));
});

withCatalogs("verifyAudit() detects an edited row", async ({ catalog }) => {
  const ids = await appendMany(catalog, "acme", 5);
  await tamper(
    catalog,
    sql`update audit_log set sql = 'SELECT nothing_to_see' where id = ${ids[2]}`,
  );
  const result = await catalog.verifyAudit("acme");
  assert.equal(result.ok, false);
  assert.ok(!result.ok && result.brokenAt === ids[2]);
  assert.ok(!result.ok && /contents/.test(result.reason));
});

withCatalogs(
  "verifyAudit() detects an edited row whose hash was recomputed",
  async ({ catalog }) => {
    const ids = await appendMany(catalog, "acme", 4);
    await tamper(catalog, sql`update audit_log set status = 500 where id = ${ids[1]}`);
    const [row] = await catalog.tailAudit("acme", 3);
    const { auditHash } = await import("./audit.ts");
    await tamper(
      catalog,
      sql`update audit_log set hash = ${await auditHash(row)} where id = ${ids[1]}`,
    );
    const result = await catalog.verifyAudit("acme");
    assert.ok(!result.ok && result.brokenAt === ids[2]);
  },
);

withCatalogs("verifyAudit() detects a deleted row", async ({ catalog }) => {
  const ids = await appendMany(catalog, "acme", 5);
  await tamper(catalog, sql`delete from audit_log where id = ${ids[1]}`);
  const result = await catalog.verifyAudit("acme");
  assert.equal(result.ok, false);
  assert.ok(!result.ok && result.brokenAt === ids[2]);
  assert.ok(!result.ok && /prev_hash/.test(result.reason));
  // The first row too.
  await tamper(catalog, sql`delete from audit_log where id = ${ids[0]}`);
  const again = await catalog.verifyAudit("acme");
  assert.ok(!again.ok && again.brokenAt === ids[2]);
});

withCatalogs("concurrent appends keep every tenant's chain valid", async (t) => {
  const { catalog } = t;
  const writers = [catalog];
  const extra: { close(): Promise<void> }[] = [];
  if (t.kind === "postgres") {
    // Two more pools on the same database: appends from several "processes" at once.
    for (let i = 0; i < 2; i++) {
      const other = await openCatalog({ databaseUrl: t.databaseUrl, maxConnections: 8 });
      extra.push(other);
      const { Catalog } = await import("./store.ts");
      writers.push(new Catalog(other.db, catalog.keyRing));
    }
  }
  try {
    const jobs: Promise<unknown>[] = [];
    for (let i = 0; i < 60; i++) {
      const writer = writers[i % writers.length];
      jobs.push(writer.appendAudit(record(i % 3 === 0 ? "globex" : "acme", i)));
    }
    await Promise.all(jobs);
    assert.deepEqual(await catalog.verifyAudit("acme"), { ok: true, rows: 40 });
    assert.deepEqual(await catalog.verifyAudit("globex"), { ok: true, rows: 20 });
    const [{ n }] = await executeRows<{ n: number }>(
      t.catalogDb.db,
      sql`select count(distinct prev_hash)::int as n from audit_log where tenant_id = 'acme'`,
    );
    assert.equal(n, 40); // no two rows claim the same predecessor: no fork
  } finally {
    for (const e of extra) await e.close();
  }
});

withCatalogs(
  "a keyed chain detects a rewrite by the table's owner that an unkeyed one cannot",
  async ({ catalog }) => {
    const keyed = new Catalog(catalog.db, catalog.keyRing, { auditKey: "the-servers-audit-key" });
    const ids: number[] = [];
    for (let i = 0; i < 3; i++) ids.push((await keyed.appendAudit(record("acme", i))).id);
    assert.deepEqual(await keyed.verifyAudit("acme"), { ok: true, rows: 3 });
    // The owner edits a row and recomputes every hash after it, and the head, consistently —
    // with the only function they have: unkeyed SHA-256.
    await rewriteChain(catalog, "acme", ids[1], "SELECT 'nothing to see'");
    const unkeyedView = await catalog.verifyAudit("acme");
    assert.equal(unkeyedView.ok, true, "an unkeyed chain accepts a consistent rewrite");
    const verdict = await keyed.verifyAudit("acme");
    assert.equal(verdict.ok, false);
    assert.equal(!verdict.ok && verdict.brokenAt, ids[0]);
    assert.match(!verdict.ok ? verdict.reason : "", /not keyed with the audit key/);
    // Another key does not verify either; nor does no key at all a keyed chain.
    const fresh = new Catalog(catalog.db, catalog.keyRing, { auditKey: "the-servers-audit-key" });
    await fresh.appendAudit(record("globex", 0));
    const wrongKey = new Catalog(catalog.db, catalog.keyRing, { auditKey: "a-guess" });
    assert.equal((await wrongKey.verifyAudit("globex")).ok, false);
    assert.match(JSON.stringify(await catalog.verifyAudit("globex")), /set OMNISQL_AUDIT_KEY/);
  },
);

/** Rewrites one row's SQL and recomputes the chain after it with unkeyed SHA-256. */
async function rewriteChain(catalog: Catalog, tenantId: string, id: number, text: string) {
  await tamper(catalog, sql`update audit_log set sql = ${text} where id = ${id}`);
  const rows = await catalog.tailAudit(tenantId, 1000);
  let prev = GENESIS_HASH;
  for (const row of rows) {
    const hash = await auditHash({ ...row, prevHash: prev });
    await tamper(
      catalog,
      sql`update audit_log set prev_hash = ${prev}, hash = ${hash} where id = ${row.id}`,
    );
    prev = hash;
  }
  await tamper(catalog, sql`update audit_heads set hash = ${prev} where tenant_id = ${tenantId}`);
}

Deno.test("auditHash() hashes a record's canonical JSON, whatever its fields hold", async () => {
  const base = {
    id: 7,
    tenantId: "acme",
    userEmail: "dev@acme",
    zone: "us",
    traceId: "t-1",
    sql: "SELECT '\"quoted\"\\n' AS x",
    tables: ["github.pull_requests", "jira.issues"],
    rows: 3,
    status: 200,
    errorCode: null,
    kind: "query",
    createdAt: new Date("2026-01-02T03:04:05.678Z"),
    prevHash: GENESIS_HASH,
  };
  const variants: Record<string, unknown>[] = [
    base,
    { ...base, door: "pg" },
    { ...base, rows: null, errorCode: "PLAN_FAILED", status: 400, tables: [] },
    { ...base, userEmail: "ü@ä.example", sql: "\u2028\u0001" },
    { ...base, tables: [{ odd: 1 }] },
    { ...base, rows: undefined },
  ];
  for (const v of variants) {
    const { prevHash, createdAt, door, ...rest } = v as typeof base & { door?: string };
    const expected = await sha256Hex(
      prevHash + canonicalJson({ ...rest, createdAt: createdAt.toISOString(), door }),
    );
    assert.equal(await auditHash(v as never), expected, JSON.stringify(v));
  }
});
