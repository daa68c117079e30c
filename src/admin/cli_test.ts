/**
 * The admin CLI as scripts use it: `deno task admin …` in a subprocess, against a fresh Postgres
 * catalog of its own (seeded with the demo, its connections pointing at live sandboxes).
 */
import assert from "node:assert/strict";
import { startDemoSandboxes } from "../../connectors/demo/sandboxes.ts";
import { openTestCatalog } from "../catalog/testing.ts";
import { loadConfig } from "../config.ts";
import { runCli } from "./cli.ts";

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

Deno.test("deno task admin: help, exit codes, JSON, and changes to tenants, users, connections", async (t) => {
  const sandboxes = await startDemoSandboxes();
  const db = await openTestCatalog("postgres", { seed: sandboxes.urls });
  const admin = async (...args: string[]): Promise<Run> => {
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["task", "-q", "admin", ...args],
      cwd: new URL("../../", import.meta.url),
      env: { DATABASE_URL: db.databaseUrl!, OMNISQL_MASTER_KEY: db.masterKey, NO_COLOR: "1" },
      stdin: "null",
    }).output();
    const decode = (b: Uint8Array) => new TextDecoder().decode(b);
    return { code: out.code, stdout: decode(out.stdout), stderr: decode(out.stderr) };
  };
  const json = (run: Run) => {
    assert.equal(run.code, 0, run.stderr);
    return JSON.parse(run.stdout);
  };
  try {
    await t.step("--help works at every level and documents the exit codes", async () => {
      const top = await admin("--help");
      assert.equal(top.code, 0);
      for (
        const noun of ["tenants", "users", "connections", "tokens", "audit", "catalog", "jobs"]
      ) {
        assert.match(top.stdout, new RegExp(`^  ${noun} `, "m"));
      }
      assert.match(top.stdout, /Exit codes: 0 ok · 1 bad usage .* 2 the operation failed/);
      const verb = await admin("connections", "test", "--help");
      assert.equal(verb.code, 0);
      assert.match(verb.stdout, /--tenant <tenant>/);
    });

    await t.step(
      "bad usage exits 1, a failed operation exits 2, each with a clear error",
      async () => {
        const unknown = await admin("nonsense");
        assert.equal(unknown.code, 1);
        assert.match(unknown.stderr, /unknown command 'nonsense'/);
        const missing = await admin("tenants", "create", "initech");
        assert.equal(missing.code, 1);
        assert.match(missing.stderr, /--zone/);
        const zone = await admin("tenants", "create", "initech", "--zone", "mars");
        assert.equal(zone.code, 2);
        assert.match(zone.stderr, /unknown zone mars; zones: us, eu/);
      },
    );

    await t.step("tenants and users change and list as JSON", async () => {
      assert.equal(
        json(await admin("tenants", "create", "initech", "--zone", "eu", "--json")).zone,
        "eu",
      );
      const tenants = json(await admin("tenants", "list", "--json"));
      assert.deepEqual(tenants.map((x: { id: string }) => x.id).sort(), [
        "acme",
        "globex",
        "initech",
      ]);
      const user = json(
        await admin(
          "users",
          "set",
          "bob@initech",
          "--tenant",
          "initech",
          "--role",
          "developer",
          "--team",
          "web",
          "--attr",
          "region=emea",
          "--json",
        ),
      );
      assert.deepEqual([user.role, user.teamId, user.attributes.region], [
        "developer",
        "web",
        "emea",
      ]);
      const newUser = await admin("users", "set", "eve@initech", "--tenant", "initech");
      assert.equal(newUser.code, 2);
      assert.match(newUser.stderr, /--role is required/);
      // Names policies cannot read, and claims that say who the caller is, are refused.
      for (const [attr, why] of [["Region=x", /lower-case/], ["tenant=globex", /from the token/]]) {
        const refused = await admin(
          "users",
          "set",
          "bob@initech",
          "--tenant",
          "initech",
          "--attr",
          attr as string,
        );
        assert.equal(refused.code, 2, attr as string);
        assert.match(refused.stderr, why as RegExp);
      }
    });

    await t.step(
      "connections test reports auth and quota; bad credentials fail it, unprinted",
      async () => {
        const ok = json(await admin("connections", "test", "github", "--tenant", "acme", "--json"));
        assert.equal(ok.ok, true);
        assert.equal(ok.auth, "ok");
        assert.equal(typeof ok.quota?.remaining, "number");

        const set = await admin(
          "connections",
          "set-credentials",
          "github",
          "--tenant",
          "acme",
          "--credential",
          "token=ghp_wrong_secret_value",
        );
        assert.equal(set.code, 0, set.stderr);
        assert.ok(!set.stdout.includes("ghp_wrong_secret_value"));
        const bad = await admin("connections", "test", "github", "--tenant", "acme", "--json");
        assert.equal(bad.code, 2);
        const report = JSON.parse(bad.stdout);
        assert.equal(report.auth, "failed");
        assert.equal(report.error.code, "SOURCE_ERROR");
        const listed = await admin("connections", "list", "--tenant", "acme", "--json");
        assert.ok(!listed.stdout.includes("ghp_"), "credentials never listed");
      },
    );

    await t.step("an MCP connection: test, and tables discovered from its tools", async () => {
      // Every command here is about the MCP connection `support` of tenant globex.
      const support = (verb: string, ...rest: string[]) =>
        admin("connections", verb, "support", "--tenant", "globex", ...rest);
      const ok = json(await support("test", "--json"));
      assert.equal(ok.ok, true, JSON.stringify(ok));
      assert.equal(ok.quota?.limit, 600, "the connection's own calls budget");
      const empty = await Deno.makeTempFile({ suffix: ".json" });
      await Deno.writeTextFile(empty, JSON.stringify({ tables: [] }));
      const cleared = await support("update", "--config-file", empty);
      assert.equal(cleared.code, 0, cleared.stderr);
      const seen = json(await support("discover", "--json"));
      assert.deepEqual(seen.discovered.map((t: { name: string }) => t.name), ["tickets"]);
      assert.deepEqual(seen.added, []);
      const applied = json(await support("discover", "--apply", "--json"));
      assert.deepEqual(applied.added, ["tickets"]);
      const again = json(await support("test", "--json"));
      assert.equal(again.ok, true, JSON.stringify(again));
      await Deno.writeTextFile(empty, JSON.stringify({ tables: [{ name: "Bad", tool: "x" }] }));
      const bad = await support("update", "--config-file", empty);
      assert.equal(bad.code, 2);
      assert.match(bad.stderr, /table Bad: name: lower-case identifier/);
      const notMcp = await admin("connections", "discover", "github", "--tenant", "acme");
      assert.equal(notMcp.code, 2);
    });

    await t.step("connections describe, update and remove", async () => {
      const help = await admin("connections", "update", "--help");
      assert.equal(help.code, 0, help.stderr);
      assert.match(help.stdout, /--base-url <url>/);
      assert.match(help.stdout, /--config-file <path>/);
      for (const id of ["github", "jira", "linear", "salesforce"]) {
        const described = await admin("connections", "describe", id);
        assert.equal(described.code, 0, described.stderr);
        assert.match(described.stdout, /^config \(--config-file/m);
        assert.match(described.stdout, /^credentials \(--credentials-file/m);
        assert.match(described.stdout, /connections add \w+ --tenant TENANT --connector/);
      }
      const schema = json(await admin("connections", "describe", "github", "--json"));
      assert.deepEqual(schema.config.map((s: { name: string }) => s.name).slice(0, 2), [
        "owner",
        "repos",
      ]);

      const before = json(await admin("connections", "list", "--tenant", "acme", "--json"))
        .find((c: { name: string }) => c.name === "jira");
      const dir = await Deno.makeTempDir();
      try {
        const bad = `${dir}/bad.json`;
        await Deno.writeTextFile(bad, JSON.stringify({ projects: [] }));
        const updateJira = (...args: string[]) =>
          admin("connections", "update", "jira", "--tenant", "acme", ...args);
        const refused = await updateJira("--config-file", bad);
        assert.equal(refused.code, 2);
        assert.match(refused.stderr, /projects/);
        const good = `${dir}/good.json`;
        await Deno.writeTextFile(good, JSON.stringify({ ...before.config, projects: ["MOB"] }));
        const updated = json(
          await updateJira(
            "--config-file",
            good,
            "--base-url",
            before.baseUrl.replace("127.0.0.1", "localhost"),
            "--json",
          ),
        );
        assert.deepEqual(updated.config.projects, ["MOB"]);
        assert.equal(updated.baseUrl, before.baseUrl.replace("127.0.0.1", "localhost"));
      } finally {
        await Deno.remove(dir, { recursive: true });
      }
      const nothing = await admin("connections", "update", "jira", "--tenant", "acme");
      assert.equal(nothing.code, 2);
      assert.match(nothing.stderr, /--base-url and\/or --config-file/);

      assert.equal((await admin("connections", "remove", "jira", "--tenant", "acme")).code, 0);
      const left = json(await admin("connections", "list", "--tenant", "acme", "--json"));
      assert.ok(!left.some((c: { name: string }) => c.name === "jira"));
      const again = await admin("connections", "remove", "jira", "--tenant", "acme");
      assert.equal(again.code, 2);
      assert.match(again.stderr, /no connection named jira/);
    });

    await t.step("jobs list and the audit log of the admin changes", async () => {
      assert.deepEqual(json(await admin("jobs", "list", "--tenant", "acme", "--json")), []);
      const audit = json(await admin("audit", "tail", "--tenant", "acme", "--json"));
      assert.ok(
        audit.some((r: { sql: string }) => r.sql === "admin connections set-credentials github"),
      );
      assert.ok(audit.some((r: { sql: string }) => r.sql === "admin connections remove jira"));
    });
  } finally {
    await db.close();
    await sandboxes.close();
  }
});

Deno.test("the admin CLI refuses a deployment's catalog with the public dev master key", async () => {
  let opened = false;
  const lines: string[] = [];
  const run = (env: Record<string, string>) =>
    runCli(["tenants", "list"], {
      config: loadConfig(env),
      openCatalog: () => {
        opened = true;
        return Promise.resolve(undefined);
      },
      print: (line) => lines.push(line),
    });
  assert.equal(await run({ DATABASE_URL: "postgres://db.example/omnisql" }), 2);
  assert.equal(opened, false, "the catalog is not even opened");
  // The local stack's embedded catalog (no DATABASE_URL) keeps working with the dev defaults.
  await run({});
  assert.equal(opened, true);
});
