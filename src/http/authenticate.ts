/**
 * Authentication middleware: verifies the bearer token and sets `c.var.user`.
 *
 * @module
 */
import type { MiddlewareHandler } from "hono";
import { bearerToken, type UserVerifier } from "../auth/user_token.ts";
import type { AppEnv } from "./env.ts";

/**
 * Middleware that admits only requests with a valid user token.
 *
 * @example
 * ```ts ignore
 * app.use("/v1/*", authenticate(verifier));
 * ```
 */
export function authenticate(verify: UserVerifier): MiddlewareHandler<AppEnv> {
  return async function authenticateMiddleware(c, next) {
    c.set("user", await verify(bearerToken(c.req.header("authorization"))));
    await next();
  };
}
