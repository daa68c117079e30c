/**
 * The per-request variables the middleware of edge and workers share.
 *
 * @module
 */
import type { UserClaims } from "../auth/user_token.ts";

/** Hono environment of OmniSQL's apps. */
export interface AppEnv {
  /**
   * What `Deno.serve` hands a handler beside the request; `c.env` is undefined when an app is
   * called in process (the doors' gateway, the tests).
   */
  Bindings: Partial<Pick<Deno.ServeHandlerInfo, "completed">>;
  Variables: {
    /** The request's trace id (from `x-trace-id`, the body's metadata, or generated). */
    traceId: string;
    /** The authenticated user, once `authenticate` ran. */
    user: UserClaims;
  };
}
