import assert from "node:assert/strict";
import { parse } from "yaml";
import { OmniError } from "../../src/errors.ts";
import { type Connection, findTable, runScan } from "../sdk/mod.ts";
import { loadManifest, manifestConnector, ManifestError, validateManifest } from "./mod.ts";
import { startStatuspageSandbox, statuspageIncidents } from "./examples/statuspage_sandbox.ts";

// deno-lint-ignore no-explicit-any
type Raw = Record<string, any>;
const EXAMPLE = Deno.readTextFileSync(new URL("./examples/statuspage.yaml", import.meta.url));

function badField(mutate: (m: Raw) => void): string {
  const raw = parse(EXAMPLE) as Raw;
  mutate(raw);
  try {
    validateManifest(raw, "test.yaml");
  } catch (err) {
    assert.ok(err instanceof ManifestError, String(err));
    return err.path;
  }
  throw new Error("the manifest was accepted");
}

Deno.test("a bad manifest fails loudly with the path of the bad field", () => {
  assert.equal(badField((m) => (m.api.style = "soap")), "api.style");
  assert.equal(
    badField((m) => (m.tables[0].columns[3].type = "varchar")),
    "tables[0].columns[3].type",
  );
  assert.equal(
    badField((m) => (m.tables[0].pagination.page_size = 0)),
    "tables[0].pagination.page_size",
  );
  assert.equal(
    badField((m) => (m.tables[0].request.filters[1].column = "nope")),
    "tables[0].request.filters[1].column",
  );
  assert.equal(badField((m) => (m.auth[0].style = "magic")), "auth[0].style");
  assert.equal(badField((m) => (m.tables[0].colums = [])), "tables[0].colums");
  assert.equal(badField((m) => m.tables.push(m.tables[0])), "tables[1].name");
  assert.throws(() => loadManifest("id: [unclosed", "x.yaml"), ManifestError);
});

// Every variant is the example manifest with a few fields changed: no code per API style.
const VARIANTS: [string, (m: Raw) => void, Record<string, string>][] = [
  ["offset + API key header (as shipped)", () => {}, { apiKey: "k" }],
  ["Link header + bearer", (m) => {
    m.tables[0].pagination = { style: "link", limit_param: "per_page", page_size: 10 };
  }, { accessToken: "tok" }],
  ["cursor + API key in the query", (m) => {
    m.auth = [{ style: "api_key_query", param: "api_key", credential: "apiKey" }];
    m.tables[0].pagination = {
      style: "cursor",
      limit_param: "limit",
      cursor_param: "cursor",
      cursor_path: "meta.next_cursor",
      page_size: 8,
    };
  }, { apiKey: "k" }],
  ["page numbers", (m) => {
    m.tables[0].pagination = {
      style: "page",
      limit_param: "per_page",
      page_param: "page",
      page_size: 25,
    };
  }, { apiKey: "k" }],
];

Deno.test("the REST runtime paginates and authenticates every style from the manifest alone", async () => {
  const sb = await startStatuspageSandbox({ pageId: "p 1", apiKey: "k", accessToken: "tok" });
  try {
    for (const [label, mutate, credentials] of VARIANTS) {
      const raw = parse(EXAMPLE) as Raw;
      mutate(raw);
      const connector = manifestConnector(validateManifest(raw, label));
      const conn: Connection = {
        id: "sp",
        tenantId: "t",
        connector: "statuspage",
        name: "statuspage",
        baseUrl: sb.url,
        credentials,
        config: { page_id: "p 1" },
      };
      const table = findTable(connector, "incidents");
      sb.requests.length = 0;
      const all = await runScan(connector, table, conn, {
        predicates: [],
        columns: ["id", "components"],
      });
      assert.deepEqual(
        all.rows.map((r) => r.id).sort(),
        statuspageIncidents().map((i) => i.id).sort(),
        label,
      );
      assert.ok(all.pages > 1, `${label}: one page`);
      assert.ok(sb.requests.every((r) => r.startsWith("/v1/pages/p%201/incidents")), label);
      const filtered = await runScan(connector, table, conn, {
        predicates: [{ column: "status", op: "in", values: ["resolved", "postmortem"] }],
        columns: ["id", "status"],
      });
      assert.deepEqual(
        filtered.rows.map((r) => r.id).sort(),
        statuspageIncidents().filter((i) => i.status === "resolved" || i.status === "postmortem")
          .map((i) => i.id).sort(),
        label,
      );
      assert.equal(filtered.plan.pushed.length, 1);
    }
  } finally {
    await sb.close();
  }
});

