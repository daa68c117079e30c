/**
 * The admin CLI (`deno task admin <noun> <verb>`): tenants, users, connections, policies, tokens,
 * keys, audit and the catalog, against the same catalog the servers use. Output is human-readable,
 * or JSON with `--json`; exit codes: 0 ok, 1 usage error, 2 the operation failed. Each noun's
 * commands live in their own file.
 *
 * @module
 */
import { Command, CommanderError } from "commander";
import type { Catalog } from "../catalog/store.ts";
import { devDefaultsInUse, type OmniConfig } from "../config.ts";
import type { CliContext } from "./context.ts";
import { CliError } from "./context.ts";
import { registerAudit } from "./audit.ts";
import { registerCatalog } from "./catalog.ts";
import { registerConnections } from "./connections.ts";
import { registerKeys } from "./keys.ts";
import { registerPolicies } from "./policies.ts";
import { registerTenants } from "./tenants.ts";
import { registerTokens } from "./tokens.ts";
import { registerUsers } from "./users.ts";
import { registerJobs } from "./jobs.ts";
import { registerWebhookSecrets } from "./webhooks.ts";
import { registerCost } from "./cost.ts";

export { CliError };

/** What every `--help` ends with: the contract scripts rely on. */
const EXIT_CODES = `
Output: human-readable, or JSON on stdout with --json (errors go to stderr).
Exit codes: 0 ok · 1 bad usage (unknown command, missing or bad option) · 2 the operation failed.
Catalog: DATABASE_URL, else the one a running \`deno task start\` serves.`;

/** How the CLI reaches the catalog (opened lazily: `tokens mint` may not need it). */
export interface CliDeps {
  config: OmniConfig;
  /** Opens the catalog, or returns undefined when none is reachable. */
  openCatalog(): Promise<{ catalog: Catalog; close(): Promise<void> } | undefined>;
  /** Where output goes. @default console.log */
  print?: (line: string) => void;
}

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
  let tried = false;
  const optionalCatalog = async () => {
    if (!tried) {
      tried = true;
      // A deployment's catalog must never see tenant keys wrapped with the public dev key; only
      // the local stack's embedded catalog (reached without DATABASE_URL) may use it.
      if (deps.config.databaseUrl && devDefaultsInUse(deps.config).includes("OMNISQL_MASTER_KEY")) {
        throw new CliError(
          "DATABASE_URL is set but OMNISQL_MASTER_KEY is not (or is the public dev key): " +
            "refusing to wrap or unwrap tenant keys with it",
        );
      }
      opened = await deps.openCatalog();
    }
    return opened?.catalog;
  };
  const ctx: CliContext = {
    config: deps.config,
    optionalCatalog,
    async catalog() {
      const catalog = await optionalCatalog();
      if (!catalog) {
        throw new CliError(
          "no catalog reachable: set DATABASE_URL, or start the local stack (deno task start)",
        );
      }
      return catalog;
    },
    print,
    out: (json, value, human) => print(json ? JSON.stringify(value, null, 2) : human()),
  };

  const program = new Command("admin")
    .description("OmniSQL administration")
    .showHelpAfterError()
    .addHelpText("after", EXIT_CODES)
    .hook("postAction", async () => {
      await opened?.close();
      opened = undefined;
      tried = false;
    });
  registerTenants(program, ctx);
  registerUsers(program, ctx);
  registerConnections(program, ctx);
  registerWebhookSecrets(program.commands.find((c) => c.name() === "connections")!, ctx);
  registerTokens(program, ctx);
  registerAudit(program, ctx);
  registerCatalog(program, ctx);
  registerPolicies(program, ctx);
  registerJobs(program, ctx);
  registerKeys(program, ctx);
  registerCost(program, ctx);
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
  (function override(cmd: Command) {
    cmd.exitOverride();
    cmd.commands.forEach(override);
  })(program);
  try {
    if (args.length === 0) {
      program.outputHelp();
      return 1;
    }
    await program.parseAsync(args, { from: "user" });
    return 0;
  } catch (err) {
    if (err instanceof CommanderError) {
      return err.code === "commander.helpDisplayed" || err.code === "commander.version" ||
          err.code === "commander.help"
        ? 0
        : 1;
    }
    console.error(`error: ${err instanceof Error ? err.message : String(err)}`);
    return 2;
  }
}
