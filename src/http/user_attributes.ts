/**
 * Filling in user attributes an issuer did not put in the token (role, team) from the tenant's
 * user directory in the catalog. Attributes never come from the request body.
 *
 * @module
 */
import type { MiddlewareHandler } from "hono";
import type { AppEnv } from "./env.ts";

/** Looks a user up in the tenant's directory. */
export type UserLookup = (
  tenantId: string,
  email: string,
) => Promise<{ role: string; teamId: string | null } | undefined>;

/**
 * Middleware that completes `c.var.user` from the directory when the token lacks a role.
 *
 * @example
 * ```ts ignore
 * app.use("/v1/*", authenticate(verify), userAttributes((t, u) => catalog.getUser(t, u)));
 * ```
 */
export function userAttributes(lookup: UserLookup): MiddlewareHandler<AppEnv> {
  return async function userAttributesMiddleware(c, next) {
    const user = c.get("user");
    if (user.role === undefined) {
      const row = await lookup(user.tenant, user.sub);
      if (row) c.set("user", { ...user, role: row.role, team_id: row.teamId });
    }
    await next();
  };
}
