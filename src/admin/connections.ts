/**
 * `admin connections`: a tenant's connections to apps — add, list, update (base URL, config),
 * remove, test (one tiny read through the connector: is the auth accepted, and what quota is
 * left), replace credentials, and describe a connector's config and credential formats.
 * Credentials are read from a file, stdin or `--credential`, and are never printed.
 *
 * @module
 */
import type { Command } from "commander";
import { CONNECTORS } from "../../connectors/mod.ts";
import { describeConnectionSchema } from "../../connectors/sdk/connection_schema.ts";
import { connectionTables } from "../../connectors/sdk/connector.ts";
import {
  closeMcpSessions,
  discoverTables,
  readMcpConfig,
  type TableMapping,
} from "../../connectors/mcp/mod.ts";
import { runScan } from "../../connectors/sdk/scan.ts";
import type { Connection } from "../../connectors/sdk/table.ts";
import { OmniError, toOmniError } from "../errors.ts";
import { auditedAction } from "./_admin_audit.ts";
import { collectPair, readCredentials } from "./_credentials.ts";
import { type CliContext, CliError, tenantCatalog, tenantList } from "./context.ts";

/** What `connections test` reports. */
export interface ConnectionTestReport {
  connection: string;
  connector: string;
  ok: boolean;
  /** `ok`, or `failed` when the app refused the credentials. */
  auth: "ok" | "failed" | "unknown";
  /** The app's budget after the call, from its rate-limit headers. */
  quota: { limit?: number; remaining?: number; reset_ms?: number } | null;
  error?: { code: string; message: string };
}

const TEST_TIMEOUT_MS = 15_000;

/**
 * Registers the `connections` commands.
 *
 * @example
 * ```ts ignore
 * registerConnections(program, ctx);
 * ```
 */
