/**
 * `deno task start`: the whole product locally, with no set-up and no network — the apps'
 * sandboxes, an embedded catalog, a worker per zone and the edge.
 *
 * @module
 */
import { startLocalStack } from "./edge/local_stack.ts";
import { loadConfig } from "./src/config.ts";
import { removeStackFile, writeStackFile } from "./src/admin/stack_file.ts";

const config = loadConfig(Deno.env.toObject());
const catalogPort = Number(Deno.env.get("CATALOG_PORT") ?? config.port + 32);
const stack = await startLocalStack(config, {
  catalogPort: config.databaseUrl ? undefined : catalogPort,
  sandboxPorts: {
    github: config.port + 10,
    jiraAcme: config.port + 11,
    jiraGlobex: config.port + 12,
  },
  warmEngines: "all",
  // Records durable before answers leave, when the catalog itself is durable.
  auditJournalDir: config.auditJournalDir ??
    (config.databaseUrl || config.pgliteDataDir ? ".omnisql/audit" : undefined),
  pgPort: Number(Deno.env.get("PG_PORT") ?? 5433),
  pgPortFallback: Deno.env.get("PG_PORT") === undefined,
  pgTls: pgTls(Deno.env.get("PG_TLS_KEY_FILE"), Deno.env.get("PG_TLS_CERT_FILE")),
});

// Tells `deno task admin` where this stack's catalog is, whatever PORT it was started on.
if (stack.catalogUrl) {
  await writeStackFile({ edgeUrl: stack.edgeUrl, catalogUrl: stack.catalogUrl, pid: Deno.pid });
}

const urls = stack.sandboxes.urls;
const perTenant = (u: { acme: { url: string }; globex: { url: string } }) =>
  `${u.acme.url} (acme), ${u.globex.url} (globex)`;
console.log(`OmniSQL is running.

  edge              ${stack.edgeUrl}   (POST /v1/query, GET /v1/catalog, GET /v1/whoami)
  web console       ${stack.edgeUrl}/   (metrics: /metrics, API description: /openapi.json)
${Object.entries(stack.workerUrls).map(([z, u]) => `  worker ${z.padEnd(10)} ${u}`).join("\n")}
  github sandbox    ${stack.sandboxes.urls.github.url}
  jira sandboxes    ${perTenant(urls.jira)}${
  urls.linear ? `\n  linear sandboxes  ${perTenant(urls.linear)}` : ""
}${urls.salesforce ? `\n  salesforce        ${perTenant(urls.salesforce)}` : ""}${
  urls.support ? `\n  support (MCP)     ${perTenant(urls.support)}` : ""
}
  catalog           ${
  config.databaseUrl
    ? "Postgres at DATABASE_URL"
    : `embedded PGlite${stack.catalogUrl ? `, served at ${stack.catalogUrl}` : ""}`
}

Get a token and query:

  T=$(deno task admin tokens mint --tenant acme --user dev@acme)
  curl -s -X POST ${stack.edgeUrl}/v1/query -H "Authorization: Bearer $T" \\
    -d '{"sql": "SELECT repo, status, count(*) AS prs FROM github.pull_requests GROUP BY repo, status"}'

Or with psql (Postgres wire protocol on port ${stack.pgPort}; the password is the token):

  PGPASSWORD=$T psql "host=127.0.0.1 port=${stack.pgPort} user=dev@acme dbname=omnisql"
`);

/** The Postgres door's certificate, when both PEM files are configured. */
function pgTls(keyFile?: string, certFile?: string): { key: string; cert: string } | undefined {
  if (!keyFile || !certFile) return undefined;
  return { key: Deno.readTextFileSync(keyFile), cert: Deno.readTextFileSync(certFile) };
}

for (const signal of ["SIGINT", "SIGTERM"] as const) {
  Deno.addSignalListener(signal, async () => {
    await removeStackFile(Deno.pid);
    await stack.close();
    Deno.exit(0);
  });
}
