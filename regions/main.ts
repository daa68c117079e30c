/**
 * One zone's worker alone, for production (a Deno Deploy project or a container in that zone),
 * configured only by env: `ZONE` (which zone it serves), `PORT`, `DATABASE_URL`,
 * `OMNISQL_MASTER_KEY`, `OMNISQL_INTERNAL_SECRET`, the OIDC variables (for the zone's own
 * endpoint), `UPSTASH_REDIS_REST_URL_<ZONE>`/`_TOKEN_<ZONE>` (the zone's cache and budgets) and
 * `ZONE_<Z>_URL` (endpoints shown by whoami), and `ZONE_<ZONE>_DATABASE_URL` (the zone's own
 * store for async jobs and results; the catalog when unset). See docs/DEPLOY.md.
 *
 * @module
 */
import { CONNECTORS } from "../connectors/mod.ts";
import { openCatalog } from "../src/catalog/mod.ts";
import { loadConfig } from "../src/config.ts";
import { Logger } from "../src/telemetry/mod.ts";
import { requireProductionEnv } from "../src/deployment/production_env.ts";
import { journalDirOf, openProductionCatalog, openServing } from "../src/deployment/serving.ts";
import { buildZoneWorker } from "./serving.ts";
import { productionPgDoor } from "../src/doors/pg/production.ts";
import { appGateway } from "../src/doors/gateway.ts";

const env = Deno.env.toObject();
const zone = (env.ZONE ?? "").trim().toLowerCase();
const config = loadConfig({ ZONES: zone, ...env, PORT: env.PORT ?? "8001" });
if (!zone || !config.zones.includes(zone)) {
  throw new Error(`worker: set ZONE to one of the zones (${config.zones.join(", ")})`);
}
requireProductionEnv(env, config, `worker ${zone}`);
const logger = new Logger({ fields: { role: "worker", zone } });

const { catalog, close: closeCatalog } = await openProductionCatalog(config);
// The zone's own store for its tenants' async jobs (SQL and results), when it has one.
const zoneDb = config.zoneDatabaseUrls[zone]
  ? await openCatalog({ databaseUrl: config.zoneDatabaseUrls[zone] })
  : undefined;
const serving = await openServing(config, catalog, CONNECTORS, { zones: [zone] });
const worker = buildZoneWorker(serving, zone, {
  zoneUrls: config.zoneUrls,
  jobs: { leaseMs: config.jobLeaseMs },
  logger,
  zoneDb: zoneDb?.db,
  auditJournalDir: journalDirOf(config, `zone-${zone}`),
});
await worker.engines.warm("all");

// The zone's own Postgres door (PG_PORT, TLS required): its tenants' BI tools connect here.
const pgDoor = await productionPgDoor(env, appGateway((request) => worker.app.fetch(request)));

const server = Deno.serve({
  port: config.port,
  onListen: ({ hostname, port }) => logger.info("listening", { url: `http://${hostname}:${port}` }),
}, worker.app.fetch);
worker.jobs.start();

for (const signal of ["SIGINT", "SIGTERM"] as const) {
  Deno.addSignalListener(signal, async () => {
    await server.shutdown();
    await pgDoor?.close();
    await worker.close();
    serving.close();
    await closeCatalog();
    await zoneDb?.close();
    Deno.exit(0);
  });
}
