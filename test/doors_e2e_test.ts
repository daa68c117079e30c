/**
 * The ways in besides `POST /v1/query`: the Postgres wire-protocol door (psql, the `postgres`
 * driver, the introspection queries of psql, DBeaver, Grafana and Metabase) and the MCP
 * endpoint — same entitlements, same answers, and one audit record per statement with its door.
 */
import assert from "node:assert/strict";
import { and, eq, inArray } from "drizzle-orm";
// @ts-types="npm:@modelcontextprotocol/sdk@1.32.2/client/index"
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
// @ts-types="npm:@modelcontextprotocol/sdk@1.32.2/client/streamableHttp"
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { postQuery, startTestStack, tokenFor } from "./_stack.ts";
import { pgDriver } from "./_doors.ts";
import { BackendBatch, type MessageWriter } from "../src/doors/pg/protocol.ts";
import { signIn, untilReady } from "../src/doors/pg/testing.ts";
import { RECORDED } from "./_pg_introspection.ts";
import { auditLog } from "../src/catalog/schema.ts";
import { sqlDigest } from "../src/catalog/audit.ts";

const PR_COUNT = "SELECT count(*) AS n FROM github.pull_requests";

function psql(port: number, user: string, password: string, command: string) {
  return new Deno.Command("psql", {
    args: [
      `host=127.0.0.1 port=${port} user=${user} dbname=omnisql sslmode=disable`,
      "-At",
      "-v",
      "VERBOSITY=verbose",
      "-c",
      command,
    ],
    env: { PGPASSWORD: password, PGCONNECT_TIMEOUT: "20" },
    stdout: "piped",
    stderr: "piped",
  }).output().then((o) => ({
    ok: o.success,
    out: new TextDecoder().decode(o.stdout).trim(),
    err: new TextDecoder().decode(o.stderr).trim(),
  }));
}

