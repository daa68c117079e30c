import assert from "node:assert/strict";
import { type CatalogView, CatalogViews } from "./catalog_view.ts";
import type { CatalogTable } from "../gateway.ts";

const TABLES: CatalogTable[] = [{
  table: "github.pull_requests",
  connector: "github",
  columns: [{ name: "pr_id", type: "integer" }],
}];

const HEAVY = "SELECT count(*) FROM pg_class c1, pg_attribute a1, pg_attribute a2, pg_class c2";
const COUNT = "SELECT count(*) FROM pg_class";

/** The error code of a rejected statement, or "finished". */
const outcome = (reply: Promise<unknown>) =>
  reply.then(
    () => "finished",
    (err: { fields?: { code: string; message: string } }) =>
      `${err.fields?.code}: ${err.fields?.message}`,
  );

/** The first column of the first row of a reply, as text. */
const firstValue = (reply: [string, Uint8Array][]) => {
  const row = reply.find(([c]) => c === "D")![1];
  return new TextDecoder().decode(row.subarray(6));
};

/** The pids of this process's children that run a view (and have not exited). */
const viewProcesses = async (): Promise<Set<number>> => {
  const found = new Set<number>();
  for await (const entry of Deno.readDir("/proc")) {
    if (!/^\d+$/.test(entry.name)) continue;
    try {
      const cmdline = await Deno.readTextFile(`/proc/${entry.name}/cmdline`);
      // After the command name: state, parent pid, …
      const [state, parent] = (await Deno.readTextFile(`/proc/${entry.name}/stat`))
        .split(") ")[1].split(" ");
      if (cmdline.includes("_view_host.ts") && Number(parent) === Deno.pid && state !== "Z") {
        found.add(Number(entry.name));
      }
    } catch {
      // gone meanwhile
    }
  }
  return found;
};

/** The values of the first row of a reply, as text. */
const rowValues = (reply: [string, Uint8Array][]) => {
  const row = reply.find(([c]) => c === "D")![1];
  const data = new DataView(row.buffer, row.byteOffset, row.byteLength);
  const values: string[] = [];
  for (let i = 0, at = 7; i < data.getInt16(5); i++) {
    const length = data.getInt32(at);
    values.push(new TextDecoder().decode(row.subarray(at + 4, at + 4 + length)));
    at += 4 + length;
  }
  return values;
};

Deno.test({
  name: "catalog views are shared within a tenant, never across tenants, nor stalled by another's",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const views = new CatalogViews({ statementTimeoutMs: 3_000 });
    try {
      const acme = await views.acquire("acme", TABLES);
      const acme2 = await views.acquire("acme", TABLES);
      const globex = await views.acquire("globex", TABLES);
      const classes = firstValue(await acme.view.query(COUNT));
      // acme's two sessions share one view; globex has its own: one process per view.
      const before = await viewProcesses();
      assert.equal(before.size, 2);
      assert.equal(views.liveViews, 2);

      // A statement that outruns the timeout is stopped (57014) by killing its view's process.
      const events: string[] = [];
      const heavy = outcome(acme.view.query(HEAVY)).finally(() => events.push("heavy"));
      // Statements of the same view wait behind it: one cancelled while it waits leaves the
      // queue at once; one that waits runs on the fresh view after.
      const cancel = new AbortController();
      const cancelled = outcome(acme2.view.query(COUNT, cancel.signal));
      const queued = acme2.view.query(COUNT).finally(() => events.push("queued"));
      cancel.abort();
      assert.equal(await cancelled, "57014: canceling statement due to user request");
      events.push("cancelled");
      // Another tenant's view answers meanwhile: it never waits for the heavy statement.
      for (let i = 0; i < 3; i++) {
        assert.equal(firstValue(await globex.view.query(COUNT)), classes);
      }
      events.push("globex");
      assert.match(await heavy, /^57014: canceling statement due to statement timeout/);
      assert.equal(firstValue(await queued), classes);
      assert.deepEqual(events, ["cancelled", "globex", "heavy", "queued"]);
      // The stopped statement's process is gone, not left running: only the two views' remain.
      const after = await viewProcesses();
      assert.equal(after.size, 2, `view processes: ${[...after.keys()]}`);
      assert.equal([...before.keys()].filter((pid) => after.has(pid)).length, 1);

      // A cancel stops a running statement too; the view answers again after.
      const stop = new AbortController();
      const running = outcome(acme.view.query(HEAVY, stop.signal));
      await new Promise((r) => setTimeout(r, 200));
      stop.abort();
      assert.equal(await running, "57014: canceling statement due to user request");
      assert.equal(firstValue(await acme.view.query(COUNT)), classes);

      const reply = await globex.view.query(
        "SELECT current_user, current_setting('transaction_read_only')",
      );
      assert.equal(reply.find(([c]) => c === "E"), undefined);
      const row = reply.find(([c]) => c === "D")![1];
      const text = new TextDecoder().decode(row);
      assert.match(text, /omnisql_reader/);
      assert.match(text, /on/);
      for (const lease of [acme, acme2, globex]) lease.release();
    } finally {
      await views.close();
    }
    // Closed: no view's process is left, busy or not.
    for (let i = 0; i < 50 && (await viewProcesses()).size > 0; i++) {
      await new Promise((r) => setTimeout(r, 100));
    }
    assert.equal((await viewProcesses()).size, 0);
  },
});