export function registerConnections(program: Command, ctx: CliContext): void {
  const connections = program.command("connections").description("connections to apps");
  tenantList(connections, ctx, {
    description: "list a tenant's connections (no credentials)",
    load: (catalog, tenant) => catalog.listConnectionsPublic(tenant),
    fields: (c) => [c.name, c.connector, c.baseUrl],
  });

  connections.command("add <name>").description("add a connection (its schema name in SQL)")
    .requiredOption("--tenant <tenant>")
    .requiredOption("--connector <id>", `one of: ${Object.keys(CONNECTORS).join(", ")}`)
    .requiredOption("--base-url <url>", "the app's API base URL")
    .option("--config-file <path>", "JSON object of connector settings (repos, custom fields…)")
    .option("--credentials-file <path>", "JSON object of credentials; - reads stdin")
    .option("--credential <key=value>", "one credential (repeatable)", collectPair)
    .option("--by <who>", "who makes the change (audit)")
    .option("--json", "JSON output")
    .action(async (name, o) => {
      if (!CONNECTORS[o.connector]) {
        throw new CliError(
          `unknown connector ${o.connector}; connectors: ${Object.keys(CONNECTORS).join(", ")}`,
        );
      }
      checkUrl(o.baseUrl);
      const credentials = await readCredentials(o.credentialsFile, o.credential);
      if (!credentials) throw new CliError("give --credentials-file or --credential");
      const config = o.configFile ? await readJsonObject(o.configFile) : {};
      checkConfig(o.connector, name, config);
      const catalog = await tenantCatalog(ctx, o.tenant);
      const conn = await auditedAction(
        catalog,
        {
          tenantId: o.tenant,
          command: `connections add ${name} --connector ${o.connector}`,
          by: o.by,
        },
        () =>
          catalog.addConnection({
            tenantId: o.tenant,
            connector: o.connector,
            name,
            baseUrl: o.baseUrl,
            credentials,
            config,
          }),
      );
      ctx.out(o.json, conn, () => `added ${conn.name} (${conn.connector}) to ${o.tenant}`);
    });

  connections.command("update <name>")
    .description("change a connection's base URL and/or config (credentials stay)")
    .requiredOption("--tenant <tenant>")
    .option("--base-url <url>", "the app's API base URL")
    .option("--config-file <path>", "JSON object of connector settings; replaces the config")
    .option("--by <who>", "who makes the change (audit)")
    .option("--json", "JSON output")
    .addHelpText(
      "after",
      "\nSee `connections describe <connector>` for each connector's config settings.",
    )
    .action(async (name, o) => {
      if (o.baseUrl === undefined && o.configFile === undefined) {
        throw new CliError("give --base-url and/or --config-file");
      }
      if (o.baseUrl !== undefined) checkUrl(o.baseUrl);
      const config = o.configFile ? await readJsonObject(o.configFile) : undefined;
      const catalog = await ctx.catalog();
      const current = await catalog.getConnection(o.tenant, name);
      if (!current) throw new CliError(`tenant ${o.tenant} has no connection named ${name}`);
      if (config) checkConfig(current.connector, name, config);
      const changed = [o.baseUrl !== undefined ? "--base-url" : "", config ? "--config-file" : ""]
        .filter(Boolean).join(" ");
      const conn = await auditedAction(
        catalog,
        { tenantId: o.tenant, command: `connections update ${name} ${changed}`, by: o.by },
        () => catalog.updateConnection(o.tenant, name, { baseUrl: o.baseUrl, config }),
      );
      ctx.out(o.json, conn, () => `updated ${conn.name} (${conn.connector}): ${conn.baseUrl}`);
    });

  connections.command("remove <name>").description(
    "remove a connection (its schema leaves the tenant's SQL)",
  )
    .requiredOption("--tenant <tenant>")
    .option("--by <who>", "who makes the change (audit)")
    .option("--json", "JSON output")
    .action(async (name, o) => {
      const catalog = await ctx.catalog();
      if (!await catalog.getConnection(o.tenant, name)) {
        throw new CliError(`tenant ${o.tenant} has no connection named ${name}`);
      }
      await auditedAction(
        catalog,
        { tenantId: o.tenant, command: `connections remove ${name}`, by: o.by },
        () => catalog.removeConnection(o.tenant, name),
      );
      ctx.out(
        o.json,
        { connection: name, tenant: o.tenant, removed: true },
        () => `removed ${name} from ${o.tenant}`,
      );
    });

  connections.command("describe <connector>")
    .description("a connector's base URL, config and credential formats, with an example")
    .option("--json", "JSON output")
    .action((id, o) => {
      const connector = CONNECTORS[id];
      if (!connector) {
        throw new CliError(
          `unknown connector ${id}; connectors: ${Object.keys(CONNECTORS).join(", ")}`,
        );
      }
      const schema = connector.connection;
      if (!schema) throw new CliError(`connector ${id} does not describe its connections`);
      ctx.out(
        o.json,
        { connector: id, description: connector.description, ...schema },
        () => `${connector.description}\n${describeConnectionSchema(id, schema)}`,
      );
    });

  connections.command("set-credentials <name>").description("replace a connection's credentials")
    .requiredOption("--tenant <tenant>")
    .option("--credentials-file <path>", "JSON object of credentials; - reads stdin")
    .option("--credential <key=value>", "one credential (repeatable)", collectPair)
    .option("--by <who>", "who makes the change (audit)")
    .option("--json", "JSON output")
    .action(async (name, o) => {
      const credentials = await readCredentials(o.credentialsFile, o.credential);
      if (!credentials) throw new CliError("give --credentials-file or --credential");
      const catalog = await ctx.catalog();
      await auditedAction(
        catalog,
        { tenantId: o.tenant, command: `connections set-credentials ${name}`, by: o.by },
        () => catalog.setConnectionCredentials(o.tenant, name, credentials),
      );
      ctx.out(
        o.json,
        { connection: name, tenant: o.tenant, updated: Object.keys(credentials).sort() },
        () => `credentials of ${name} replaced (${Object.keys(credentials).sort().join(", ")})`,
      );
    });

  connections.command("discover <name>")
    .description(
      "MCP: derive tables from the server's tools (outputSchema); --apply maps the new ones",
    )
    .requiredOption("--tenant <tenant>")
    .option("--apply", "add the discovered tables not mapped yet to the connection's config")
    .option("--by <who>", "who makes the change (audit)")
    .option("--json", "JSON output")
    .action(async (name, o) => {
      const catalog = await ctx.catalog();
      const conn = await catalog.getConnection(o.tenant, name);
      if (!conn) throw new CliError(`tenant ${o.tenant} has no connection named ${name}`);
      if (conn.connector !== "mcp") {
        throw new CliError(`${name} is a ${conn.connector} connection; discover reads MCP servers`);
      }
      let discovered: TableMapping[];
      try {
        discovered = await discoverTables(conn, AbortSignal.timeout(TEST_TIMEOUT_MS));
      } catch (err) {
        throw new CliError(`could not read the tools of ${name}: ${toOmniError(err).message}`);
      } finally {
        await closeMcpSessions();
      }
      const current = Array.isArray(conn.config.tables) ? conn.config.tables : [];
      const mapped = new Set(readMcpConfig(conn.config).config.tables.map((t) => t.name));
      const added = discovered.filter((t) => !mapped.has(t.name));
      if (o.apply && added.length > 0) {
        const config = { ...conn.config, tables: [...current, ...added] };
        checkConfig(conn.connector, name, config);
        await auditedAction(
          catalog,
          { tenantId: o.tenant, command: `connections discover ${name} --apply`, by: o.by },
          () => catalog.updateConnection(o.tenant, name, { config }),
        );
      }
      ctx.out(
        o.json,
        { connection: name, discovered, added: o.apply ? added.map((t) => t.name) : [] },
        () =>
          [
            `${name}: ${discovered.length} table(s) from the server's tools`,
            ...discovered.map((t) =>
              `  ${t.name} ← ${t.tool} (${t.columns.length} columns${
                mapped.has(t.name) ? ", already mapped" : ""
              })`
            ),
            o.apply
              ? `added to the config: ${added.map((t) => t.name).join(", ") || "none"}`
              : "add them with --apply (or copy the JSON output into --config-file)",
          ].join("\n"),
      );
    });

  connections.command("test <name>")
    .description("read one row through the connector: reports auth and the quota left")
    .requiredOption("--tenant <tenant>").option("--json", "JSON output")
    .action(async (name, o) => {
      const conn = await (await ctx.catalog()).getConnection(o.tenant, name);
      if (!conn) throw new CliError(`tenant ${o.tenant} has no connection named ${name}`);
      const report = await testConnection(conn);
      ctx.out(o.json, report, () =>
        [
          `${name} (${conn.connector}): ${report.ok ? "OK" : "FAILED"}`,
          `  auth   ${report.auth}`,
          `  quota  ${
            report.quota
              ? `${report.quota.remaining ?? "?"} of ${report.quota.limit ?? "?"} left` +
                (report.quota.reset_ms !== undefined
                  ? `, resets in ${Math.ceil(report.quota.reset_ms / 1000)} s`
                  : "")
              : "not reported"
          }`,
          ...(report.error ? [`  error  ${report.error.code}: ${report.error.message}`] : []),
        ].join("\n"));
      if (!report.ok) throw new CliError(`connection ${name} failed its test`);
    });
}

