/**
 * What telemetry's HTTP middleware reads from a request's Hono context. The apps' own
 * environment (`AppEnv` of `src/http/env.ts`) has these variables and more; telemetry names only
 * these, so that it does not depend on the HTTP layer above it.
 *
 * @module
 */
import type { UserClaims } from "../auth/user_token.ts";

/**
 * Hono environment of telemetry's middleware.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { Hono } from "hono";
 * import type { TelemetryEnv } from "./env.ts";
 * const app = new Hono<TelemetryEnv>();
 * app.get("/", (c) => c.text(c.get("traceId") ?? "none"));
 * assert.equal(await (await app.request("/")).text(), "none");
 * ```
 */
export interface TelemetryEnv {
  Variables: {
    /** The request's trace id. */
    traceId: string;
    /** The authenticated user, once authentication ran. */
    user: UserClaims;
  };
}
