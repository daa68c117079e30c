/**
 * `admin connections set-webhook-secret NAME --tenant T (--secret S | --secret-stdin)`: stores
 * the secret the app signs its webhooks with, encrypted with the tenant's key. The secret is
 * never printed, and the audit record names the command without it.
 *
 * @module
 */
import type { Command } from "commander";
import { setWebhookSecret } from "../webhooks/secrets.ts";
import { WEBHOOK_SCHEMES } from "../webhooks/receiver.ts";
import { auditedAction } from "./_admin_audit.ts";
import { type CliContext, CliError } from "./context.ts";

/**
 * Registers `set-webhook-secret` under the `connections` command.
 *
 * @example
 * ```ts ignore
 * registerWebhookSecrets(connectionsCommand, ctx);
 * ```
 */
export function registerWebhookSecrets(connections: Command, ctx: CliContext): void {
  connections.command("set-webhook-secret <name>")
    .description(
      `store the secret the app signs webhooks with (apps: ${
        Object.keys(WEBHOOK_SCHEMES).join(", ")
      }); the endpoint is POST /v1/webhooks/<tenant>/<name>`,
    )
    .requiredOption("--tenant <tenant>")
    .option("--secret <secret>", "the secret (prefer --secret-stdin: arguments show in ps)")
    .option("--secret-stdin", "read the secret from stdin")
    .option("--by <who>", "who makes the change (audit)")
    .option("--json", "JSON output")
    .action(async (name, o) => {
      const secret = o.secretStdin
        ? (await new Response(Deno.stdin.readable).text()).trim()
        : o.secret;
      if (!secret) throw new CliError("give --secret or --secret-stdin");
      const catalog = await ctx.catalog();
      const connection = (await catalog.listConnectionsPublic(o.tenant)).find((c) =>
        c.name === name
      );
      if (!connection) throw new CliError(`tenant ${o.tenant} has no connection ${name}`);
      if (!WEBHOOK_SCHEMES[connection.connector]) {
        throw new CliError(
          `connector ${connection.connector} sends no signed webhooks OmniSQL verifies`,
        );
      }
      await auditedAction(
        catalog,
        { tenantId: o.tenant, command: `connections set-webhook-secret ${name}`, by: o.by },
        () => setWebhookSecret(catalog, o.tenant, name, secret),
      );
      const endpoint = `/v1/webhooks/${encodeURIComponent(o.tenant)}/${encodeURIComponent(name)}`;
      ctx.out(
        o.json,
        { connection: name, endpoint },
        () => `webhook secret stored for ${name}; point the app at POST ${endpoint}`,
      );
    });
}
