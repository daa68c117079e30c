/**
 * One zone's worker alone, for production (a Deno Deploy project or a container in that zone),
 * configured only by env: `ZONE` (which zone it serves), `PORT`, `DATABASE_URL`,
 * `OMNISQL_MASTER_KEY`, `OMNISQL_INTERNAL_SECRET`, the OIDC variables (for the zone's own
 * endpoint), `UPSTASH_REDIS_REST_URL_<ZONE>`/`_TOKEN_<ZONE>` (the zone's cache and budgets) and
 * `ZONE_<Z>_URL` (endpoints shown by whoami). See docs/DEPLOY.md.
 *
 * @module
 */
import { CONNECTORS } from "../connectors/mod.ts";
import { ContextTokens } from "../src/auth/context_token.ts";
import { DevIssuer } from "../src/auth/dev_issuer.ts";
import { createUserVerifier } from "../src/auth/user_token.ts";
import { openZoneStores, sourceCache, tenantSettingsLookup } from "../src/cache/mod.ts";
import { Catalog, CatalogKeyStore, openCatalog } from "../src/catalog/mod.ts";
import { loadConfig } from "../src/config.ts";
import { KeyRing } from "../src/crypto/mod.ts";
import { DuckEngine } from "../src/duckdb/engine.ts";
import { guardFingerprint } from "../src/http/mod.ts";
import { JobProgress, JobQueue } from "../src/jobs/mod.ts";
import { PolicySecurityProvider } from "../src/policy/mod.ts";
import { QueryService } from "../src/query/service.ts";
import { edgeBudgetsOf, sourceBudget } from "../src/ratelimit/mod.ts";
import { CircuitBreakers } from "../src/reliability/mod.ts";
import { Logger, Metrics, openJobCount, sourceTelemetry } from "../src/telemetry/mod.ts";
import { requireProductionEnv } from "./_production_env.ts";
import { createWorkerApp } from "./app.ts";

const env = Deno.env.toObject();
const zone = (env.ZONE ?? "").trim().toLowerCase();
const config = loadConfig({ ZONES: zone, ...env, PORT: env.PORT ?? "8001" });
if (!zone || !config.zones.includes(zone)) {
  throw new Error(`worker: set ZONE to one of the zones (${config.zones.join(", ")})`);
}
requireProductionEnv(env, config, `worker ${zone}`);
const logger = new Logger({ fields: { role: "worker", zone } });

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
const stores = openZoneStores({ zones: [zone], upstash: config.upstash, keyRing: catalog.keyRing });
const settings = tenantSettingsLookup(catalog);
const security = new PolicySecurityProvider({ catalog, connectors: CONNECTORS });
const metrics = new Metrics();
const breakers = new CircuitBreakers();
metrics.observeBreakers(() =>
  breakers.states().map((b) => ({ source: `${b.tenantId}/${b.source}`, state: b.state }))
);
metrics.observeQueueDepth(() => openJobCount(catalog, zone));
const progress = new JobProgress();
const service = new QueryService({
  zone,
  catalog,
  engine: await DuckEngine.shared(),
  connectors: CONNECTORS,
  security,
  sourceMiddleware: [
    sourceTelemetry(metrics),
    progress.middleware(),
    sourceCache({ cache: stores.caches[zone], settings }),
    sourceBudget({ limiter: stores.limiter(zone), settings }),
    breakers.middleware(),
  ],
});
const jobs = new JobQueue({ catalog, service, progress });
const app = createWorkerApp({
  service,
  catalog,
  connectors: CONNECTORS,
  contextTokens: new ContextTokens(config.internalSecret),
  verifyUser,
  limiter: stores.limiter(zone),
  budgetsFor: async (tenantId) => edgeBudgetsOf(await settings(tenantId)),
  resultCache: {
    caches: stores.results,
    tenant: (id) => catalog.getTenant(id),
    fingerprint: guardFingerprint(security),
  },
  zoneUrls: config.zoneUrls,
  jobs,
  metrics,
  logger,
});

const server = Deno.serve({
  port: config.port,
  onListen: ({ hostname, port }) => logger.info("listening", { url: `http://${hostname}:${port}` }),
}, app.fetch);
jobs.start();

for (const signal of ["SIGINT", "SIGTERM"] as const) {
  Deno.addSignalListener(signal, async () => {
    await jobs.stop();
    await server.shutdown();
    await catalogDb.close();
    Deno.exit(0);
  });
}