Deno.test({
  name: "a catalog view grown past its memory limit is replaced by a fresh one",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const started = async (views: CatalogViews) => {
      const lease = await views.acquire("acme", TABLES);
      const times: string[] = [];
      for (let i = 0; i < 2; i++) {
        const reply = await lease.view.query("SELECT pg_postmaster_start_time()::text");
        times.push(new TextDecoder().decode(reply.find(([c]) => c === "D")![1].subarray(11)));
      }
      lease.release();
      await views.close();
      return times;
    };
    const [a, b] = await started(new CatalogViews());
    assert.equal(a, b);
    const [c, d] = await started(new CatalogViews({ maxViewRssBytes: 1 }));
    assert.notEqual(c, d);

    // With a 640 MiB limit (the default): a statement that makes the process grow by hundreds
    // of MiB (its answer is refused as too large, yet the memory it took stays resident) is the
    // last on that process; its replacement is back under the limit. (A fresh view's resident memory
    // varies by a fifth from one start to the next, so the bound is the limit, not a ratio.
    // Time enough for the statement on a busy machine: this is not about timeouts.)
    const limitMib = 640;
    const views = new CatalogViews({
      statementTimeoutMs: 60_000,
      maxViewRssBytes: limitMib * 2 ** 20,
    });
    try {
      const lease = await views.acquire("acme", TABLES);
      const startTime = async () =>
        firstValue(await lease.view.query("SELECT pg_postmaster_start_time()::text"));
      const before = await startTime();
      const grown = lease.view.processId!;
      const big = "SELECT string_agg(md5(g::text), ',') FROM generate_series(1, 2000000) g";
      assert.deepEqual((await lease.view.query(big)).map(([code]) => code), ["E", "Z"]);
      assert.notEqual(await startTime(), before);
      assert.ok(!(await viewProcesses()).has(grown));
      const now = residentMib(lease.view.processId!);
      assert.ok(now < limitMib, `resident ${now} MiB, limit ${limitMib} MiB`);
      lease.release();
    } finally {
      await views.close();
    }
  },
});

/** Resident memory of a process, MiB. */
function residentMib(pid: number): number {
  const pages = Number(Deno.readTextFileSync(`/proc/${pid}/statm`).split(" ")[1]);
  return Math.round(pages * 4096 / 2 ** 20);
}

Deno.test({
  name: "at most maxViews views have a worker; one a session holds reopens for its next statement",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const views = new CatalogViews({ maxViews: 1 });
    const started = async (lease: { view: CatalogView }) =>
      firstValue(await lease.view.query("SELECT pg_postmaster_start_time()::text"));
    try {
      const acme = await views.acquire("acme", TABLES);
      const first = await started(acme);
      const globex = await views.acquire("globex", TABLES);
      assert.equal(views.liveViews, 1);
      await started(globex);
      assert.notEqual(await started(acme), first);
      assert.equal(views.liveViews, 1);
      for (const lease of [acme, globex]) lease.release();
    } finally {
      await views.close();
    }
  },
});

