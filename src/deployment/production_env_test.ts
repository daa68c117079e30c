import assert from "node:assert/strict";
import { loadConfig } from "../config.ts";
import { requireProductionEnv } from "./production_env.ts";

const PRODUCTION = {
  DATABASE_URL: "postgres://db.example/omnisql",
  OMNISQL_MASTER_KEY: btoa("m".repeat(32)),
  OMNISQL_INTERNAL_SECRET: "a-real-secret",
  OIDC_JWKS_URL: "https://idp.example/.well-known/jwks.json",
  OMNISQL_METRICS_TOKEN: "scrape-token",
  OMNISQL_AUDIT_KEY: "an-audit-key-the-database-never-holds",
};

Deno.test("production entry points refuse every public dev default and the dev issuer", () => {
  requireProductionEnv(PRODUCTION, loadConfig(PRODUCTION), "edge");
  const refused: [Record<string, string>, RegExp][] = [
    [{ ...PRODUCTION, OMNISQL_MASTER_KEY: "" }, /set OMNISQL_MASTER_KEY/],
    [{ ...PRODUCTION, OMNISQL_METRICS_TOKEN: "" }, /set OMNISQL_METRICS_TOKEN/],
    // The public dev values, set explicitly, are refused like missing ones.
    [
      { ...PRODUCTION, OMNISQL_MASTER_KEY: "b21uaXNxbC1kZXYtbWFzdGVyLWtleS0wMDAwMDAwMDA=" },
      /default of OMNISQL_MASTER_KEY/,
    ],
    [
      { ...PRODUCTION, OMNISQL_INTERNAL_SECRET: "omnisql-dev-internal-context-secret" },
      /default of OMNISQL_INTERNAL_SECRET/,
    ],
    // DEV_ISSUER=on no longer stands in for an identity provider.
    [
      { ...PRODUCTION, OIDC_JWKS_URL: "", DEV_ISSUER: "on" },
      /set OIDC_JWKS_URL.*default of DEV_ISSUER/,
    ],
  ];
  for (const [env, message] of refused) {
    const clean = Object.fromEntries(Object.entries(env).filter(([, v]) => v !== ""));
    assert.throws(() => requireProductionEnv(clean, loadConfig(clean), "edge"), message);
  }
});