async function testConnection(conn: Connection): Promise<ConnectionTestReport> {
  const base = { connection: conn.name, connector: conn.connector };
  const connector = CONNECTORS[conn.connector];
  const table = connector ? connectionTables(connector, conn)[0] : undefined;
  if (!connector || !table) {
    return {
      ...base,
      ok: false,
      auth: "unknown",
      quota: null,
      error: { code: "INVALID_REQUEST", message: `no connector ${conn.connector} is installed` },
    };
  }
  try {
    const result = await runScan(connector, table, conn, {
      predicates: [],
      columns: [table.columns[0].name],
      limit: 1,
    }, { signal: AbortSignal.timeout(TEST_TIMEOUT_MS) });
    const rl = result.rateLimit;
    return {
      ...base,
      ok: true,
      auth: "ok",
      quota: rl
        ? {
          limit: rl.limit,
          remaining: rl.remaining,
          ...(rl.resetAt ? { reset_ms: Math.max(0, rl.resetAt - Date.now()) } : {}),
        }
        : null,
    };
  } catch (err) {
    const error = toOmniError(err);
    const status = error.details?.status;
    return {
      ...base,
      ok: false,
      auth: status === 401 || status === 403 ? "failed" : "unknown",
      quota: null,
      error: { code: error.code, message: error.message },
    };
  }
}

async function readJsonObject(path: string): Promise<Record<string, unknown>> {
  try {
    const value = JSON.parse(await Deno.readTextFile(path));
    if (typeof value === "object" && value !== null && !Array.isArray(value)) return value;
  } catch {
    // reported below
  }
  throw new CliError(`${path} is not a readable JSON object`);
}

function checkUrl(url: string): void {
  let parsed: URL | undefined;
  try {
    parsed = new URL(url);
  } catch {
    // reported below
  }
  if (parsed?.protocol !== "https:" && parsed?.protocol !== "http:") {
    throw new CliError(`--base-url ${url} is not an http(s) URL`);
  }
}

/**
 * Refuses a config the connector would refuse at query time: each table plans an empty scan
 * with it (planning reads and checks the config, and sends nothing).
 */
function checkConfig(connectorId: string, name: string, config: Record<string, unknown>): void {
  const connector = CONNECTORS[connectorId];
  if (!connector) return;
  const conn: Connection = {
    id: "check",
    tenantId: "check",
    connector: connectorId,
    name,
    baseUrl: "https://config.check.invalid",
    credentials: {},
    config,
  };
  const problems = connector.configProblems?.(config) ?? [];
  if (problems.length) {
    throw new CliError(
      `config of ${name}: ${
        problems.join("; ")
      }; see \`deno task admin connections describe ${connectorId}\``,
    );
  }
  for (const table of connectionTables(connector, conn)) {
    try {
      table.plan({ predicates: [], columns: [table.columns[0].name] }, conn);
    } catch (err) {
      if (err instanceof OmniError && err.code === "SOURCE_ERROR") {
        throw new CliError(
          `${err.message}; see \`deno task admin connections describe ${connectorId}\``,
        );
      }
      throw err;
    }
  }
}
