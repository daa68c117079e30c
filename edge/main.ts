/**
 * The edge alone, for production (a Deno Deploy project or a container), configured only by
 * env: `DATABASE_URL` (the catalog), `ZONE_<Z>_URL` (each zone's address) or `ZONE_<Z>_URLS` (its
 * instances, health-checked, with failover), `OIDC_ISSUER`,
 * `OIDC_AUDIENCE`, `OIDC_JWKS_URL`, `OMNISQL_MASTER_KEY`, `OMNISQL_INTERNAL_SECRET`,
 * `UPSTASH_REDIS_REST_URL_<Z>`/`_TOKEN_<Z>`, `PORT`. See docs/DEPLOY.md.
 *
 * @module
 */
import { CONNECTORS } from "../connectors/mod.ts";
import { Catalog, CatalogKeyStore, openCatalog } from "../src/catalog/mod.ts";
import { loadConfig } from "../src/config.ts";
import { KeyRing } from "../src/crypto/mod.ts";
import { ZoneInstances } from "../src/reliability/mod.ts";
import { Logger, Metrics } from "../src/telemetry/mod.ts";
import { requireProductionEnv } from "../regions/_production_env.ts";
import { openServing } from "../regions/serving.ts";
import { createEdgeApp } from "./app.ts";

const env = Deno.env.toObject();
const config = loadConfig(env);
requireProductionEnv(env, config, "edge");
const logger = new Logger({ fields: { role: "edge" } });

const catalogDb = await openCatalog({ databaseUrl: config.databaseUrl });
const catalog = new Catalog(
  catalogDb.db,
  new KeyRing({ masterKey: config.masterKey, store: new CatalogKeyStore(catalogDb.db) }),
  { auditKey: config.auditKey },
);
const serving = await openServing(config, catalog, CONNECTORS);
const zoneInstances = new ZoneInstances({ zones: config.zoneInstanceUrls });
zoneInstances.start();
const app = createEdgeApp({
  fetch: zoneInstances.fetch,
  catalog,
  verifyUser: serving.verifyUser,
  contextTokens: serving.contextTokens,
  zoneUrls: config.zoneUrls,
  limiter: serving.stores.limiter(),
  budgetsFor: serving.budgetsFor,
  resultCache: serving.resultCache,
  checkClaims: serving.checkClaims,
  metricsToken: serving.metricsToken,
  security: serving.security,
  metrics: new Metrics({ tenantLabels: serving.metricsTenantLabels }),
  connectors: CONNECTORS,
  devIssuer: serving.devIssuer,
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
    zoneInstances.stop();
    await catalogDb.close();
    Deno.exit(0);
  });
}
