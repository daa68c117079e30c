import assert from "node:assert/strict";
import { OmniError } from "../errors.ts";
import { EnginePool, type EnginePoolOptions, type PoolRunOptions } from "./pool.ts";
import type { MaterializedTable } from "./engine.ts";

// Each test owns its pool and closes it; engine processes are children of this process.
const RUNAWAY =
  "WITH RECURSIVE t(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM t) SELECT count(*) AS c FROM t";

const numbers = (n: number, tag = "x"): MaterializedTable => ({
  schema: "demo",
  name: "numbers",
  columns: [
    { name: "n", type: "integer", description: "" },
    { name: "tag", type: "text", description: "" },
  ],
  rows: Array.from({ length: n }, (_, i) => ({ n: i, tag })),
});

function errorOf(promise: Promise<unknown>): Promise<OmniError> {
  return promise.then(
    () => assert.fail("expected the query to fail"),
    (err: unknown) => {
      assert.ok(err instanceof OmniError, `not an OmniError: ${err}`);
      return err;
    },
  );
}

/** The engine processes this test process has started (children running `engine_process`). */
function enginePids(): number[] {
  const pids: number[] = [];
  for (const entry of Deno.readDirSync("/proc")) {
    if (!/^\d+$/.test(entry.name)) continue;
    try {
      const stat = Deno.readTextFileSync(`/proc/${entry.name}/stat`);
      const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
      const cmdline = Deno.readTextFileSync(`/proc/${entry.name}/cmdline`);
      if (ppid === Deno.pid && cmdline.includes("engine_process")) pids.push(Number(entry.name));
    } catch {
      // gone meanwhile
    }
  }
  return pids;
}

function alive(pid: number): boolean {
  try {
    const stat = Deno.readTextFileSync(`/proc/${pid}/stat`);
    return stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3) !== "Z";
  } catch {
    return false;
  }
}

