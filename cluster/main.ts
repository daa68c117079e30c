/**
 * `deno task cluster`: the production shape on one machine, each role its own OS process running
 * the production entry points — two edges (`PORT`, `PORT+1`), zone `us` on two instances
 * (`PORT+10`, `PORT+11`), zone `eu` on one (`PORT+20`) — with the Redis-over-HTTP bridge
 * (`PORT+30`) in front of the real Redis at `REDIS_URL` (default `redis://127.0.0.1:6379`), the
 * sandboxes and a stand-in identity provider (`PORT+31`, sandboxes from `PORT+40`), all on the
 * real Postgres at `DATABASE_URL` (migrated, and seeded with the demo tenants when it has none).
 * Every instance shares caches, budgets, single-flight leases and open breakers through the
 * bridge; the edges spread each zone's traffic over its instances and fail over.
 *
 * @module
 */
import { declaredTables } from "../connectors/mod.ts";
import { Catalog, openCatalog, seedDemo } from "../src/catalog/mod.ts";
import type { DemoSandboxes } from "../src/catalog/demo.ts";
import { loadConfig } from "../src/config.ts";
import { clusterSecrets, saveClusterRuntime, SECRET_NAMES } from "./secrets.ts";
import { Supervisor, waitHealthy } from "./processes.ts";

const env = Deno.env.toObject();
const port = Number(env.PORT ?? 8000);
if (!env.DATABASE_URL) {
  console.error("cluster: set DATABASE_URL to a Postgres database (it is migrated and seeded)");
  Deno.exit(2);
}
const databaseUrl = env.DATABASE_URL;
const redisUrl = env.REDIS_URL || "redis://127.0.0.1:6379";
const local = (p: number) => `http://127.0.0.1:${p}`;
const ports = {
  edges: [port, port + 1],
  us: [port + 10, port + 11],
  eu: [port + 20],
  bridge: port + 30,
  idp: port + 31,
  sandboxes: port + 40,
};
const secrets = { ...await clusterSecrets(databaseUrl), ...pick(env, [...SECRET_NAMES]) };
const { REDIS_HTTP_TOKEN: bridgeToken, ...appSecrets } = secrets;
const bridgeUrl = local(ports.bridge);
// What every edge and zone instance is configured with: the production variables.
const shared: Record<string, string> = {
  ...appSecrets,
  DATABASE_URL: databaseUrl,
  ZONES: "us,eu",
  ZONE_US_URL: local(ports.us[0]),
  ZONE_US_URLS: ports.us.map(local).join(","),
  ZONE_EU_URL: local(ports.eu[0]),
  ZONE_EU_URLS: ports.eu.map(local).join(","),
  OIDC_JWKS_URL: `${local(ports.idp)}/.well-known/jwks.json`,
  UPSTASH_REDIS_REST_URL: bridgeUrl,
  UPSTASH_REDIS_REST_TOKEN: bridgeToken,
  UPSTASH_REDIS_REST_URL_US: bridgeUrl,
  UPSTASH_REDIS_REST_TOKEN_US: bridgeToken,
  UPSTASH_REDIS_REST_URL_EU: bridgeUrl,
  UPSTASH_REDIS_REST_TOKEN_EU: bridgeToken,
  // Every start counts afresh: nothing of an earlier run (budget windows, locks) carries over.
  OMNISQL_CACHE_PREFIX: env.OMNISQL_CACHE_PREFIX ?? `cluster-${crypto.randomUUID().slice(0, 8)}`,
};

/** Each role's entry point, wherever the cluster is started from. */
const entry = (path: string) => new URL(`../${path}`, import.meta.url).pathname;

function pick(from: Record<string, string>, names: string[]): Record<string, string> {
  return Object.fromEntries(names.filter((n) => from[n]).map((n) => [n, from[n]]));
}

const procs = new Supervisor();
const stop = async () => {
  await procs.stopAll();
  await saveClusterRuntime(databaseUrl, undefined);
  Deno.exit(0);
};
for (const signal of ["SIGINT", "SIGTERM"] as const) Deno.addSignalListener(signal, stop);

