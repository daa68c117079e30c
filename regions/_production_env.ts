/**
 * Start-up checks shared by the production entry points: a deployment must name its catalog and
 * its secrets rather than fall back to the local defaults.
 *
 * @module
 */
import type { OmniConfig } from "../src/config.ts";

/** Throws, listing every missing variable, unless production settings are present. */
export function requireProductionEnv(
  env: Record<string, string | undefined>,
  config: OmniConfig,
  role: string,
): void {
  const missing = ["DATABASE_URL", "OMNISQL_MASTER_KEY", "OMNISQL_INTERNAL_SECRET"]
    .filter((name) => !env[name]);
  if (!config.oidcJwksUrl && env.DEV_ISSUER !== "on") missing.push("OIDC_JWKS_URL");
  if (missing.length) {
    throw new Error(
      `${role}: set ${
        missing.join(", ")
      } (see docs/DEPLOY.md; DEV_ISSUER=on allows the dev issuer)`,
    );
  }
}