Deno.test({
  name: "the Postgres and MCP doors",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn(t) {
    // Latency on every sandbox answer makes a fresh fetch slow enough to cancel.
    const stack = await startTestStack({ stack: { pgPort: 0, sandboxLatencyMs: 400 } });
    const port = stack.pgPort!;
    const dev = await tokenFor(stack, "acme", "dev@acme");
    const admin = await tokenFor(stack, "acme", "admin@acme");
    const driver = (user: string, password: string) => pgDriver(port, user, password);
    const sql = driver("dev@acme", dev);
    try {
      await t.step("psql counts with the user's row rules, equal to the HTTP answer", async () => {
        const asDev = await psql(port, "dev@acme", dev, PR_COUNT);
        const asAdmin = await psql(port, "admin@acme", admin, PR_COUNT);
        assert.ok(asDev.ok && asAdmin.ok, asDev.err + asAdmin.err);
        assert.ok(Number(asDev.out) > 0 && Number(asDev.out) < Number(asAdmin.out));
        const http = await postQuery(stack.edgeUrl, dev, { sql: PR_COUNT });
        assert.equal(String((http.body.rows as { n: number }[])[0].n), asDev.out);
      });

      await t.step(
        "a wrong, expired or another user's token is 28P01, never a session",
        async () => {
          const expired = await stack.devIssuer.mint(
            { sub: "dev@acme", tenant: "acme", role: "developer" },
            { ttlSeconds: -60 },
          );
          for (
            const [user, password] of [
              ["dev@acme", "not-a-token"],
              ["dev@acme", expired],
              ["admin@acme", dev],
            ]
          ) {
            const r = await psql(port, user, password, "SELECT 1");
            assert.equal(r.ok, false);
            assert.match(r.err, /password authentication failed/);
            const client = driver(user, password);
            await assert.rejects(
              client`SELECT 1`,
              (err: { code?: string }) => err.code === "28P01",
            );
            await client.end({ timeout: 1 });
          }
        },
      );

      await t.step("errors carry SQLSTATEs and the OmniSQL code", async () => {
        const cases: [string, string, string][] = [
          ["SELEC 1", "42601", "PLAN_FAILED"],
          ["SELECT * FROM github.nope", "42P01", "PLAN_FAILED"],
          ["SELECT nope FROM github.pull_requests", "42703", "PLAN_FAILED"],
          ["DELETE FROM github.pull_requests", "25006", "INVALID_REQUEST"],
        ];
        for (const [statement, sqlstate, code] of cases) {
          const r = await psql(port, "dev@acme", dev, statement);
          assert.equal(r.ok, false, statement);
          assert.match(r.err, new RegExp(`ERROR:  ${sqlstate}`), r.err);
          assert.match(r.err, new RegExp(code), r.err);
        }
      });

      await t.step("residency: a zone's tenant is routed there; direct-only is 42501", async () => {
        const globex = await tokenFor(stack, "globex", "dev@globex");
        const statement = "SELECT count(*) AS n FROM github.pull_requests";
        const wire = await psql(port, "dev@globex", globex, statement);
        assert.ok(wire.ok, wire.err);
        const http = await postQuery(stack.edgeUrl, globex, { sql: statement });
        assert.equal(String((http.body.rows as { n: number }[])[0].n), wire.out);
        assert.equal(http.body.region, "eu");
        await stack.catalog.setTenantDirectOnly("globex", true);
        try {
          const refused = await psql(port, "dev@globex", globex, statement);
          assert.match(refused.err, /ERROR: {2}42501/);
          assert.match(refused.err, /ENTITLEMENT_DENIED/);
        } finally {
          await stack.catalog.setTenantDirectOnly("globex", false);
        }
      });

      await t.step("psql's \\dt and \\d show the user's tables", async () => {
        const dt = await psql(port, "dev@acme", dev, "\\dt github.*");
        assert.match(dt.out, /^github\|pull_requests\|table\|/m);
        const d = await psql(port, "dev@acme", dev, "\\d github.pull_requests");
        assert.match(d.out, /^merged_at\|timestamp with time zone\|/m);
        const schemas = await psql(port, "dev@acme", dev, "\\dn");
        assert.doesNotMatch(schemas.out, /^public\|/m);
      });

      await t.step("parameters are bound as typed literals through the driver", async () => {
        const status = "merged";
        const rows = await sql`SELECT pr_id, status FROM github.pull_requests
          WHERE status = ${status} ORDER BY pr_id LIMIT ${3}`;
        assert.equal(rows.length, 3);
        assert.ok(rows.every((r) => r.status === "merged"));
        const hostile = "merged' OR '1'='1";
        const none = await sql`SELECT pr_id FROM github.pull_requests WHERE status = ${hostile}`;
        assert.equal(none.length, 0);
        await assert.rejects(
          sql.unsafe("SELECT pr_id FROM github.pull_requests LIMIT $1", ["3; DROP"]),
          (err: { code?: string }) => err.code === "22P02",
        );
      });

      await t.step("a cursor reads a portal in pieces of the rows it asks for", async () => {
        const query = "SELECT pr_id FROM github.pull_requests ORDER BY pr_id LIMIT 25";
        const whole = await sql.unsafe(query);
        assert.equal(whole.length, 25);
        // The driver's cursor sends Execute with a row limit and continues after each
        // PortalSuspended: every piece is at most 10 rows, and together they are the answer.
        const pieces: number[] = [];
        const ids: unknown[] = [];
        for await (const rows of sql.unsafe(query).cursor(10)) {
          pieces.push(rows.length);
          ids.push(...rows.map((r) => r.pr_id));
        }
        assert.deepEqual(pieces, [10, 10, 5]);
        assert.deepEqual(ids, whole.map((r) => r.pr_id));
      });

      await t.step(
        "portals suspended part-way: at most 8 held, each read on to its end",
        async () => {
          const conn = await signIn(port, "dev@acme", dev);
          const m = (code: string, body: (w: MessageWriter) => void) =>
            new BackendBatch().message(code, body).take();
          const sync = new BackendBatch().message("S").take();
          const bind = (portal: string) =>
            m("B", (w) => w.cstring(portal).cstring("s").int16(0).int16(0).int16(0));
          const execute = (portal: string, maxRows: number) =>
            m("E", (w) => w.cstring(portal).int32(maxRows));
          await conn.write(
            m("P", (w) =>
              w.cstring("s").cstring(
                "SELECT pr_id FROM github.pull_requests ORDER BY pr_id LIMIT 5",
              )
                .int16(0)),
          );
          for (let i = 0; i < 9; i++) {
            await conn.write(bind(`p${i}`)).then(() => conn.write(execute(`p${i}`, 2)));
          }
          await conn.write(sync);
          const first = await untilReady(conn);
          assert.deepEqual(
            first.filter((c) => c === "s").length,
            8,
          );
          assert.deepEqual(first.slice(-2), ["E 54000", "Z"]);
          // The rest of a suspended portal, then nothing more: it ran to its end.
          await conn.write(execute("p0", 0));
          await conn.write(execute("p0", 0));
          await conn.write(sync);
          assert.deepEqual(await untilReady(conn), ["D", "D", "D", "C", "C", "Z"]);
          // p0 no longer holds its answer: room for another.
          await conn.write(bind("p8"));
          await conn.write(execute("p8", 4));
          await conn.write(sync);
          assert.deepEqual(await untilReady(conn), ["2", "D", "D", "D", "D", "s", "Z"]);
          conn.close();
        },
      );

      await t.step("row descriptions carry the Postgres type of each column", async () => {
        const rows = await sql.unsafe(
          "SELECT pr_id, draft, merged_at, labels, title, count(*) OVER () AS total " +
            "FROM github.pull_requests LIMIT 1",
        );
        assert.deepEqual(rows.columns.map((c) => c.type), [20, 16, 1184, 3802, 25, 20]);
        assert.equal(typeof rows[0].draft, "boolean");
        assert.ok(rows[0].merged_at === null || rows[0].merged_at instanceof Date);
        assert.ok(Array.isArray(rows[0].labels));
        // The extended protocol: described by the user's catalog view.
        const prepared = await sql`SELECT pr_id, merged_at, count(*) OVER () AS total
          FROM github.pull_requests WHERE status = ${"merged"} LIMIT 1`;
        assert.deepEqual(prepared.columns.map((c) => c.type), [20, 1184, 20]);
        assert.ok(prepared[0].merged_at instanceof Date);
      });

      await t.step("session statements are answered harmlessly", async () => {
        const r = await psql(
          port,
          "dev@acme",
          dev,
          "BEGIN; SET search_path TO github; SET statement_timeout = '30s'; " +
            "SHOW statement_timeout; COMMIT; DISCARD ALL; SHOW server_version",
        );
        assert.ok(r.ok, r.err);
        // psql also prints each command's tag (BEGIN, SET, …), as with Postgres.
        const lines = r.out.split("\n");
        assert.deepEqual(lines.filter((l) => !/^[A-Z ]+$/.test(l)), ["30s", "18.6"]);
        await sql.begin(async (tx) => {
          const [row] = await tx`SELECT count(*) AS n FROM github.pull_requests`;
          assert.ok(Number(row.n) > 0);
        });
        // The identity is the token's: a setting that names another one is refused, not kept.
        for (const statement of ["SET ROLE admin", "SET SESSION AUTHORIZATION 'admin@acme'"]) {
          const refused = await psql(port, "dev@acme", dev, statement);
          assert.equal(refused.ok, false, statement);
          assert.match(refused.err, /ERROR: {2}42501/, refused.err);
        }
      });

      await t.step("introspection of psql, DBeaver, Grafana and Metabase replays", async () => {
        const [ids] = await sql.unsafe(
          "SELECT 'github'::regnamespace::oid::int AS ns, " +
            "'github.pull_requests'::regclass::oid::int AS rel",
        );
        for (const q of RECORDED) {
          const params = (q.params ?? []).map((p) =>
            p === "@github_oid" ? ids.ns : p === "@pull_requests_oid" ? ids.rel : p
          );
          const rows = await sql.unsafe(q.sql, params).catch((err: Error) => {
            throw new Error(`${q.tool} (${q.source}) failed: ${err.message}\n${q.sql}`);
          });
          if (q.expect) {
            assert.ok(
              JSON.stringify(rows).includes(q.expect),
              `${q.tool}: ${q.source} lacks ${q.expect}: ${JSON.stringify(rows).slice(0, 300)}`,
            );
          }
        }
        // The same queries over the simple protocol, as psql sends them.
        for (const q of RECORDED.filter((q) => !q.params)) {
          const r = await psql(port, "dev@acme", dev, q.sql);
          assert.ok(r.ok, `${q.tool} over the simple protocol: ${r.err}`);
        }
      });

      await t.step("the catalog holds only what /v1/catalog lists for the user", async () => {
        const listing = await (await fetch(`${stack.edgeUrl}/v1/catalog`, {
          headers: { authorization: `Bearer ${dev}` },
        })).json() as { tables: { table: string; columns: { name: string }[] }[] };
        const viewed = await sql.unsafe(
          "SELECT table_schema || '.' || table_name AS t, count(*)::int AS n " +
            "FROM information_schema.columns WHERE table_schema NOT IN " +
            "('pg_catalog', 'information_schema') GROUP BY 1 ORDER BY 1",
        );
        assert.deepEqual(
          viewed.map((r) => [r.t, r.n]),
          listing.tables.map((t) => [t.table, t.columns.length]).sort(),
        );
      });

      await t.step(
        "no statement changes the catalog view, or sleeps or allocates in it",
        async () => {
          const planted = "WITH i AS (INSERT INTO pg_catalog.pg_description VALUES " +
            "(888888, 1259, 0, 'planted') RETURNING 1) SELECT count(*) FROM i";
          const attacks: [string, string][] = [
            [planted, "25006"],
            // The verb hidden from a naive splitter by a dollar-quoted string.
            [
              "SELECT $$'$$; COMMIT; INSERT INTO pg_catalog.pg_description VALUES " +
              "(888888, 1259, 0, 'planted')",
              "25006",
            ],
            ["SELECT relname INTO pg_catalog.planted FROM pg_catalog.pg_class", "25006"],
            // Passes the door's check; the view's read-only transaction refuses it.
            ["SELECT relname FROM pg_catalog.pg_class FOR SHARE", "25006"],
            ["SELECT pg_sleep(40)", "42501"],
            ["SELECT pg_catalog.pg_sleep_for('40 seconds')", "42501"],
            ['SELECT U&"pg\\005fsleep"(40)', "42501"],
            ["SELECT length(repeat('x', 100000000)) FROM pg_catalog.pg_class LIMIT 1", "42501"],
            ["SELECT set_config('role', 'postgres', true)", "42501"],
            ["SELECT E'\\'', pg_catalog.pg_advisory_lock(1) --'", "42501"],
          ];
          for (const [statement, code] of attacks) {
            await assert.rejects(
              sql.unsafe(statement),
              (err: { code?: string }) => err.code === code,
              statement,
            );
          }
          const globex = await tokenFor(stack, "globex", "dev@globex");
          const probe = "SELECT count(*) FROM pg_catalog.pg_description WHERE objoid = 888888";
          for (const [user, token] of [["dev@acme", dev], ["dev@globex", globex]]) {
            const r = await psql(port, user, token, probe);
            assert.equal(r.out, "0", `${user}: ${r.err}`);
          }
        },
      );

      await t.step(
        "the catalog and an app's table read together are refused, not answered empty",
        async () => {
          for (
            const statement of [
              "SELECT * FROM github.pull_requests, pg_class LIMIT 1",
              'SELECT c.relname FROM pg_catalog.pg_class c JOIN "github".pull_requests p ON true',
            ]
          ) {
            await assert.rejects(
              sql.unsafe(statement),
              (err: { code?: string }) => err.code === "0A000",
              statement,
            );
          }
          const r = await psql(
            port,
            "dev@acme",
            dev,
            "SELECT * FROM github.pull_requests, pg_class",
          );
          assert.match(r.err, /cannot read the Postgres catalog and an app's tables together/);
        },
      );

      await t.step("a slow catalog statement is stopped; other tenants' still run", async () => {
        const slow = sql.unsafe(
          "SELECT count(g) FROM (SELECT pg_catalog.generate_series(1, 2000000000) AS g) s",
        ).then(() => "finished", (err: { code?: string }) => err.code);
        await new Promise((r) => setTimeout(r, 300));
        const globex = await tokenFor(stack, "globex", "dev@globex");
        const other = await psql(port, "dev@globex", globex, "\\dt github.*");
        assert.match(other.out, /^github\|pull_requests\|table\|/m, other.err);
        assert.equal(await slow, "57014");
        const [row] = await sql`SELECT count(*)::int AS n FROM pg_catalog.pg_namespace
          WHERE nspname = ${"github"}`;
        assert.equal(row.n, 1);
      });

      await t.step("a cancel request stops the running query", async () => {
        const query = sql.unsafe(
          "SELECT count(*) AS cancelled FROM jira.issues WHERE status = 'Done'",
        );
        const cancelled = query.then(() => "finished", (err: { code?: string }) => err.code);
        await new Promise((r) => setTimeout(r, 150));
        await query.cancel();
        assert.equal(await cancelled, "57014");
        const [row] = await sql`SELECT 1 AS still_open`;
        assert.equal(row.still_open, 1);
      });

      await t.step("MCP: 401 without a valid token", async () => {
        const init = {
          jsonrpc: "2.0",
          id: 1,
          method: "initialize",
          params: {
            protocolVersion: "2025-06-18",
            capabilities: {},
            clientInfo: { name: "t", version: "1" },
          },
        };
        for (
          const headers of [{}, { authorization: "Bearer forged" }] as Record<string, string>[]
        ) {
          const res = await fetch(`${stack.edgeUrl}/mcp`, {
            method: "POST",
            headers: {
              "content-type": "application/json",
              accept: "application/json, text/event-stream",
              ...headers,
            },
            body: JSON.stringify(init),
          });
          await res.body?.cancel();
          assert.equal(res.status, 401);
        }
      });

      await t.step(
        "MCP: tools listed, query answers the HTTP count, on edge and zone",
        async () => {
          const http = await postQuery(stack.edgeUrl, dev, { sql: PR_COUNT });
          const n = (http.body.rows as { n: number }[])[0].n;
          const zoneUrl = Object.values(stack.workerUrls)[0];
          for (const base of [stack.edgeUrl, zoneUrl]) {
            const client = new Client({ name: "test", version: "1.0.0" });
            await client.connect(
              new StreamableHTTPClientTransport(new URL(`${base}/mcp`), {
                requestInit: { headers: { authorization: `Bearer ${dev}` } },
              }),
            );
            try {
              const tools = (await client.listTools()).tools.map((tool) => tool.name).sort();
              assert.deepEqual(tools, ["describe_table", "explain", "list_tables", "query"]);
              const result = await client.callTool({ name: "query", arguments: { sql: PR_COUNT } });
              const structured = result.structuredContent as { rows: { n: number }[] };
              if (base === zoneUrl && result.isError) {
                // acme may live in another zone than the first worker: refused, never served.
                assert.match(JSON.stringify(result.content), /ENTITLEMENT_DENIED/);
                continue;
              }
              assert.equal(structured.rows[0].n, n);
              const bad = await client.callTool({
                name: "query",
                arguments: { sql: "SELECT * FROM github.nope" },
              });
              assert.equal(bad.isError, true);
              assert.match(JSON.stringify(bad.content), /PLAN_FAILED/);
            } finally {
              await client.close();
            }
          }
        },
      );

      await t.step("every statement is audited once, with its door", async () => {
        const marker = crypto.randomUUID().replaceAll("-", "").slice(0, 12);
        const statements = {
          pg: `SELECT count(*) AS door_pg_${marker} FROM github.pull_requests`,
          mcp: `SELECT count(*) AS door_mcp_${marker} FROM github.pull_requests`,
          http: `SELECT count(*) AS door_http_${marker} FROM github.pull_requests`,
        };
        assert.ok((await psql(port, "dev@acme", dev, statements.pg)).ok);
        const client = new Client({ name: "test", version: "1.0.0" });
        await client.connect(
          new StreamableHTTPClientTransport(new URL(`${stack.edgeUrl}/mcp`), {
            requestInit: { headers: { authorization: `Bearer ${dev}` } },
          }),
        );
        await client.callTool({ name: "query", arguments: { sql: statements.mcp } });
        await client.close();
        await postQuery(stack.edgeUrl, dev, { sql: statements.http });
        // Records are durable in the journals before the answers leave; committed shortly after.
        await stack.auditSettled();
        for (const [door, text] of Object.entries(statements)) {
          const rows = await stack.catalog.db.select({ door: auditLog.door }).from(auditLog)
            .where(and(
              eq(auditLog.tenantId, "acme"),
              inArray(auditLog.sql, [text, await sqlDigest(text)]),
            ));
          assert.deepEqual(rows.map((r) => r.door), [door], `${door}: ${JSON.stringify(rows)}`);
        }
        // Introspection is answered from the user's catalog, not the apps: nothing to audit.
        const catalogRows = await stack.catalog.db.select().from(auditLog)
          .where(eq(auditLog.sql, "SELECT version()"));
        assert.equal(catalogRows.length, 0);
      });
    } finally {
      await sql.end({ timeout: 5 });
      await stack.close();
    }
  },
});
