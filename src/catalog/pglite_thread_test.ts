import assert from "node:assert/strict";
import { ThreadedPglite } from "./pglite_thread.ts";
import { openCatalog } from "./db.ts";
import { tenants } from "./schema.ts";

Deno.test("ThreadedPglite: transactions, locks and errors as on PGlite itself", async (t) => {
  const db = await ThreadedPglite.create({});
  try {
    await db.exec("CREATE TABLE t (id int PRIMARY KEY, at timestamptz DEFAULT now())");

    await t.step("a transaction commits when its callback returns", async () => {
      const n = await db.transaction(async (tx) => {
        await tx.query("INSERT INTO t (id) VALUES ($1)", [1]);
        return (await tx.query<{ n: number }>("SELECT count(*)::int AS n FROM t")).rows[0].n;
      });
      assert.equal(n, 1);
      assert.deepEqual((await db.query("SELECT id FROM t")).rows, [{ id: 1 }]);
    });

    await t.step("a throwing callback rolls back and its error reaches the caller", async () => {
      await assert.rejects(
        db.transaction(async (tx) => {
          await tx.query("INSERT INTO t (id) VALUES (2)");
          throw new Error("changed my mind");
        }),
        /changed my mind/,
      );
      assert.deepEqual((await db.query("SELECT id FROM t ORDER BY id")).rows, [{ id: 1 }]);
    });

    await t.step("an explicit rollback keeps nothing", async () => {
      await db.transaction(async (tx) => {
        await tx.query("INSERT INTO t (id) VALUES (3)");
        await tx.rollback();
      });
      assert.deepEqual((await db.query("SELECT id FROM t ORDER BY id")).rows, [{ id: 1 }]);
    });

    await t.step("a statement outside waits for the open transaction", async () => {
      const order: string[] = [];
      let outside: Promise<unknown> | undefined;
      await db.transaction(async (tx) => {
        outside = db.query("SELECT count(*)::int AS n FROM t").then((r) => {
          order.push(`outside saw ${(r.rows[0] as { n: number }).n}`);
        });
        await new Promise((r) => setTimeout(r, 50));
        await tx.query("INSERT INTO t (id) VALUES (4)");
        order.push("committed");
      });
      await outside;
      assert.deepEqual(order, ["committed", "outside saw 2"]);
    });

    await t.step("Postgres's error fields cross the thread", async () => {
      const err = await db.query("INSERT INTO t (id) VALUES (1)").catch((e) => e);
      assert.ok(err instanceof Error);
      assert.match(err.message, /duplicate key/);
      assert.equal((err as Error & { code?: string }).code, "23505");
    });

    await t.step("types Drizzle keeps as text stay text", async () => {
      const { rows } = await db.query<{ at: unknown }>("SELECT at FROM t WHERE id = 1", [], {
        parsers: { 1184: (v: unknown) => v },
      });
      assert.equal(typeof rows[0].at, "string");
      await assert.rejects(
        db.query("SELECT 1", [], { parsers: { 1184: (v: unknown) => `x${v}` } }),
        /does not cross threads/,
      );
    });
  } finally {
    await db.close();
  }
  await assert.rejects(db.query("SELECT 1"), /closed/);
});

Deno.test("the catalog runs its migrations and Drizzle queries on a worker's PGlite", async () => {
  const catalogDb = await openCatalog({ pgliteInWorker: true });
  try {
    await catalogDb.db.insert(tenants).values({ id: "acme", name: "Acme", zone: "us" });
    const rows = await catalogDb.db.select({ id: tenants.id, zone: tenants.zone }).from(tenants);
    assert.deepEqual(rows, [{ id: "acme", zone: "us" }]);
  } finally {
    await catalogDb.close();
  }
});

Deno.test("ThreadedPglite: a call the worker does not answer in time fails, and holds nothing", async (t) => {
  const db = await ThreadedPglite.create({ callTimeoutMs: 1500 });
  try {
    await t.step("a statement still running at the timeout rejects its caller", async () => {
      await assert.rejects(db.query("SELECT pg_sleep(3)"), /did not answer within 1500 ms/);
      // The worker finishes the sleep, then serves the next statement.
      await new Promise((r) => setTimeout(r, 2000));
      assert.deepEqual((await db.query("SELECT 1 AS one")).rows, [{ one: 1 }]);
    });

    await t.step("a transaction obtained after its caller gave up is rolled back", async () => {
      await db.exec("CREATE TABLE late (id int)");
      let releaseFirst!: () => void;
      const held = new Promise<void>((r) => releaseFirst = r);
      const first = db.transaction(async (tx) => {
        await tx.query("INSERT INTO late VALUES (1)");
        await held;
      });
      await new Promise((r) => setTimeout(r, 50));
      const second = db.transaction(async (tx) => {
        await tx.query("INSERT INTO late VALUES (2)");
      });
      await assert.rejects(second, /did not answer within 1500 ms \(begin\)/);
      releaseFirst();
      await first;
      // Had the late transaction been left open, this would wait for it forever.
      assert.deepEqual((await db.query("SELECT id FROM late")).rows, [{ id: 1 }]);
    });
  } finally {
    await db.close();
  }
});