Deno.test({
  name: "a tenant runs one catalog statement at a time and never takes the views from another",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    // Statements end by the test's cancel, never by the timeout: the order is the events'.
    const views = new CatalogViews({ statementTimeoutMs: 600_000 });
    // A statement of about a second that tells when it started and ended running (ms).
    const now = "(extract(epoch FROM clock_timestamp()) * 1000)::bigint";
    const stamped =
      `SELECT ${now}, (SELECT count(*) FROM pg_attribute a1, pg_attribute a2), ${now}`;
    try {
      // Three catalogs of acme (three roles), each a view of its own: all of the door's room.
      const catalogs = ["developer", "qa", "contractor"].map((role): CatalogTable[] => [{
        ...TABLES[0],
        columns: [{ name: `${role}_id`, type: "integer" }],
      }]);
      const acme = await Promise.all(catalogs.map((tables) => views.acquire("acme", tables)));
      assert.equal(views.liveViews, 3);

      const events: string[] = [];
      const stop = new AbortController();
      const first = outcome(acme[0].view.query(HEAVY, stop.signal))
        .finally(() => events.push("acme 1"));
      const rest = acme.slice(1).map((lease, i) =>
        lease.view.query(stamped).finally(() => events.push(`acme ${i + 2}`))
      );
      // Awaited below; a failed assertion before that must not leave them unhandled.
      for (const reply of rest) reply.catch(() => {});
      // globex needs a fourth view while acme's heavy statement runs: it opens in the room of
      // one of acme's views that runs nothing, and answers before acme's statements end.
      const globex = await views.acquire("globex", TABLES);
      assert.match(rowValues(await globex.view.query(COUNT))[0], /^\d+$/);
      events.push("globex");
      assert.equal(views.liveViews, 3);

      // acme's first statement still runs (until cancelled), its others still wait.
      stop.abort();
      assert.equal(await first, "57014: canceling statement due to user request");
      const [second, third] = (await Promise.all(rest)).map((r) => rowValues(r).map(Number));
      // acme's second and third statements waited behind its first, and ran one after another.
      assert.deepEqual(events, ["globex", "acme 1", "acme 2", "acme 3"]);
      assert.ok(second[2] <= third[0], `${second} overlaps ${third}`);
      for (const lease of [...acme, globex]) lease.release();
    } finally {
      await views.close();
    }
  },
});

Deno.test({
  name: "a tenant's users take turns: one user's slow statements delay another's by one at most",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    // Statements end by the test's cancel, never by the timeout: the order is the events'.
    const views = new CatalogViews({ statementTimeoutMs: 600_000 });
    try {
      const a = await views.acquire("acme", TABLES, "a@acme");
      const b = await views.acquire("acme", TABLES, "b@acme");
      const events: string[] = [];
      const stop = new AbortController();
      const slow = outcome(a.view.query(HEAVY, stop.signal)).finally(() => events.push("a 1"));
      const aNext = a.view.query(COUNT).finally(() => events.push("a 2"));
      const bFirst = b.view.query(COUNT).finally(() => events.push("b 1"));
      for (const reply of [aNext, bFirst]) reply.catch(() => {});
      await new Promise((r) => setTimeout(r, 200));
      stop.abort();
      assert.equal(await slow, "57014: canceling statement due to user request");
      await Promise.all([aNext, bFirst]);
      // b's statement came after a's second, yet ran before it: b had not had a turn.
      assert.deepEqual(events, ["a 1", "b 1", "a 2"]);
      for (const lease of [a, b]) lease.release();
    } finally {
      await views.close();
    }
  },
});

Deno.test({
  name: "a catalog statement that waited maxWaitMs for its turn fails (57014); the lane goes on",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const views = new CatalogViews({ statementTimeoutMs: 600_000, maxWaitMs: 300 });
    try {
      const a = await views.acquire("acme", TABLES, "a@acme");
      const b = await views.acquire("acme", TABLES, "b@acme");
      const stop = new AbortController();
      const slow = outcome(a.view.query(HEAVY, stop.signal));
      assert.match(
        await outcome(b.view.query(COUNT)),
        /^57014: canceling statement: it waited 300 ms for its turn/,
      );
      stop.abort();
      assert.equal(await slow, "57014: canceling statement due to user request");
      assert.match(rowValues(await b.view.query(COUNT))[0], /^\d+$/);
      // An answer larger than introspection ever is comes back as an error, not as the answer.
      const huge = await b.view.query("SELECT 'x'::char(9000000)");
      const error = huge.find(([c]) => c === "E");
      assert.ok(error && new TextDecoder().decode(error[1]).includes("C54000"));
      assert.equal(huge.at(-1)?.[0], "Z");
      for (const lease of [a, b]) lease.release();
    } finally {
      await views.close();
    }
  },
});
