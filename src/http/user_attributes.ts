/**
 * Filling in user attributes an issuer did not put in the token (role, team, the directory's
 * attributes) from the tenant's user directory in the catalog, as a query's identify step does.
 * Attributes never come from the request body.
 *
 * @module
 */
import type { MiddlewareHandler } from "hono";
import { completeFromDirectory, type DirectoryEntry } from "../auth/directory.ts";
import type { UserClaims } from "../auth/user_token.ts";
import type { AppEnv } from "./env.ts";

/** Looks a user up in the tenant's directory. */
export type UserLookup = (tenantId: string, email: string) => Promise<DirectoryEntry | undefined>;

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
 * Middleware that completes `c.var.user` from the directory (`completeFromDirectory`), then
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
    const token = c.get("user");
    const user = completeFromDirectory(token, await lookup(token.tenant, token.sub));
    c.set("user", user);
    await options.checkClaims?.(user);
    await next();
  };
}
