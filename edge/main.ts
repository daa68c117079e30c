/**
 * The edge alone, for production (a Deno Deploy project or a container), configured only by
 * env: `DATABASE_URL` (the catalog), `ZONE_<Z>_URL` (each zone's worker), `OIDC_ISSUER`,
 * `OIDC_AUDIENCE`, `OIDC_JWKS_URL`, `OMNISQL_MASTER_KEY`, `OMNISQL_INTERNAL_SECRET`,
 * `UPSTASH_REDIS_REST_URL_<Z>`/`_TOKEN_<Z>`, `PORT`. See docs/DEPLOY.md.
 *
 * @module
 */
import { CONNECTORS } from "../connectors/mod.ts";
import { ContextTokens } from "../src/auth/context_token.ts";
import { DevIssuer } from "../src/auth/dev_issuer.ts";
import { createUserVerifier } from "../src/auth/user_token.ts";
import { openZoneStores, tenantSettingsLookup } from "../src/cache/mod.ts";
import { Catalog, CatalogKeyStore, openCatalog } from "../src/catalog/mod.ts";
import { loadConfig } from "../src/config.ts";
import { KeyRing } from "../src/crypto/mod.ts";
import { guardFingerprint } from "../src/http/mod.ts";
import { PolicySecurityProvider } from "../src/policy/mod.ts";
import { edgeBudgetsOf } from "../src/ratelimit/mod.ts";
import { Logger } from "../src/telemetry/mod.ts";
import { createEdgeApp } from "./app.ts";
import { requireProductionEnv } from "../regions/_production_env.ts";

const env = Deno.env.toObject();
const config = loadConfig(env);
requireProductionEnv(env, config, "edge");
const logger = new Logger({ fields: { role: "edge" } });

const catalogDb = await openCatalog({ databaseUrl: config.databaseUrl });
const catalog = new Catalog(
  catalogDb.db,
  new KeyRing({ masterKey: config.masterKey, store: new CatalogKeyStore(catalogDb.db) }),
);
const devIssuer = config.devIssuer
  ? await DevIssuer.fromSecret(config.devIssuerSecret, config.oidcIssuer, config.oidcAudience)
  : undefined;
const verifyUser = createUserVerifier({
  issuer: config.oidcIssuer,
  audience: config.oidcAudience,
  keys: config.oidcJwksUrl ? { jwksUrl: config.oidcJwksUrl } : { jwks: devIssuer!.jwks() },
});
const stores = openZoneStores({
  zones: config.zones,
  upstash: config.upstash,
  keyRing: catalog.keyRing,
});
const settings = tenantSettingsLookup(catalog);
const security = new PolicySecurityProvider({ catalog, connectors: CONNECTORS });

const app = createEdgeApp({
  catalog,
  verifyUser,
  contextTokens: new ContextTokens(config.internalSecret),
  zoneUrls: config.zoneUrls,
  limiter: stores.limiter(),
  budgetsFor: async (tenantId) => edgeBudgetsOf(await settings(tenantId)),
  resultCache: {
    caches: stores.results,
    tenant: (id) => catalog.getTenant(id),
    fingerprint: guardFingerprint(security),
  },
  connectors: CONNECTORS,
  devIssuer,
  logger,
});

const server = Deno.serve({
  port: config.port,
  onListen: ({ hostname, port }) =>
    logger.info("listening", { url: `http://${hostname}:${port}`, zones: config.zones }),
}, app.fetch);

for (const signal of ["SIGINT", "SIGTERM"] as const) {
  Deno.addSignalListener(signal, async () => {
    await server.shutdown();
    await catalogDb.close();
    Deno.exit(0);
  });
}
