/**
 * Authentication middleware: verifies the bearer token and sets `c.var.user`. A valid token of a
 * tenant that does not exist (never created, or off-boarded) is refused like a bad token.
 *
 * @module
 */
import type { MiddlewareHandler } from "hono";
import { bearerToken, type UserVerifier } from "../auth/user_token.ts";
import { OmniError } from "../errors.ts";
import type { AppEnv } from "./env.ts";

/** Options of {@link authenticate}. */
export interface AuthenticateOptions {
  /** Whether the token's tenant exists. @default every tenant is taken to exist */
  tenantExists?: (tenantId: string) => Promise<boolean>;
}

/**
 * Middleware that admits only requests with a valid user token of an existing tenant.
 *
 * @example
 * ```ts ignore
 * app.use("/v1/*", authenticate(verifier, { tenantExists: async (t) => !!(await catalog.getTenant(t)) }));
 * ```
 */
export function authenticate(
  verify: UserVerifier,
  options: AuthenticateOptions = {},
): MiddlewareHandler<AppEnv> {
  return async function authenticateMiddleware(c, next) {
    const user = await verify(bearerToken(c.req.header("authorization")));
    if (options.tenantExists && !(await options.tenantExists(user.tenant))) {
      throw new OmniError("UNAUTHENTICATED", `tenant ${user.tenant} does not exist`);
    }
    c.set("user", user);
    await next();
  };
}
