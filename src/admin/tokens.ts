/**
 * `admin tokens mint`: user tokens from the built-in dev issuer.
 *
 * @module
 */
import type { Command } from "commander";
import { type CliContext, CliError } from "./context.ts";
import { DevIssuer } from "../auth/dev_issuer.ts";

/**
 * Registers the `tokens` commands.
 *
 * @example
 * ```ts ignore
 * registerTokens(program, ctx);
 * ```
 */
export function registerTokens(program: Command, ctx: CliContext): void {
  const tokens = program.command("tokens").description("user tokens from the built-in dev issuer");
  tokens.command("mint").description("print a JWT for a user (dev issuer only)")
    .requiredOption("--tenant <tenant>").requiredOption("--user <email>")
    .option("--role <role>", "role claim (default: the user's role in the catalog)")
    .option("--team <team>", "team_id claim (default: the user's team in the catalog)")
    .option("--ttl <seconds>", "lifetime in seconds", "3600")
    .action(async (o) => {
      if (!ctx.config.devIssuer) {
        throw new CliError("the dev issuer is off (OIDC_JWKS_URL is set)");
      }
      const ttl = Number(o.ttl);
      if (!Number.isInteger(ttl) || ttl <= 0) {
        throw new CliError("--ttl must be a positive integer");
      }
      let role: string | undefined = o.role;
      let team: string | null | undefined = o.team;
      const optional = await ctx.optionalCatalog();
      if (optional) {
        const user = await optional.getUser(o.tenant, o.user);
        if (!user) throw new CliError(`no user ${o.user} in tenant ${o.tenant}`);
        role ??= user.role;
        team ??= user.teamId;
      }
      const issuer = await DevIssuer.fromSecret(
        ctx.config.devIssuerSecret,
        ctx.config.oidcIssuer,
        ctx.config.oidcAudience,
      );
      const claims = {
        sub: o.user,
        tenant: o.tenant,
        ...(role ? { role } : {}),
        ...(team !== undefined ? { team_id: team } : {}),
      };
      ctx.print(await issuer.mint(claims, { ttlSeconds: ttl }));
    });
}