/** Resolves once `check` holds, polling (engines start and stop asynchronously). */
async function eventually(check: () => boolean, what: string): Promise<void> {
  // Generous: engines start (and warm up) slowly on a loaded machine; nothing here is timed.
  for (let i = 0; i < 1200; i++) {
    if (check()) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  assert.fail(`never: ${what}`);
}

/** Aborts when told to, with a reason the pool hands back as is. */
function stopper(reason = new OmniError("QUERY_TIMEOUT", "deadline")) {
  const controller = new AbortController();
  return { signal: controller.signal, stop: () => controller.abort(reason) };
}

/**
 * A test with a pool of its own, closed whatever the test does; with `noEnginesAfter`, it also
 * checks that closing the pool left no engine process behind.
 */
function poolTest(
  name: string,
  options: EnginePoolOptions,
  fn: (pool: EnginePool) => Promise<void>,
  noEnginesAfter = false,
) {
  Deno.test(name, async () => {
    const pool = new EnginePool({ warmUpMs: 0, ...options });
    let pids: number[] = [];
    try {
      await fn(pool);
    } finally {
      // This pool's own engines: other test modules of this process run engines of their own.
      pids = pool.processIds();
      await pool.close();
    }
    if (noEnginesAfter) assert.deepEqual(pids.filter(alive), []);
  });
}

poolTest(
  "a deadline stops a runaway query mid-DuckDB and kills its engine",
  { size: 2 },
  async (pool) => {
    await pool.warm();
    const before = new Set(enginePids());
    const { signal, stop } = stopper();
    const running = pool.run({ tables: [], sql: RUNAWAY }, { tenantId: "acme", signal });
    await eventually(() => pool.stats().busy === 1, "the runaway is running");
    await new Promise((r) => setTimeout(r, 300)); // well inside DuckDB by now
    stop();
    const err = await errorOf(running);
    assert.equal(err.code, "QUERY_TIMEOUT");
    assert.equal(pool.stats().timeouts, 1);
    // The engine that ran it is gone (no orphan keeps spinning) and another took its place.
    await eventually(() => [...before].some((pid) => !alive(pid)), "the runaway's engine died");
    await eventually(() => pool.stats().replacements >= 1, "a replacement started");
    const after = await pool.run({
      tables: [numbers(3)],
      sql: "SELECT sum(n) AS s FROM demo.numbers",
    }, {
      tenantId: "acme",
    });
    assert.deepEqual(after.rows, [{ s: 3 }]);
  },
  true,
);

poolTest(
  "cancelling stops the engine work with the caller's own reason",
  { size: 1 },
  async (pool) => {
    const cancelled = new OmniError("INVALID_REQUEST", "the job was cancelled by its owner");
    const { signal, stop } = stopper(cancelled);
    const running = pool.run({ tables: [], sql: RUNAWAY }, { tenantId: "acme", signal });
    await eventually(() => pool.stats().busy === 1, "the runaway is running");
    await new Promise((r) => setTimeout(r, 200));
    stop();
    assert.equal(await errorOf(running), cancelled);
    const next = await pool.run({ tables: [], sql: "SELECT 1 AS one" }, { tenantId: "acme" });
    assert.deepEqual(next.rows, [{ one: 1 }]);
  },
);

poolTest("a query above its memory limit gets RESOURCE_EXHAUSTED and the engine recovers", {
  size: 1,
  memoryLimitMb: 256,
}, async (pool) => {
  for (
    const sql of [
      "SELECT length(repeat('x', 2000000000)) AS n",
      "WITH RECURSIVE t(n, s) AS (SELECT 1, 'x' UNION ALL SELECT n + 1, s || s FROM t " +
      "WHERE n < 40) SELECT max(length(s)) AS m FROM t",
      // 1,000 rows of 1.6 MB each: DuckDB reports a failed allocation ("malloc of size …").
      "SELECT repeat('abcdefghijklmnopqrstuvwxyz0123456789abcd', 40000) AS s FROM range(1000)",
    ]
  ) {
    const err = await errorOf(pool.run({ tables: [], sql }, { tenantId: "acme" }));
    assert.equal(err.code, "RESOURCE_EXHAUSTED", err.message);
    assert.equal(err.status, 422);
    assert.equal(err.details?.memory_limit_mb, 256);
    assert.match(err.message, /256 MiB.*async/);
  }
  const next = await pool.run({
    tables: [numbers(10)],
    sql: "SELECT count(*) AS c FROM demo.numbers",
  }, {
    tenantId: "acme",
  });
  assert.deepEqual(next.rows, [{ c: 10 }]);
});

poolTest("an engine whose memory grew is replaced rather than reused", {
  size: 1,
  spares: 0,
  memoryLimitMb: 1024,
}, async (pool) => {
  await pool.warm();
  const [first] = enginePids();
  // Leaves the wasm heap grown (it never shrinks): about 450 MB of strings held at once.
  await pool.run({
    tables: [],
    sql: "SELECT count(DISTINCT s) AS d FROM (SELECT repeat(i::VARCHAR, 600000) AS s " +
      "FROM range(300) t(i))",
  }, { tenantId: "acme" });
  await eventually(() => !alive(first), "the grown engine was retired");
  const next = await pool.run({ tables: [], sql: "SELECT 2 AS two" }, { tenantId: "acme" });
  assert.deepEqual(next.rows, [{ two: 2 }]);
});

poolTest("fair share: a tenant alone borrows every engine, and gives one back to another tenant", {
  size: 2,
}, async (pool) => {
  await pool.warm();
  assert.equal(pool.perTenant, 1);
  const a1 = stopper(), a2 = stopper();
  const runaway1 = pool.run({ tables: [], sql: RUNAWAY }, {
    tenantId: "acme",
    signal: a1.signal,
  });
  const runaway2 = pool.run({ tables: [], sql: RUNAWAY }, {
    tenantId: "acme",
    signal: a2.signal,
  });
  // Nobody else waits: acme runs on both engines, and only once a third one is ready to spare
  // (both runaways killed at their deadlines must not leave the next query waiting for a start).
  await eventually(() => pool.stats().busy === 2 && pool.stats().queued === 0, "acme borrows");
  assert.ok(pool.stats().idle >= 1, "a ready spare remains while acme borrows");
  const other = await pool.run({
    tables: [numbers(5)],
    sql: "SELECT max(n) AS m FROM demo.numbers",
  }, {
    tenantId: "globex",
  });
  assert.deepEqual(other.rows, [{ m: 4 }]);
  assert.equal(pool.stats().preemptions, 1, "acme's borrowed engine was taken back");
  // The preempted query waits again, now only within acme's share, which its first one holds.
  assert.equal(pool.stats().queued, 1);
  await new Promise((r) => setTimeout(r, 100));
  assert.deepEqual([pool.stats().busy, pool.stats().queued], [1, 1], "it does not borrow again");
  a2.stop();
  assert.equal((await errorOf(runaway2)).code, "QUERY_TIMEOUT");
  assert.equal(pool.stats().timeouts, 0, "it left the queue; no engine was running it");
  a1.stop();
  assert.equal((await errorOf(runaway1)).code, "QUERY_TIMEOUT");
});

poolTest(
  "a preempted query reruns and answers when its tenant's share frees up",
  { size: 2 },
  async (pool) => {
    await pool.warm();
    const a1 = stopper();
    const runaway = pool.run({ tables: [], sql: RUNAWAY }, { tenantId: "acme", signal: a1.signal });
    await eventually(() => pool.stats().busy === 1, "acme's runaway holds its share");
    // A slow but finite query borrows the second engine.
    const slow = pool.run({
      tables: [numbers(4)],
      sql: "SELECT sum(n) AS s FROM demo.numbers, (SELECT count(*) AS c FROM range(40000000))",
    }, { tenantId: "acme" });
    await eventually(() => pool.stats().busy === 2, "acme borrows");
    const other = await pool.run({ tables: [], sql: "SELECT 7 AS x" }, { tenantId: "globex" });
    assert.deepEqual(other.rows, [{ x: 7 }]);
    assert.equal(pool.stats().preemptions, 1);
    a1.stop(); // frees acme's share: the preempted query runs again, from its own rows
    assert.equal((await errorOf(runaway)).code, "QUERY_TIMEOUT");
    assert.deepEqual((await slow).rows, [{ s: 6 }]);
  },
);

poolTest(
  "fair share within a tenant: one user's runaways never stall another user",
  { size: 2 },
  async (pool) => {
    await pool.warm();
    assert.equal(pool.perUser, 1);
    const stops = [stopper(), stopper(), stopper()];
    const runaways = stops.map((s) =>
      pool.run({ tables: [], sql: RUNAWAY }, {
        tenantId: "acme",
        userId: "dev@acme",
        signal: s.signal,
      })
    );
    await eventually(() => pool.stats().busy === 2 && pool.stats().queued === 1, "dev holds both");
    const qa = await pool.run({
      tables: [numbers(3)],
      sql: "SELECT count(*) AS c FROM demo.numbers",
    }, { tenantId: "acme", userId: "qa@acme" });
    assert.deepEqual(qa.rows, [{ c: 3 }]);
    assert.equal(pool.stats().preemptions, 1);
    // dev's other queries wait behind dev's own share; another tenant is still served too.
    const globex = await pool.run({ tables: [], sql: "SELECT 1 AS one" }, { tenantId: "globex" });
    assert.deepEqual(globex.rows, [{ one: 1 }]);
    for (const s of stops) s.stop();
    const errors = await Promise.all(runaways.map(errorOf));
    assert.deepEqual(errors.map((e) => e.code), [
      "QUERY_TIMEOUT",
      "QUERY_TIMEOUT",
      "QUERY_TIMEOUT",
    ]);
  },
  true,
);

poolTest(
  "a full queue is refused at once with 503 and Retry-After",
  { size: 1, queueLimit: 1 },
  async (pool) => {
    const a = stopper(), b = stopper();
    const options = (tenantId: string, signal: AbortSignal): PoolRunOptions => ({
      tenantId,
      signal,
    });
    const running = pool.run({ tables: [], sql: RUNAWAY }, options("acme", a.signal));
    await eventually(() => pool.stats().busy === 1, "the runaway is running");
    const waiting = pool.run({ tables: [], sql: "SELECT 1" }, options("globex", b.signal));
    await eventually(() => pool.stats().queued === 1, "one query waits");
    const refused = await errorOf(
      pool.run({ tables: [], sql: "SELECT 1" }, { tenantId: "initech" }),
    );
    assert.equal(refused.code, "REGION_UNAVAILABLE");
    assert.equal(refused.status, 503);
    assert.ok((refused.retryAfterMs ?? 0) > 0);
    assert.equal(refused.details?.reason, "engine_queue_full");
    a.stop();
    await errorOf(running);
    // Once the engine is replaced, the waiting query runs.
    assert.deepEqual((await waiting as { rows: unknown[] }).rows, [{ 1: 1 }]);
  },
);

poolTest(
  "a tenant flooding a full queue is refused, not the tenant that comes after it",
  { size: 1, queueLimit: 3 },
  async (pool) => {
    const a = stopper();
    const running = pool.run({ tables: [], sql: RUNAWAY }, { tenantId: "acme", signal: a.signal });
    await eventually(() => pool.stats().busy === 1, "the runaway is running");
    const flood = [1, 2, 3].map((i) =>
      pool.run({ tables: [], sql: `SELECT ${i} AS n` }, { tenantId: "acme" })
    );
    await eventually(() => pool.stats().queued === 3, "acme fills the queue");
    const globex = pool.run({ tables: [], sql: "SELECT 42 AS n" }, { tenantId: "globex" });
    // acme's newest waiting query made room.
    const refused = await errorOf(flood[2]);
    assert.equal(refused.details?.reason, "engine_queue_full");
    assert.equal(pool.stats().queued, 3);
    // With acme at 2 waiting and globex at 1, a newcomer of globex is refused itself.
    const second = await errorOf(
      pool.run({ tables: [], sql: "SELECT 1" }, { tenantId: "globex" }),
    );
    assert.equal(second.details?.reason, "engine_queue_full");
    a.stop();
    await errorOf(running);
    assert.deepEqual((await globex as { rows: unknown[] }).rows, [{ n: 42 }]);
    assert.deepEqual(
      (await Promise.all(flood.slice(0, 2)) as { rows: unknown[] }[]).map((r) => r.rows),
      [[{ n: 1 }], [{ n: 2 }]],
    );
  },
);

poolTest(
  "no query ever sees another query's tables, one after another or at once",
  { size: 2 },
  async (pool) => {
    const sql = "SELECT min(tag) AS lo, max(tag) AS hi, count(*) AS n, " +
      "(SELECT count(*) FROM duckdb_tables()) AS tables, " +
      "(SELECT count(*) FROM duckdb_schemas() WHERE NOT internal) AS schemas FROM demo.numbers";
    const tags = Array.from({ length: 12 }, (_, i) => `tenant-${i}`);
    const results = await Promise.all(
      tags.map((tag, i) => pool.run({ tables: [numbers(10 + i, tag)], sql }, { tenantId: tag })),
    );
    results.forEach((r, i) => {
      assert.deepEqual(r.rows, [{ lo: tags[i], hi: tags[i], n: 10 + i, tables: 1, schemas: 1 }]);
    });
    const empty = await errorOf(pool.run({ tables: [], sql: "SELECT * FROM demo.numbers" }, {
      tenantId: "acme",
    }));
    assert.equal(empty.code, "PLAN_FAILED");
    const left = await pool.run({
      tables: [],
      sql: "SELECT (SELECT count(*) FROM duckdb_tables()) AS t, " +
        "(SELECT count(*) FROM duckdb_schemas() WHERE schema_name = 'demo') AS s",
    }, { tenantId: "acme" });
    assert.deepEqual(left.rows, [{ t: 0, s: 0 }]);
  },
);

poolTest("a query that needs more memory than the pool's gets an engine of its own", {
  size: 1,
  spares: 0,
  memoryLimitMb: 64,
}, async (pool) => {
  const big = "SELECT length(repeat('x', 150000000)) AS n";
  const refused = await errorOf(pool.run({ tables: [], sql: big }, { tenantId: "acme" }));
  assert.equal(refused.code, "RESOURCE_EXHAUSTED");
  const job = await pool.run({ tables: [], sql: big }, { tenantId: "acme", memoryLimitMb: 1024 });
  assert.deepEqual(job.rows, [{ n: 150000000 }]);
}, true);

poolTest(
  "the next query on an engine cannot reach the last query's database, by any name",
  { size: 1, spares: 0 },
  async (pool) => {
    const first = await pool.run({
      tables: [numbers(3, "first")],
      sql: "SELECT current_database() AS db, count(*) AS n FROM demo.numbers",
    }, { tenantId: "acme" });
    const db = String(first.rows[0].db);
    assert.match(db, /^q_[0-9a-f]{32}$/);
    assert.equal(first.rows[0].n, 3);
    // One engine only: the next queries run where the first one did, once it is clean.
    const err = await errorOf(pool.run({
      tables: [],
      sql: `SELECT * FROM "${db}".demo.numbers`,
    }, { tenantId: "globex" }));
    assert.equal(err.code, "PLAN_FAILED");
    const seen = await pool.run({
      tables: [],
      sql: "SELECT (SELECT count(*) FROM duckdb_tables()) AS tables, " +
        "(SELECT count(*) FROM duckdb_schemas() WHERE schema_name = 'demo') AS schemas, " +
        "current_database() <> '" + db + "' AS fresh",
    }, { tenantId: "globex" });
    assert.deepEqual(seen.rows, [{ tables: 0, schemas: 0, fresh: true }]);
    assert.deepEqual(pool.stats().replacements, 0);
  },
);

const LABELS: MaterializedTable = {
  schema: "demo",
  name: "labels",
  columns: [
    { name: "n", type: "integer", description: "" },
    { name: "label", type: "text", description: "" },
  ],
  rows: [],
};

/** A second table, `demo.labels`, whose rows arrive when `arrive` is called. */
function laterLabels() {
  const rows = Promise.withResolvers<Record<string, unknown>[]>();
  const table: MaterializedTable = { ...LABELS, rows: rows.promise };
  return {
    table,
    arrive: (n: number) =>
      rows.resolve(Array.from({ length: n }, (_, i) => ({ n: i, label: `L${i}` }))),
    fail: (err: unknown) => rows.reject(err),
  };
}

const JOIN = "SELECT count(*) AS c, sum(numbers.n) AS s FROM demo.numbers " +
  "JOIN demo.labels USING (n) WHERE label <> 'L0'";

/** Starts {@link JOIN} with its labels to come, once an engine is lent to load its numbers. */
async function joinAwaitingLabels(pool: EnginePool, signal?: AbortSignal) {
  await pool.warm();
  const labels = laterLabels();
  const running = pool.run({ tables: [numbers(10), labels.table], sql: JOIN }, {
    tenantId: "acme",
    signal,
  });
  await eventually(() => pool.stats().lent === 1, "an engine is lent to the query");
  return { labels, running };
}

/** Starts `sql` over the labels alone, on a pool whose engines are all started, its rows to come. */
async function labelsAwaited(pool: EnginePool, sql: string) {
  await pool.warm("all");
  const labels = laterLabels();
  return { labels, running: pool.run({ tables: [labels.table], sql }, { tenantId: "acme" }) };
}

/** The tables another query on the pool can see: none, whatever ran before it. */
async function visibleTables(pool: EnginePool, tenantId: string) {
  const result = await pool.run({
    tables: [],
    sql: "SELECT count(*) AS c FROM duckdb_tables() WHERE NOT internal",
  }, { tenantId });
  return result.rows[0].c;
}

poolTest(
  "tables that arrive while another is fetched are loaded ahead into a lent engine",
  { size: 2, spares: 1 },
  async (pool) => {
    await pool.warm("all");
    const { labels, running } = await joinAwaitingLabels(pool);
    // The lent engine still counts for no query: another tenant's query runs meanwhile.
    const other = await pool.run({
      tables: [numbers(4)],
      sql: "SELECT sum(n) AS s FROM demo.numbers",
    }, {
      tenantId: "globex",
    });
    assert.deepEqual(other.rows, [{ s: 6 }]);
    labels.arrive(5);
    const result = await running;
    assert.deepEqual(result.rows, [{ c: 4, s: 10 }]);
    assert.ok((result.timing.loaded_ahead_ms ?? -1) >= 0, "the first table was loaded ahead");
    assert.equal(pool.stats().lent, 0);
  },
);

poolTest(
  "a query whose only table is still fetched gets an engine lent at once, its table made ahead",
  { size: 2, spares: 1 },
  async (pool) => {
    const { labels, running } = await labelsAwaited(
      pool,
      "SELECT count(*) AS c FROM demo.labels WHERE label <> 'L0'",
    );
    await eventually(() => pool.stats().lent === 1, "an engine is lent before any rows are in");
    labels.arrive(5);
    const result = await running;
    assert.deepEqual(result.rows, [{ c: 4 }]);
    assert.ok((result.timing.loaded_ahead_ms ?? -1) >= 0, "the engine worked before the rows");
    assert.equal(pool.stats().lent, 0);
    assert.equal(await visibleTables(pool, "acme"), 0);
  },
);

poolTest(
  "a lent engine warms up while its query's rows are on their way, and the query sees none of it",
  { size: 2, spares: 1 },
  async (pool) => {
    const { labels, running } = await labelsAwaited(
      pool,
      "SELECT count(*) AS c, (SELECT count(*) FROM duckdb_tables() " +
        "WHERE table_name = 'omnisql_warm') AS warm FROM demo.labels WHERE label <> 'L0'",
    );
    await eventually(() => pool.stats().warmUps >= 3, "warm-ups ran while the rows were awaited");
    labels.arrive(5);
    const result = await running;
    assert.deepEqual(result.rows, [{ c: 4, warm: 0 }]);
    // Once the query has taken its engine, it warms up no more.
    const warmUps = pool.stats().warmUps;
    await new Promise((resolve) => setTimeout(resolve, 250));
    assert.equal(pool.stats().warmUps, warmUps);
    assert.equal(await visibleTables(pool, "acme"), 0);
    assert.equal(pool.stats().replacements, 0);
  },
);

poolTest(
  "a pool told not to keep lent engines warm runs no warm-up while the rows are awaited",
  { size: 2, spares: 1, keepWarmMs: 0 },
  async (pool) => {
    const { labels, running } = await labelsAwaited(
      pool,
      "SELECT count(*) AS c FROM demo.labels WHERE label <> 'L0'",
    );
    await eventually(() => pool.stats().lent === 1, "an engine is lent before any rows are in");
    await new Promise((resolve) => setTimeout(resolve, 250));
    labels.arrive(5);
    assert.deepEqual((await running).rows, [{ c: 4 }]);
    assert.equal(pool.stats().warmUps, 0);
  },
);

poolTest(
  "SQL put to the gate ahead is still refused by the query, and the engine stays clean",
  { size: 1, spares: 0 },
  async (pool) => {
    await pool.warm();
    const refused = [["DROP TABLE demo.labels", "INVALID_REQUEST"], ["SELEC 1", "PLAN_FAILED"]];
    for (const [sql, code] of refused) {
      await eventually(() => pool.stats().idle === 1, "the engine is back");
      const labels = laterLabels();
      const running = pool.run({ tables: [labels.table], sql }, { tenantId: "acme" });
      await eventually(() => pool.stats().lent === 1, "an engine is lent before any rows are in");
      labels.arrive(2);
      assert.equal((await errorOf(running)).code, code, sql);
    }
    // Twice: a refusal is never remembered as a pass.
    const labels = laterLabels();
    const again = pool.run({ tables: [labels.table], sql: "DROP TABLE demo.labels" }, {
      tenantId: "acme",
    });
    labels.arrive(1);
    assert.equal((await errorOf(again)).code, "INVALID_REQUEST");
    assert.equal(await visibleTables(pool, "acme"), 0);
    assert.equal(pool.stats().replacements, 0);
  },
);

poolTest(
  "a lent engine is taken back when the pool needs it, and the query still gets every table",
  { size: 1, spares: 0 },
  async (pool) => {
    const { labels, running } = await joinAwaitingLabels(pool);
    // Another query needs the only engine: it is taken back (its loaded table dropped).
    assert.equal(await visibleTables(pool, "globex"), 0, "the lent engine's table is gone");
    assert.equal(pool.stats().lent, 0);
    labels.arrive(5);
    const result = await running;
    assert.deepEqual(result.rows, [{ c: 4, s: 10 }]);
    assert.equal(result.timing.loaded_ahead_ms, undefined, "everything was sent with the SQL");
  },
);

poolTest(
  "a table that fails to arrive fails the run and returns the lent engine clean",
  { size: 1, spares: 0 },
  async (pool) => {
    const { labels, running } = await joinAwaitingLabels(pool);
    const fetchFailed = new OmniError("SOURCE_TIMEOUT", "jira did not answer");
    labels.fail(fetchFailed);
    assert.equal(await errorOf(running), fetchFailed);
    assert.equal(pool.stats().lent, 0);
    assert.equal(await visibleTables(pool, "acme"), 0);
    assert.equal(pool.stats().replacements, 0, "dropped, not killed");
  },
);

/** `demo.numbers` with rows to come, and the label of each row `wide` characters long. */
function laterNumbers() {
  const rows = Promise.withResolvers<Record<string, unknown>[]>();
  const table: MaterializedTable = { ...numbers(0), rows: rows.promise };
  return {
    table,
    arrive: (n: number, wide = 1) => {
      const tag = "t".repeat(wide);
      rows.resolve(Array.from({ length: n }, (_, i) => ({ n: i, tag })));
    },
  };
}

poolTest(
  "a query written behind a load still running answers on every row of both",
  { size: 2, spares: 1 },
  async (pool) => {
    await pool.warm("all");
    const big = laterNumbers();
    const labels = laterLabels();
    const running = pool.run({ tables: [big.table, labels.table], sql: JOIN }, {
      tenantId: "acme",
    });
    await eventually(() => pool.stats().lent === 1, "an engine is lent to the query");
    // In one turn: the query's frame is written while the engine still inserts the big table.
    big.arrive(200_000, 20);
    labels.arrive(5);
    const result = await running;
    assert.deepEqual(result.rows, [{ c: 4, s: 10 }]);
    assert.ok((result.timing.loaded_ahead_ms ?? 0) > 0, "the big table was loaded ahead");
    assert.equal(await visibleTables(pool, "acme"), 0);
  },
);

poolTest(
  "an engine that dies loading ahead, its query written behind: the query runs afresh",
  { size: 2, spares: 1 },
  async (pool) => {
    await pool.warm("all");
    const rss = (pid: number) => Number(Deno.readTextFileSync(`/proc/${pid}/statm`).split(" ")[1]);
    const baseline = new Map(pool.processIds().map((pid) => [pid, rss(pid)]));
    const big = laterNumbers();
    const labels = laterLabels();
    const running = pool.run({ tables: [big.table, labels.table], sql: JOIN }, {
      tenantId: "acme",
    });
    await eventually(() => pool.stats().lent === 1, "an engine is lent to the query");
    // About 150 MB of labels, then the last table in the same turn: the query's frame is
    // written behind the load, and the engine dies while inserting (its memory growing).
    big.arrive(300_000, 500);
    labels.arrive(5);
    const pages = 64 * 1024 * 1024 / 4096;
    await eventually(() => {
      const loading = [...baseline].find(([pid, before]) => rss(pid) - before > pages);
      if (loading) Deno.kill(loading[0], "SIGKILL");
      return loading !== undefined;
    }, "the lent engine is loading");
    const result = await running;
    assert.deepEqual(result.rows, [{ c: 4, s: 10 }]);
    assert.equal(result.timing.loaded_ahead_ms, undefined, "answered afresh, not by the loan");
    assert.equal(pool.stats().lent, 0);
    assert.equal(await visibleTables(pool, "acme"), 0);
  },
);

poolTest(
  "a deadline while a table is awaited stops the run at once",
  { size: 1, spares: 0 },
  async (pool) => {
    const { signal, stop } = stopper();
    const { running } = await joinAwaitingLabels(pool, signal);
    stop();
    assert.equal((await errorOf(running)).code, "QUERY_TIMEOUT");
    await eventually(() => pool.stats().idle === 1, "the engine is back");
    assert.equal(pool.stats().lent, 0);
  },
);

poolTest(
  "joins whose tables arrive at different times, some never, each get their own answer",
  { size: 2, spares: 1 },
  async (pool) => {
    await pool.warm("all");
    const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
    const join = async (i: number) => {
      const tag = `q${i}`;
      const n = 5 + (i % 7);
      const later = <T>(rows: T[], ms: number, fails = false) =>
        sleep(ms).then(() => {
          if (fails) throw new OmniError("SOURCE_TIMEOUT", tag);
          return rows;
        });
      const tagged: MaterializedTable = {
        ...numbers(0),
        rows: later(Array.from({ length: n }, (_, k) => ({ n: k, tag })), (i * 7) % 29),
      };
      const keys: MaterializedTable = {
        ...LABELS,
        rows: later(Array.from({ length: n }, (_, k) => ({ n: k })), (i * 11) % 31, i % 10 === 3),
      };
      const answer = pool.run({
        tables: [tagged, keys],
        sql: "SELECT count(*) AS c, min(tag) AS lo, max(tag) AS hi " +
          "FROM demo.numbers JOIN demo.labels USING (n)",
      }, { tenantId: `t${i % 3}` });
      if (i % 10 === 3) return assert.equal((await errorOf(answer)).message, tag);
      assert.deepEqual((await answer).rows, [{ c: n, lo: tag, hi: tag }]);
    };
    // Spaced so that some find an idle engine to load ahead and others a busy pool.
    const joins: Promise<void>[] = [];
    for (let i = 0; i < 30; i++) {
      joins.push(join(i));
      await sleep(100);
    }
    await Promise.all(joins);
    await eventually(() => pool.stats().idle === 3, "every engine is back");
    assert.equal(pool.stats().lent, 0);
    assert.equal(await visibleTables(pool, "t0"), 0);
  },
);

poolTest(
  "a seed one query sets does not steer the next query's random()",
  { size: 1, spares: 0 },
  async (pool) => {
    const run = async (sql: string) =>
      (await pool.run({ tables: [], sql }, { tenantId: "acme" })).rows[0];
    const after = async () => {
      await run("SELECT setseed(0.42) AS s");
      await eventually(() => pool.stats().idle === 1, "the engine is back");
      return (await run("SELECT random() AS r")).r;
    };
    // The same engine both times: without a fresh seed between queries, both would be equal.
    const first = await after();
    await eventually(() => pool.stats().idle === 1, "the engine is back");
    assert.notEqual(await after(), first);
    assert.equal(pool.stats().replacements, 0, "one engine served every query");
  },
);
