import assert from "node:assert/strict";
import type { AuditRecord } from "../catalog/audit.ts";
import { type TestCatalog, withCatalogs } from "../catalog/testing.ts";
import { AuditJournal, type JournalRecord } from "./journal.ts";

function record(i: number): AuditRecord {
  return {
    tenantId: "acme",
    userEmail: "dev@acme",
    zone: "us",
    traceId: `trace-${i}`,
    sql: `SELECT ${i}`,
    tables: [],
    rows: 1,
    status: 200,
    kind: "query",
    door: i % 2 ? "pg" : "http",
  };
}

async function segments(dir: string): Promise<string[]> {
  const names: string[] = [];
  for await (const e of Deno.readDir(dir)) if (e.name.endsWith(".wal")) names.push(e.name);
  return names.sort();
}

/** A test with the catalogs and a journal folder of its own, removed afterwards. */
function journalTest(
  name: string,
  fn: (catalog: TestCatalog["catalog"], dir: string) => Promise<void>,
) {
  withCatalogs(name, async ({ catalog }) => {
    const dir = await Deno.makeTempDir();
    try {
      await fn(catalog, dir);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  });
}

journalTest(
  "AuditJournal commits every durable record to the chain once, in order, with its door",
  async (catalog, dir) => {
    const journal = new AuditJournal({
      dir,
      commit: (records) => Promise.all(records.map((r) => catalog.appendAudit(r))),
      segmentRecords: 10,
    });
    await Promise.all(Array.from({ length: 25 }, (_, i) => journal.record(record(i))));
    await journal.settled();
    const rows = await catalog.tailAudit("acme", 100);
    assert.deepEqual(
      rows.map((r) => r.traceId).sort(),
      Array.from({ length: 25 }, (_, i) => `trace-${i}`).sort(),
    );
    assert.equal(rows.find((r) => r.traceId === "trace-1")?.door, "pg");
    assert.deepEqual(await catalog.verifyAudit("acme"), { ok: true, rows: 25 });
    // Full, committed segments are gone; only the one being written remains.
    assert.equal((await segments(dir)).length, 1);
    await journal.close();
  },
);

journalTest(
  "a reopened AuditJournal replays what a stop left uncommitted, never appending twice",
  async (catalog, dir) => {
    // The catalog is unreachable: each record is on disk once record() resolves, uncommitted.
    const down = new AuditJournal({
      dir,
      commit: () => Promise.reject(new Error("catalog unreachable")),
      retryMs: 60_000,
    });
    for (let i = 0; i < 5; i++) await down.record(record(i));
    await down.close(10);
    const [segment] = await segments(dir);
    const lines = (await Deno.readTextFile(`${dir}/${segment}`)).trim().split("\n");
    assert.equal(lines.length, 5);
    // Two of them reached the chain just before the stop (committed, not yet forgotten).
    for (const line of lines.slice(0, 2)) {
      const r = JSON.parse(line) as JournalRecord;
      await catalog.appendAudit({ ...r, createdAt: new Date(r.createdAt) });
    }
    // A torn last line — a write the crash cut short, never acknowledged — is skipped.
    await Deno.writeTextFile(`${dir}/${segment}`, '{"tenantId":"acme","traceId":"torn', {
      append: true,
    });

    const up = new AuditJournal({
      dir,
      commit: (records) => Promise.all(records.map((r) => catalog.appendAudit(r))),
    });
    await up.settled();
    const rows = await catalog.tailAudit("acme", 100);
    assert.deepEqual(rows.map((r) => r.traceId).sort(), [0, 1, 2, 3, 4].map((i) => `trace-${i}`));
    assert.deepEqual(await catalog.verifyAudit("acme"), { ok: true, rows: 5 });
    assert.ok(!(await segments(dir)).includes(segment), "the replayed segment is removed");
    await up.close();
  },
);

Deno.test("records that arrive together share a commit, up to a batch each", async () => {
  const commits: number[] = [];
  const journal = new AuditJournal({
    commit: (records) => Promise.resolve(void commits.push(records.length)),
    maxBatch: 1000,
  });
  // A busy moment: records arrive faster than commits; each commit's fixed cost is paid once.
  await Promise.all(Array.from({ length: 300 }, (_, i) => journal.record(record(i))));
  await journal.settled();
  assert.deepEqual(commits, [300]);
  // More than a batch waiting commits at once, a batch at a time.
  await Promise.all(Array.from({ length: 2500 }, (_, i) => journal.record(record(i))));
  await journal.settled();
  assert.deepEqual(commits.slice(1), [1000, 1000, 500]);
  await journal.close();
});

Deno.test("a tenant whose commits fail backs off alone; other tenants' commits go on", async () => {
  const tries = { acme: 0, globex: 0 };
  const committed: string[] = [];
  const journal = new AuditJournal({
    commit: (records) => {
      const tenant = records[0].tenantId as keyof typeof tries;
      tries[tenant]++;
      if (tenant === "acme") return Promise.reject(new Error("acme's chain is locked"));
      committed.push(...records.map((r) => r.traceId));
      return Promise.resolve();
    },
    commitDelayMs: 10,
    retryMs: 400,
  });
  await journal.record(record(0));
  // globex answers a query every 20 ms for 700 ms: each commits soon after it arrives.
  for (let i = 0; i < 35; i++) {
    await journal.record({ ...record(i), tenantId: "globex" });
    await new Promise((r) => setTimeout(r, 20));
  }
  await new Promise((r) => setTimeout(r, 50));
  assert.equal(committed.length, 35);
  assert.ok(tries.globex >= 2);
  // acme was tried at 0, ~400 ms and not again before ~1,200 ms — not at globex's pace.
  assert.ok(tries.acme <= 2, `acme tried ${tries.acme} times`);
  await journal.close(10);
});