try {
  procs.start({
    name: "redis-http",
    module: entry("bridge/main.ts"),
    env: {
      REDIS_URL: redisUrl,
      REDIS_HTTP_TOKEN: bridgeToken,
      PORT: `${ports.bridge}`,
    },
  });
  let sandboxUrls: (urls: DemoSandboxes) => void = () => {};
  const sandboxesReady = new Promise<DemoSandboxes>((resolve) => sandboxUrls = resolve);
  procs.start({
    name: "sandboxes",
    module: entry("cluster/sandboxes.ts"),
    env: {
      SANDBOX_BASE_PORT: `${ports.sandboxes}`,
      IDP_PORT: `${ports.idp}`,
      DEV_ISSUER_SECRET: secrets.DEV_ISSUER_SECRET,
      SANDBOX_LATENCY_MS: env.SANDBOX_LATENCY_MS ?? "0",
    },
    onLine(line) {
      if (!line.startsWith('{"role":"sandboxes"')) return;
      sandboxUrls((JSON.parse(line) as { urls: DemoSandboxes }).urls);
    },
  });
  await seedCatalog(await sandboxesReady);
  await waitHealthy(`${bridgeUrl}/healthz`, 30_000);

  for (const [zone, zonePorts] of [["us", ports.us], ["eu", ports.eu]] as const) {
    zonePorts.forEach((p, i) =>
      procs.start({
        name: `zone-${zone}-${i + 1}`,
        module: entry("regions/main.ts"),
        env: { ...shared, ZONE: zone, PORT: `${p}` },
      })
    );
  }
  ports.edges.forEach((p, i) =>
    procs.start({
      name: `edge-${i + 1}`,
      module: entry("edge/main.ts"),
      env: { ...shared, PORT: `${p}` },
    })
  );
  const all = [...ports.edges, ...ports.us, ...ports.eu];
  await Promise.all(all.map((p) => waitHealthy(`${local(p)}/healthz`, 180_000)));
  // The admin CLI's shreds and off-boardings then reach every instance at once (notices).
  await saveClusterRuntime(databaseUrl, {
    UPSTASH_REDIS_REST_URL: bridgeUrl,
    UPSTASH_REDIS_REST_TOKEN: bridgeToken,
    OMNISQL_CACHE_PREFIX: shared.OMNISQL_CACHE_PREFIX,
  });
} catch (err) {
  console.error(`cluster: could not start: ${err instanceof Error ? err.message : err}`);
  await procs.stopAll();
  Deno.exit(1);
}

console.log(`OmniSQL cluster is running: every role its own process.

  edges             ${ports.edges.map(local).join("  ")}   (POST /v1/query)
  zone us           ${ports.us.map(local).join("  ")}   (two instances; the edges fail over)
  zone eu           ${ports.eu.map(local).join("  ")}
  redis-http bridge ${bridgeUrl}   (Upstash REST protocol, in front of ${redisUrl})
  identity (JWKS)   ${local(ports.idp)}/.well-known/jwks.json
  sandboxes         from ${local(ports.sandboxes)}
  catalog           Postgres at DATABASE_URL
  metrics           /metrics on each, with the bearer token OMNISQL_METRICS_TOKEN of
                    .omnisql/cluster/ (the secrets of this database)

Get a token and query through either edge (the admin CLI finds this cluster's secrets by
DATABASE_URL):

  T=$(deno task admin tokens mint --tenant acme --user dev@acme)
  curl -s -X POST ${local(ports.edges[1])}/v1/query -H "Authorization: Bearer $T" \\
    -d '{"sql": "SELECT repo, count(*) AS prs FROM github.pull_requests GROUP BY repo"}'
`);

/**
 * Migrates the catalog and, when it has no tenant yet, seeds the demo tenants, their users and
 * sandbox connections; syncs the connectors' tables either way.
 */
async function seedCatalog(sandboxes: DemoSandboxes): Promise<void> {
  const config = loadConfig({ ...env, ...shared });
  const db = await openCatalog({ databaseUrl, maxConnections: 2 });
  try {
    const catalog = Catalog.withKeys(db.db, config.masterKey, { auditKey: config.auditKey });
    // A catalog with tenants is someone's: left as it is (its demo connections, if any, point
    // at the sandboxes of the PORT it was first started on).
    if ((await catalog.listTenants()).length === 0) {
      try {
        await seedDemo(catalog, sandboxes);
      } catch (err) {
        throw new Error(
          `seeding the demo tenants failed (${err instanceof Error ? err.message : err}); ` +
            "a catalog whose keys another master key wraps needs that OMNISQL_MASTER_KEY",
        );
      }
    }
    await catalog.syncCatalogTables(declaredTables());
  } finally {
    await db.close();
  }
}