Deno.test("a missing config value or credential is a clear SOURCE_ERROR", async () => {
  const connector = manifestConnector(loadManifest(EXAMPLE));
  const table = findTable(connector, "incidents");
  const conn: Connection = {
    id: "sp",
    tenantId: "t",
    connector: "statuspage",
    name: "statuspage",
    baseUrl: "http://127.0.0.1:9",
    credentials: { apiKey: "k" },
    config: {},
  };
  await assert.rejects(
    () => runScan(connector, table, conn, { predicates: [], columns: ["id"] }),
    (err) => err instanceof OmniError && err.code === "SOURCE_ERROR" && /page_id/.test(err.message),
  );
  await assert.rejects(
    () =>
      runScan(connector, table, { ...conn, credentials: {}, config: { page_id: "p" } }, {
        predicates: [],
        columns: ["id"],
      }),
    (err) => err instanceof OmniError && /apiKey or accessToken/.test(err.message),
  );
});

Deno.test("an oauth2 manifest gets its token from the token endpoint, once, and sends it as Bearer", async () => {
  const sb = await startStatuspageSandbox({ pageId: "p1", apiKey: "k", accessToken: "tok" });
  const grants: URLSearchParams[] = [];
  const issuer = Deno.serve({ port: 0, hostname: "127.0.0.1", onListen: () => {} }, async (req) => {
    const form = new URLSearchParams(await req.text());
    grants.push(form);
    const ok = form.get("client_id") === "app" &&
      (form.get("client_secret") === "s3cret" || form.get("refresh_token") === "r1");
    return Response.json(
      ok ? { access_token: "tok", token_type: "bearer", expires_in: 3600 } : {
        error: "invalid_client",
      },
      { status: ok ? 200 : 401 },
    );
  });
  try {
    const raw = parse(EXAMPLE) as Raw;
    raw.auth = [{
      style: "oauth2",
      credential: "clientId",
      token_url: `http://127.0.0.1:${issuer.addr.port}/oauth/token`,
      scope: "incidents.read",
    }];
    const connector = manifestConnector(validateManifest(raw, "oauth.yaml"));
    const table = findTable(connector, "incidents");
    const conn = (id: string, credentials: Record<string, string>): Connection => ({
      id,
      tenantId: "t",
      connector: "statuspage",
      name: "statuspage",
      baseUrl: sb.url,
      credentials,
      config: { page_id: "p1" },
    });
    const offer = { predicates: [], columns: ["id"] };
    const cc = conn("cc", { clientId: "app", clientSecret: "s3cret" });
    const first = await runScan(connector, table, cc, offer);
    await runScan(connector, table, cc, offer);
    assert.equal(first.rows.length, statuspageIncidents().length);
    assert.equal(grants.length, 1, "the token is reused until it expires");
    assert.equal(grants[0].get("grant_type"), "client_credentials");
    assert.equal(grants[0].get("scope"), "incidents.read");
    await runScan(connector, table, conn("rt", { clientId: "app", refreshToken: "r1" }), offer);
    assert.equal(grants[1].get("grant_type"), "refresh_token");
    // A client the endpoint refuses is a SOURCE_ERROR that names no secret.
    const refused = await runScan(
      connector,
      table,
      conn("bad", { clientId: "app", clientSecret: "wrong" }),
      offer,
    ).then(() => undefined, (err: unknown) => err);
    assert.ok(refused instanceof OmniError && refused.code === "SOURCE_ERROR", String(refused));
    assert.ok(!refused.message.includes("wrong"));
    // A client id alone is not enough to pick the style: a clear missing-credentials error.
    const missing = await runScan(connector, table, conn("none", { clientId: "app" }), offer)
      .then(() => undefined, (err: unknown) => err);
    assert.ok(missing instanceof OmniError && /no credentials/.test(missing.message));
    assert.deepEqual(
      connector.connection?.credentials[0].map((c) => [c.name, c.required]),
      [["clientId", true], ["clientSecret", false], ["refreshToken", false]],
    );
  } finally {
    await issuer.shutdown();
    await sb.close();
  }
});
