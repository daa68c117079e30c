/**
 * The per-request variables the middleware of edge and workers share.
 *
 * @module
 */
import type { UserClaims } from "../auth/user_token.ts";

/** Hono environment of OmniSQL's apps. */
export interface AppEnv {
  Variables: {
    /** The request's trace id (from `x-trace-id`, the body's metadata, or generated). */
    traceId: string;
    /** The authenticated user, once `authenticate` ran. */
    user: UserClaims;
  };
}
