/**
 * Start-up checks shared by the production entry points: a deployment must name its catalog and
 * its secrets rather than fall back to the local defaults.
 *
 * @module
 */
import { devDefaultsInUse, type OmniConfig } from "../config.ts";

/**
 * Throws, listing every missing variable and every public development default still in use,
 * unless production settings are present. The dev issuer (`DEV_ISSUER`, its public secret and
 * `/dev/token`) exists only in the local stack (`deno task start`): a production entry point
 * refuses it outright.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { loadConfig } from "../config.ts";
 * import { requireProductionEnv } from "./production_env.ts";
 * const env = { DATABASE_URL: "postgres://db/omnisql", DEV_ISSUER: "on" };
 * assert.throws(
 *   () => requireProductionEnv(env, loadConfig(env), "edge"),
 *   /OMNISQL_MASTER_KEY.*DEV_ISSUER/,
 * );
 * ```
 */
export function requireProductionEnv(
  env: Record<string, string | undefined>,
  config: OmniConfig,
  role: string,
): void {
  const missing = [
    "DATABASE_URL",
    "OMNISQL_MASTER_KEY",
    "OMNISQL_INTERNAL_SECRET",
    "OIDC_JWKS_URL",
    "OMNISQL_METRICS_TOKEN",
    "OMNISQL_AUDIT_KEY",
  ].filter((name) => !env[name]);
  const defaults = devDefaultsInUse(config).filter((name) => !missing.includes(name));
  if (missing.length || defaults.length) {
    throw new Error(
      `${role}: ` + [
        missing.length ? `set ${missing.join(", ")}` : "",
        defaults.length
          ? `refusing the public development default of ${defaults.join(", ")} ` +
            "(the dev issuer and dev secrets exist only in the local stack, deno task start)"
          : "",
      ].filter(Boolean).join("; ") + " (see docs/DEPLOY.md)",
    );
  }
}
