/**
 * The middleware every `/v1/*` route of a door runs behind, wherever requests enter (edge or
 * direct zone): the bearer's user, of a tenant that exists; its role and team from the catalog;
 * then its passthrough token.
 *
 * @module
 */
import type { MiddlewareHandler } from "hono";
import type { UserClaims, UserVerifier } from "../auth/user_token.ts";
import type { Catalog } from "../catalog/store.ts";
import { authenticate } from "./authenticate.ts";
import type { AppEnv } from "./env.ts";
import { passthroughToken } from "./passthrough_token.ts";
import { userAttributes } from "./user_attributes.ts";

/**
 * `authenticate`, `userAttributes` and `passthroughToken`, in that order, reading the catalog.
 *
 * @example
 * ```ts ignore
 * // Needs a verifier and a catalog: see edge/app.ts and regions/app.ts.
 * app.use("/v1/*", ...signedIn(options.verifyUser, catalog, options.checkClaims));
 * ```
 */
export function signedIn(
  verifyUser: UserVerifier,
  catalog: Pick<Catalog, "getTenant" | "getUser">,
  checkClaims?: (user: UserClaims) => Promise<void>,
): MiddlewareHandler<AppEnv>[] {
  return [
    authenticate(verifyUser, {
      tenantCreatedAt: async (t) => (await catalog.getTenant(t))?.createdAt,
    }),
    userAttributes((tenant, email) => catalog.getUser(tenant, email), { checkClaims }),
    passthroughToken(),
  ];
}
