/**
 * The edge alone, for production (a Deno Deploy project or a container), configured only by
 * env: `DATABASE_URL` (the catalog), `ZONE_<Z>_URL` (each zone's address) or `ZONE_<Z>_URLS` (its
 * instances, health-checked, with failover), `OIDC_ISSUER`,
 * `OIDC_AUDIENCE`, `OIDC_JWKS_URL`, `OMNISQL_MASTER_KEY`, `OMNISQL_INTERNAL_SECRET`,
 * `UPSTASH_REDIS_REST_URL_<Z>`/`_TOKEN_<Z>`, `PORT`; the Postgres door with `PG_PORT`,
 * `PG_TLS_KEY_FILE`, `PG_TLS_CERT_FILE`. See docs/DEPLOY.md.
 *
 * @module
 */
import { CONNECTORS } from "../connectors/mod.ts";
import { loadConfig } from "../src/config.ts";
import { ZoneInstances } from "../src/reliability/mod.ts";
import { Logger, Metrics } from "../src/telemetry/mod.ts";
import { requireProductionEnv } from "../src/deployment/production_env.ts";
import {
  appParts,
  journalDirOf,
  openProductionCatalog,
  openServing,
} from "../src/deployment/serving.ts";
import { createEdgeApp } from "./app.ts";
import { AuditJournal } from "../src/audit/journal.ts";
import { digestAuditAppender } from "../src/catalog/zone_audit.ts";
import { productionPgDoor } from "../src/doors/pg/production.ts";
import { appGateway } from "../src/doors/gateway.ts";

const env = Deno.env.toObject();
const config = loadConfig(env);
requireProductionEnv(env, config, "edge");
const logger = new Logger({ fields: { role: "edge" } });

const { catalog, close: closeCatalog } = await openProductionCatalog(config);
const serving = await openServing(config, catalog, CONNECTORS);
// Records of what the edge answers itself: durable before the answer leaves, replayed at start.
const appendAudit = digestAuditAppender(catalog);
const journal = new AuditJournal({
  dir: journalDirOf(config, "edge"),
  commit: (records) => Promise.all(records.map(appendAudit)),
});
const zoneInstances = new ZoneInstances({ zones: config.zoneInstanceUrls });
zoneInstances.start();
const app = createEdgeApp({
  fetch: zoneInstances.fetch,
  ...appParts(serving),
  zoneUrls: config.zoneUrls,
  limiter: serving.stores.limiter(),
  budgetsOf: serving.budgetsOf,
  journal,
  metrics: new Metrics({ tenantLabels: serving.metricsTenantLabels }),
  devIssuer: serving.devIssuer,
  logger,
});

// The Postgres wire-protocol door beside the edge (PG_PORT, TLS required), same pipeline.
const pgDoor = await productionPgDoor(env, appGateway((request) => app.fetch(request)));

const server = Deno.serve({
  port: config.port,
  onListen: ({ hostname, port }) =>
    logger.info("listening", { url: `http://${hostname}:${port}`, zones: config.zones }),
}, app.fetch);

for (const signal of ["SIGINT", "SIGTERM"] as const) {
  Deno.addSignalListener(signal, async () => {
    await server.shutdown();
    await pgDoor?.close();
    zoneInstances.stop();
    serving.close();
    await journal.close();
    await closeCatalog();
    Deno.exit(0);
  });
}
