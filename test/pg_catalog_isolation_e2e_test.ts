/**
 * The Postgres door's catalog views isolate tenants in time as well as in content: one tenant's
 * heavy catalog statement (a cross join of `pg_class` and `pg_attribute`) is stopped by the
 * statement timeout with SQLSTATE 57014, while another tenant's catalog statements answer at
 * once and correctly, and learn nothing of the first tenant's tables or errors. A statement of
 * the heavy one's own view that waited behind it runs on the fresh view; a cancel request
 * stops a catalog statement. A tenant runs one catalog statement at a time, however many
 * catalogs (roles) its users see: it can keep no more than one view busy, nor take the views
 * from another tenant.
 */
import assert from "node:assert/strict";
import { startTestStack, tokenFor } from "./_stack.ts";
import { pgDriver } from "./_doors.ts";

const HEAVY = "SELECT count(*) AS n FROM pg_catalog.pg_class c1, pg_catalog.pg_attribute a1, " +
  "pg_catalog.pg_attribute a2, pg_catalog.pg_class c2";
const CLASSES = "SELECT count(*)::int AS n FROM pg_catalog.pg_class";
const TABLES = "SELECT schemaname || '.' || tablename AS name FROM pg_catalog.pg_tables " +
  "WHERE schemaname NOT IN ('pg_catalog', 'information_schema') ORDER BY 1";

Deno.test({
  name: "a tenant's heavy catalog statement stops with 57014 and never stalls another tenant's",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const stack = await startTestStack({ stack: { pgPort: 0 } });
    const driver = (user: string, password: string) => pgDriver(stack.pgPort!, user, password);
    const acme = driver("dev@acme", await tokenFor(stack, "acme", "dev@acme"));
    const acmeToo = driver("dev@acme", await tokenFor(stack, "acme", "dev@acme"));
    const globex = driver("dev@globex", await tokenFor(stack, "globex", "dev@globex"));
    try {
      // Both views open before the heavy statement, so only statements are measured against it.
      const names = async (sql: ReturnType<typeof pgDriver>) =>
        (await sql.unsafe(TABLES)).map((r) => r.name as string);
      const [acmeClasses] = await acme.unsafe(CLASSES);
      await acmeToo.unsafe(CLASSES);
      const [globexClasses] = await globex.unsafe(CLASSES);
      const globexTables = await names(globex);
      const acmeOnly = (await names(acme)).filter((n) => !globexTables.includes(n));

      const events: string[] = [];
      const heavy = acme.unsafe(HEAVY).then(
        () => ({ code: "finished", message: "" }),
        (err: { code?: string; message: string }) => ({ code: err.code, message: err.message }),
      ).finally(() => events.push("acme heavy ended"));
      // Let the heavy statement start (it runs for seconds before the timeout stops it).
      await new Promise((r) => setTimeout(r, 500));
      // Same view as the heavy statement: it waits behind it, then runs on the fresh view.
      const queued = acmeToo.unsafe(CLASSES).finally(() => events.push("acme queued ended"));
      const seen: unknown[] = [];
      for (let i = 0; i < 3; i++) {
        const [row] = await globex.unsafe(CLASSES);
        assert.equal(row.n, globexClasses.n);
        seen.push(row, await names(globex));
        seen.push(
          await globex.unsafe("SELECT table_schema, table_name FROM information_schema.tables"),
        );
      }
      events.push("globex answered");

      const stopped = await heavy;
      assert.equal(stopped.code, "57014", stopped.message);
      const [again] = await queued;
      assert.equal(again.n, acmeClasses.n);
      assert.equal(events[0], "globex answered", events.join(", "));
      assert.deepEqual(await names(globex), globexTables);
      // Nothing of acme's reached globex: none of its table names, nor its statement's error.
      const text = JSON.stringify(seen);
      for (const name of acmeOnly) assert.ok(!text.includes(name.split(".")[1]), name);
      // The heavy statement's view answers again.
      const [after] = await acme.unsafe(CLASSES);
      assert.equal(after.n, acmeClasses.n);
      // A cancel request stops a catalog statement (psql's Ctrl-C) long before the timeout.
      const running = acme.unsafe(HEAVY);
      const cancelled = running.then(() => "finished", (err: { code?: string }) => err.code)
        .finally(() => events.push("cancelled"));
      await new Promise((r) => setTimeout(r, 300));
      await running.cancel();
      assert.equal(await cancelled, "57014");
      const [last] = await acme.unsafe(CLASSES);
      assert.equal(last.n, acmeClasses.n);
    } finally {
      await Promise.all([acme.end(), acmeToo.end(), globex.end()]);
      await stack.close();
    }
  },
});

/** Every column the user sees, with its description (masked columns say so). */
const COLUMNS = "SELECT c.relname, a.attname, pg_catalog.col_description(c.oid, a.attnum) " +
  "FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace " +
  "JOIN pg_catalog.pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 " +
  "WHERE n.nspname NOT IN ('pg_catalog', 'information_schema', 'pg_toast') AND c.relkind = 'r' " +
  "ORDER BY 1, 2";

Deno.test({
  name: "a tenant's users of three catalogs run one catalog statement at a time; another " +
    "tenant's answers meanwhile",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const stack = await startTestStack({ stack: { pgPort: 0 } });
    const driver = async (tenant: string, user: string) =>
      pgDriver(stack.pgPort!, user, await tokenFor(stack, tenant, user));
    // Three roles of acme: three catalogs, each a view of its own — all of the door's room.
    const acme = await Promise.all(
      ["dev@acme", "qa@acme", "admin@acme"].map((user) => driver("acme", user)),
    );
    const globex = await driver("globex", "dev@globex");
    // Tells when it started and ended running (ms), after a tenth of a second of work or so: little
    // enough that a loaded machine cannot push it past the statement timeout (pg_sleep is refused).
    const now = "(extract(epoch FROM clock_timestamp()) * 1000)::bigint";
    const STAMPED = `SELECT ${now} AS started, (SELECT count(*) FROM pg_catalog.pg_attribute a1, ` +
      `pg_catalog.pg_class c1) AS n, ${now} AS ended`;
    try {
      const catalogs = new Set<string>();
      for (const sql of acme) {
        catalogs.add(JSON.stringify(await sql.unsafe(COLUMNS)));
      }
      assert.equal(catalogs.size, 3, "acme's three users see three catalogs");
      await globex.unsafe(CLASSES);

      const events: string[] = [];
      const heavy = acme[0].unsafe(HEAVY);
      const first = heavy.then(() => "finished", (err: { code?: string }) => err.code)
        .finally(() => events.push("acme 1"));
      // Let it start: the others arrive after it, so they queue behind it.
      await new Promise((r) => setTimeout(r, 500));
      const rest = acme.slice(1).map((sql, i) =>
        sql.unsafe(STAMPED).finally(() => events.push(`acme ${i + 2}`))
      );
      for (const reply of rest) reply.catch(() => {});
      const [row] = await globex.unsafe(CLASSES);
      assert.ok(row.n > 0);
      events.push("globex");

      // acme's first statement still runs (until cancelled, or its timeout), its others wait.
      await heavy.cancel();
      assert.equal(await first, "57014");
      const [[second], [third]] = await Promise.all(rest);
      assert.deepEqual(events, ["globex", "acme 1", "acme 2", "acme 3"]);
      assert.ok(Number(second.ended) <= Number(third.started), "acme's statements overlapped");
    } finally {
      await Promise.all([...acme, globex].map((sql) => sql.end()));
      await stack.close();
    }
  },
});
