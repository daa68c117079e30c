/**
 * The admin CLI (`deno task admin <noun> <verb>`): tenants, users, connections, policies, tokens,
 * keys, audit and the catalog, against the same catalog the servers use. Output is human-readable,
 * or JSON with `--json`; exit codes: 0 ok, 1 usage error, 2 the operation failed.
 *
 * @module
 */
import { Command, CommanderError } from "commander";
import type { Catalog } from "../catalog/store.ts";
import { DevIssuer } from "../auth/dev_issuer.ts";
import type { OmniConfig } from "../config.ts";

/** How the CLI reaches the catalog (opened lazily: `tokens mint` may not need it). */
export interface CliDeps {
  config: OmniConfig;
  /** Opens the catalog, or returns undefined when none is reachable. */
  openCatalog(): Promise<{ catalog: Catalog; close(): Promise<void> } | undefined>;
  /** Where output goes. @default console.log */
  print?: (line: string) => void;
}

/** A failure the CLI reports with exit code 2. */
export class CliError extends Error {}

/**
 * Builds the CLI program.
 *
 * @example
 * ```ts ignore
 * await buildCli(deps).parseAsync(["tenants", "list", "--json"], { from: "user" });
 * ```
 */
export function buildCli(deps: CliDeps): Command {
  const print = deps.print ?? ((line: string) => console.log(line));
  let opened: { catalog: Catalog; close(): Promise<void> } | undefined;
  const catalog = async (): Promise<Catalog> => {
    opened ??= await deps.openCatalog();
    if (!opened) {
      throw new CliError(
        "no catalog reachable: set DATABASE_URL, or start the local stack (deno task start)",
      );
    }
    return opened.catalog;
  };
  const out = (json: boolean | undefined, value: unknown, human: () => string) =>
    print(json ? JSON.stringify(value, null, 2) : human());

  const program = new Command("admin")
    .description("OmniSQL administration")
    .showHelpAfterError()
    .hook("postAction", async () => {
      await opened?.close();
      opened = undefined;
    });

  const tenants = program.command("tenants").description("tenants and their residency zone");
  tenants.command("list").description("list tenants").option("--json", "JSON output")
    .action(async (o) => {
      const rows = await (await catalog()).listTenants();
      out(o.json, rows, () => rows.map((t) => `${t.id}\t${t.zone}\t${t.name}`).join("\n"));
    });
  tenants.command("create <id>").description("create a tenant")
    .requiredOption("--zone <zone>", "residency zone, e.g. us or eu")
    .option("--name <name>", "display name").option("--json", "JSON output")
    .action(async (id, o) => {
      if (!deps.config.zones.includes(o.zone)) {
        throw new CliError(`unknown zone ${o.zone}; zones: ${deps.config.zones.join(", ")}`);
      }
      const t = await (await catalog()).createTenant({ id, name: o.name ?? id, zone: o.zone });
      out(o.json, t, () => `created tenant ${t.id} in zone ${t.zone}`);
    });
  tenants.command("set-zone <id> <zone>").description("move a tenant to another residency zone")
    .option("--json", "JSON output")
    .action(async (id, zone, o) => {
      if (!deps.config.zones.includes(zone)) {
        throw new CliError(`unknown zone ${zone}; zones: ${deps.config.zones.join(", ")}`);
      }
      const t = await (await catalog()).setTenantZone(id, zone);
      out(o.json, t, () => `tenant ${t.id} is now pinned to zone ${t.zone}`);
    });

  const users = program.command("users").description("users and their attributes");
  users.command("list").requiredOption("--tenant <tenant>").option("--json", "JSON output")
    .action(async (o) => {
      const rows = await (await catalog()).listUsers(o.tenant);
      out(
        o.json,
        rows,
        () => rows.map((u) => `${u.email}\t${u.role}\t${u.teamId ?? "-"}`).join("\n"),
      );
    });

  const connections = program.command("connections").description("connections to apps");
  connections.command("list").requiredOption("--tenant <tenant>").option("--json", "JSON output")
    .action(async (o) => {
      const rows = await (await catalog()).listConnectionsPublic(o.tenant);
      out(
        o.json,
        rows,
        () => rows.map((c) => `${c.name}\t${c.connector}\t${c.baseUrl}`).join("\n"),
      );
    });

  const tokens = program.command("tokens").description("user tokens from the built-in dev issuer");
  tokens.command("mint").description("print a JWT for a user (dev issuer only)")
    .requiredOption("--tenant <tenant>").requiredOption("--user <email>")
    .option("--role <role>", "role claim (default: the user's role in the catalog)")
    .option("--team <team>", "team_id claim (default: the user's team in the catalog)")
    .option("--ttl <seconds>", "lifetime in seconds", "3600")
    .action(async (o) => {
      if (!deps.config.devIssuer) {
        throw new CliError("the dev issuer is off (OIDC_JWKS_URL is set)");
      }
      const ttl = Number(o.ttl);
      if (!Number.isInteger(ttl) || ttl <= 0) {
        throw new CliError("--ttl must be a positive integer");
      }
      let role: string | undefined = o.role;
      let team: string | null | undefined = o.team;
      opened ??= await deps.openCatalog();
      if (opened) {
        const user = await opened.catalog.getUser(o.tenant, o.user);
        if (!user) throw new CliError(`no user ${o.user} in tenant ${o.tenant}`);
        role ??= user.role;
        team ??= user.teamId;
      }
      const issuer = await DevIssuer.fromSecret(
        deps.config.devIssuerSecret,
        deps.config.oidcIssuer,
        deps.config.oidcAudience,
      );
      const claims = {
        sub: o.user,
        tenant: o.tenant,
        ...(role ? { role } : {}),
        ...(team !== undefined ? { team_id: team } : {}),
      };
      print(await issuer.mint(claims, { ttlSeconds: ttl }));
    });

  const audit = program.command("audit").description("the audit log");
  audit.command("tail").requiredOption("--tenant <tenant>").option("-n <count>", "rows", "20")
    .option("--json", "JSON output")
    .action(async (o) => {
      const rows = await (await catalog()).tailAudit(o.tenant, Number(o.n));
      out(
        o.json,
        rows,
        () =>
          rows.map((r) =>
            `${r.createdAt.toISOString()}\t${r.userEmail}\t${r.status}\t${
              r.errorCode ?? ""
            }\t${r.sql}`
          ).join("\n"),
      );
    });
  audit.command("verify").requiredOption("--tenant <tenant>").option("--json", "JSON output")
    .action(async (o) => {
      const result = await (await catalog()).verifyAudit(o.tenant);
      out(
        o.json,
        result,
        () =>
          result.ok
            ? `audit chain of ${o.tenant} is intact`
            : `audit chain BROKEN: ${JSON.stringify(result)}`,
      );
      if (!result.ok) throw new CliError("audit chain verification failed");
    });

  const cat = program.command("catalog").description("tables and columns");
  cat.command("describe [table]").option("--json", "JSON output")
    .action(async (table, o) => {
      const rows = (await (await catalog()).listCatalogTables()).filter((t) =>
        !table || `${t.connector}.${t.tableName}` === table
      );
      if (table && rows.length === 0) throw new CliError(`unknown table ${table}`);
      out(
        o.json,
        rows,
        () =>
          rows.map((t) =>
            `${t.connector}.${t.tableName} (v${t.version}) — ${t.description}\n` +
            (t.columns as { name: string; type: string; description: string }[]).map((c) =>
              `  ${c.name.padEnd(22)} ${c.type.padEnd(10)} ${c.description}`
            ).join("\n")
          ).join("\n\n"),
      );
    });

  const policies = program.command("policies").description("row- and column-level policies");
  policies.command("show").requiredOption("--tenant <tenant>").option("--json", "JSON output")
    .action(async (o) => {
      const policy = await (await catalog()).getPolicy(o.tenant);
      out(o.json, policy ?? null, () => policy ? policy.source : `no policy for ${o.tenant}`);
    });

  return program;
}

/**
 * Runs the CLI with arguments and returns the exit code.
 *
 * @example
 * ```ts ignore
 * Deno.exit(await runCli(Deno.args, deps));
 * ```
 */
export async function runCli(args: string[], deps: CliDeps): Promise<number> {
  const program = buildCli(deps);
  program.exitOverride();
  for (const cmd of program.commands) cmd.exitOverride();
  program.commands.forEach(function override(cmd) {
    cmd.exitOverride();
    cmd.commands.forEach(override);
  });
  try {
    if (args.length === 0) {
      program.outputHelp();
      return 1;
    }
    await program.parseAsync(args, { from: "user" });
    return 0;
  } catch (err) {
    if (err instanceof CommanderError) {
      return err.code === "commander.helpDisplayed" || err.code === "commander.version" ? 0 : 1;
    }
    console.error(`error: ${err instanceof Error ? err.message : String(err)}`);
    return 2;
  }
}
