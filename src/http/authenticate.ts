/**
 * Authentication middleware: verifies the bearer token and sets `c.var.user`. A valid token of a
 * tenant that does not exist (never created, or off-boarded) is refused like a bad token.
 *
 * @module
 */
import type { MiddlewareHandler } from "hono";
import { bearerToken, refuseTokenOlderThanTenant, type UserVerifier } from "../auth/user_token.ts";
import { OmniError } from "../errors.ts";
import type { AppEnv } from "./env.ts";

/** Options of {@link authenticate}. */
export interface AuthenticateOptions {
  /**
   * When the token's tenant was created, or `undefined` when it does not exist.
   * @default every tenant is taken to exist
   */
  tenantCreatedAt?: (tenantId: string) => Promise<Date | undefined>;
}

/**
 * Middleware that admits only requests with a valid user token of an existing tenant.
 *
 * @example
 * ```ts ignore
 * app.use("/v1/*", authenticate(verifier, { tenantCreatedAt: async (t) => (await catalog.getTenant(t))?.createdAt }));
 * ```
 */
export function authenticate(
  verify: UserVerifier,
  options: AuthenticateOptions = {},
): MiddlewareHandler<AppEnv> {
  return async function authenticateMiddleware(c, next) {
    const user = await verify(bearerToken(c.req.header("authorization")));
    if (options.tenantCreatedAt) {
      const createdAt = await options.tenantCreatedAt(user.tenant);
      if (!createdAt) {
        throw new OmniError("UNAUTHENTICATED", `tenant ${user.tenant} does not exist`);
      }
      refuseTokenOlderThanTenant(user, createdAt);
    }
    c.set("user", user);
    await next();
  };
}
