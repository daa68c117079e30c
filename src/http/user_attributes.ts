/**
 * Filling in user attributes an issuer did not put in the token (role, team) from the tenant's
 * user directory in the catalog. Attributes never come from the request body.
 *
 * @module
 */
import type { MiddlewareHandler } from "hono";
import type { UserClaims } from "../auth/user_token.ts";
import type { AppEnv } from "./env.ts";

/** Looks a user up in the tenant's directory. */
export type UserLookup = (
  tenantId: string,
  email: string,
) => Promise<{ role: string; teamId: string | null } | undefined>;

/** Options of {@link userAttributes}. */
export interface UserAttributesOptions {
  /**
   * Throws `UNAUTHENTICATED` for a claim the tenant's policy would misread (an unknown role, a
   * claim of the wrong type), so a bad token is refused at the door — before a job is queued or
   * a budget spent — and not only when its guard is built. @default no check here
   */
  checkClaims?: (user: UserClaims) => Promise<void>;
}

/**
 * Middleware that completes `c.var.user` from the directory when the token lacks a role, then
 * checks the claims. A role that is present but wrong is never replaced from the directory: it
 * is refused.
 *
 * @example
 * ```ts ignore
 * app.use("/v1/*", authenticate(verify), userAttributes((t, u) => catalog.getUser(t, u), {
 *   checkClaims: (user) => security.checkClaims(user.tenant, user),
 * }));
 * ```
 */
export function userAttributes(
  lookup: UserLookup,
  options: UserAttributesOptions = {},
): MiddlewareHandler<AppEnv> {
  return async function userAttributesMiddleware(c, next) {
    let user = c.get("user");
    if (user.role === undefined) {
      const row = await lookup(user.tenant, user.sub);
      if (row) c.set("user", user = { ...user, role: row.role, team_id: row.teamId });
    }
    await options.checkClaims?.(user);
    await next();
  };
}
