/**
 * Configuration, read once from an environment record by the entry points (`edge/main.ts`,
 * `regions/main.ts`, the local stack and the admin CLI) and passed down; nothing under `src/`
 * reads `Deno.env` itself.
 *
 * @module
 */

/** Everything the servers and the CLI are configured with. */
export interface OmniConfig {
  /** Edge port. @default 8000 */
  port: number;
  /** Residency zones served, e.g. `["us", "eu"]`. @default ["us", "eu"] */
  zones: string[];
  /** Base URL of each zone's worker (`ZONE_<NAME>_URL`; else the first of `ZONE_<NAME>_URLS`). */
  zoneUrls: Record<string, string>;
  /**
   * Each zone's instances behind its one address (`ZONE_<NAME>_URLS`, comma-separated): the edge
   * health-checks them, spreads queries over them and fails over. @default the zone's URL alone
   */
  zoneInstanceUrls: Record<string, string[]>;
  /** Postgres URL of the catalog; absent → embedded PGlite. */
  databaseUrl?: string;
  /**
   * Each zone's own store (`ZONE_<NAME>_DATABASE_URL`), where its tenants' async jobs (SQL and
   * encrypted results) live; a zone without one uses the catalog (one database locally).
   */
  zoneDatabaseUrls: Record<string, string>;
  /** PGlite data directory; absent → in memory. */
  pgliteDataDir?: string;
  /** Base64 32-byte master key that wraps tenant data keys (a KMS in production). */
  masterKey: string;
  /** Shared secret for the edge → worker context token. */
  internalSecret: string;
  /** Expected `iss` of user tokens. */
  oidcIssuer: string;
  /** Expected `aud` of user tokens. */
  oidcAudience: string;
  /** JWKS URL of the issuer; absent → the built-in dev issuer's keys. */
  oidcJwksUrl?: string;
  /** Seed of the built-in dev issuer's signing key. */
  devIssuerSecret: string;
  /** Whether the built-in dev issuer is enabled (never in production). */
  devIssuer: boolean;
  /**
   * Upstash Redis per zone for caches and budgets (`UPSTASH_REDIS_REST_URL_<ZONE>`,
   * `UPSTASH_REDIS_REST_TOKEN_<ZONE>`); a zone without one uses in-process memory.
   */
  upstash: Record<string, { url: string; token: string }>;
  /**
   * The deployment's request budgets (user, tenant, global) on one Upstash database shared by
   * every edge and every zone endpoint (`UPSTASH_REDIS_REST_URL`, `UPSTASH_REDIS_REST_TOKEN`;
   * counters only, no tenant data). @default the first zone's database, else memory
   */
  budgetStore?: { url: string; token: string };
  /**
   * First segment of every cache, budget and lock key in Redis (`OMNISQL_CACHE_PREFIX`), so
   * deployments sharing one Redis keep apart. @default "omnisql"
   */
  cachePrefix: string;
  /**
   * How long a zone instance's claim on an async job lasts without renewal
   * (`OMNISQL_JOB_LEASE_MS`): how soon another instance takes over the jobs of one that died.
   * @default 30000
   */
  jobLeaseMs: number;
  /** Requests a minute every tenant together may send (`OMNISQL_GLOBAL_PER_MINUTE`). @default 90000 */
  globalPerMinute: number;
  /** Each zone worker's DuckDB engine pool and the memory a query may use there. */
  engines: EngineConfig;
  /** Key of the audit chain's HMACs (`OMNISQL_AUDIT_KEY`); absent → unkeyed (local only). */
  auditKey?: string;
  /**
   * Directory of the audit journals (`OMNISQL_AUDIT_JOURNAL_DIR`): query records are durable
   * there before answers leave, then committed to the catalog in batches; a restart replays
   * what a crash left. @default production entry points: `.omnisql/audit/<role>`; the local
   * stack: `.omnisql/audit` with a durable catalog (`DATABASE_URL`, `PGLITE_DATA_DIR`), memory
   * otherwise
   */
  auditJournalDir?: string;
  /** Bearer token `/metrics` requires (`OMNISQL_METRICS_TOKEN`); absent → open (local only). */
  metricsToken?: string;
  /** Whether metrics carry tenant ids (`OMNISQL_METRICS_TENANT_LABELS=on`). @default false */
  metricsTenantLabels: boolean;
  /**
   * Hosts (`name` or `name:port`) job notifications and alerts may reach over `http` or at
   * private addresses (`OMNISQL_NOTIFY_ALLOW_HOSTS`, comma-separated). @default none
   */
  notifyAllowHosts: string[];
}

/** A zone worker's engines (`OMNISQL_ENGINES`, `OMNISQL_ENGINE_QUEUE`, `OMNISQL_*_MEMORY_MB`). */
export interface EngineConfig {
  /** Queries a zone worker runs in DuckDB at once. @default the number of CPU cores */
  size: number;
  /** Queries waiting for an engine before a zone answers 503. @default 64 */
  queueLimit: number;
  /** Memory one interactive query may use, MiB (tenants may lower it). @default 512 */
  memoryLimitMb: number;
  /** Memory an async job's query may use, MiB (tenants may lower it). @default 2048 */
  jobMemoryLimitMb: number;
  /**
   * How long a fresh engine runs warm-up queries before serving, ms (`OMNISQL_ENGINE_WARMUP_MS`;
   * 0 turns it off: the first queries of each engine are then slower). @default 6000
   */
  warmUpMs: number;
  /**
   * While an engine lent to a query waits for the query's rows, a warm-up this often, ms
   * (`OMNISQL_ENGINE_KEEP_WARM_MS`; 0 turns it off: the engine step after the last source is in
   * is then slower, and each waiting query spares about a tenth of a core). @default 40
   */
  keepWarmMs: number;
  /**
   * Engines kept started beyond the busy ones (`OMNISQL_ENGINE_SPARES`), so a replaced engine
   * never makes the next query wait for a start (about a second). @default 1
   */
  spares: number;
}

/** Issuer name of the built-in dev issuer. */
export const DEV_ISSUER = "https://dev-issuer.omnisql.local";

/** Dev-only defaults; production sets every secret explicitly. */
const DEV_MASTER_KEY = "b21uaXNxbC1kZXYtbWFzdGVyLWtleS0wMDAwMDAwMDA=";
const DEV_INTERNAL_SECRET = "omnisql-dev-internal-context-secret";
const DEV_ISSUER_SECRET = "omnisql-dev-issuer-secret";

/**
 * Builds the configuration from an environment record.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { loadConfig } from "./config.ts";
 * const config = loadConfig({ PORT: "9000", ZONES: "us,eu" });
 * assert.ok(config.port === 9000 && config.zones.length === 2);
 * const two = loadConfig({ ZONE_US_URLS: "http://us-1:8001, http://us-2:8001" });
 * assert.deepEqual(two.zoneInstanceUrls.us, ["http://us-1:8001", "http://us-2:8001"]);
 * assert.equal(two.zoneUrls.us, "http://us-1:8001");
 * assert.equal(two.globalPerMinute, 90_000);
 * ```
 */
export function loadConfig(env: Record<string, string | undefined>): OmniConfig {
  const zones = (env.ZONES ?? "us,eu").split(",").map((z) => z.trim().toLowerCase()).filter(
    Boolean,
  );
  const port = Number(env.PORT ?? 8000);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new Error(`bad PORT ${env.PORT}`);
  const zoneUrls: Record<string, string> = {};
  const zoneInstanceUrls: Record<string, string[]> = {};
  zones.forEach((zone, i) => {
    const instances = (env[`ZONE_${zone.toUpperCase()}_URLS`] ?? "").split(",")
      .map((u) => u.trim()).filter(Boolean);
    zoneUrls[zone] = env[`ZONE_${zone.toUpperCase()}_URL`] ?? instances[0] ??
      `http://127.0.0.1:${port + 1 + i}`;
    zoneInstanceUrls[zone] = instances.length ? instances : [zoneUrls[zone]];
  });
  if (!env.UPSTASH_REDIS_REST_URL !== !env.UPSTASH_REDIS_REST_TOKEN) {
    throw new Error("set both UPSTASH_REDIS_REST_URL and UPSTASH_REDIS_REST_TOKEN");
  }
  const devIssuer = env.OIDC_JWKS_URL === undefined && env.DEV_ISSUER !== "off";
  const zoneDatabaseUrls: Record<string, string> = {};
  for (const zone of zones) {
    const url = env[`ZONE_${zone.toUpperCase()}_DATABASE_URL`];
    if (url) zoneDatabaseUrls[zone] = url;
  }
  return {
    port,
    zones,
    zoneUrls,
    zoneInstanceUrls,
    databaseUrl: env.DATABASE_URL || undefined,
    zoneDatabaseUrls,
    pgliteDataDir: env.PGLITE_DATA_DIR || undefined,
    masterKey: env.OMNISQL_MASTER_KEY ?? DEV_MASTER_KEY,
    internalSecret: env.OMNISQL_INTERNAL_SECRET ?? DEV_INTERNAL_SECRET,
    oidcIssuer: env.OIDC_ISSUER ?? DEV_ISSUER,
    oidcAudience: env.OIDC_AUDIENCE ?? "omnisql",
    oidcJwksUrl: env.OIDC_JWKS_URL || undefined,
    devIssuerSecret: env.DEV_ISSUER_SECRET ?? DEV_ISSUER_SECRET,
    devIssuer,
    upstash: upstashByZone(env, zones),
    budgetStore: env.UPSTASH_REDIS_REST_URL && env.UPSTASH_REDIS_REST_TOKEN
      ? { url: env.UPSTASH_REDIS_REST_URL, token: env.UPSTASH_REDIS_REST_TOKEN }
      : undefined,
    cachePrefix: env.OMNISQL_CACHE_PREFIX || "omnisql",
    jobLeaseMs: positiveInt(env, "OMNISQL_JOB_LEASE_MS", 30_000),
    globalPerMinute: positiveInt(env, "OMNISQL_GLOBAL_PER_MINUTE", 90_000),
    engines: {
      size: positiveInt(env, "OMNISQL_ENGINES", navigator.hardwareConcurrency || 2),
      queueLimit: positiveInt(env, "OMNISQL_ENGINE_QUEUE", 64),
      memoryLimitMb: positiveInt(env, "OMNISQL_QUERY_MEMORY_MB", 512),
      jobMemoryLimitMb: positiveInt(env, "OMNISQL_JOB_MEMORY_MB", 2048),
      warmUpMs: positiveInt(env, "OMNISQL_ENGINE_WARMUP_MS", 6000, 0),
      keepWarmMs: positiveInt(env, "OMNISQL_ENGINE_KEEP_WARM_MS", 40, 0),
      spares: positiveInt(env, "OMNISQL_ENGINE_SPARES", 1, 0),
    },
    metricsToken: env.OMNISQL_METRICS_TOKEN || undefined,
    auditKey: env.OMNISQL_AUDIT_KEY || undefined,
    auditJournalDir: env.OMNISQL_AUDIT_JOURNAL_DIR || undefined,
    metricsTenantLabels: env.OMNISQL_METRICS_TENANT_LABELS === "on",
    notifyAllowHosts: (env.OMNISQL_NOTIFY_ALLOW_HOSTS ?? "").split(",").map((h) => h.trim())
      .filter(Boolean),
  };
}

function positiveInt(
  env: Record<string, string | undefined>,
  name: string,
  fallback: number,
  min = 1,
): number {
  const raw = env[name];
  if (raw === undefined || raw === "") return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < min) {
    throw new Error(`${name} must be an integer of at least ${min}`);
  }
  return value;
}

/**
 * The public development defaults a configuration still uses, by variable name: the master key,
 * the internal context secret and the dev issuer (its secret is public, and it serves
 * `/dev/token`). Anything but the local stack on its embedded catalog must use none of them.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { devDefaultsInUse, loadConfig } from "./config.ts";
 * assert.deepEqual(devDefaultsInUse(loadConfig({})), [
 *   "OMNISQL_MASTER_KEY",
 *   "OMNISQL_INTERNAL_SECRET",
 *   "DEV_ISSUER",
 * ]);
 * assert.deepEqual(devDefaultsInUse(loadConfig({
 *   OMNISQL_MASTER_KEY: btoa("k".repeat(32)),
 *   OMNISQL_INTERNAL_SECRET: "s3cret",
 *   OIDC_JWKS_URL: "https://idp.example/jwks",
 * })), []);
 * ```
 */
export function devDefaultsInUse(config: OmniConfig): string[] {
  const used: string[] = [];
  if (config.masterKey === DEV_MASTER_KEY) used.push("OMNISQL_MASTER_KEY");
  if (config.internalSecret === DEV_INTERNAL_SECRET) used.push("OMNISQL_INTERNAL_SECRET");
  if (config.devIssuer) used.push("DEV_ISSUER");
  return used;
}

function upstashByZone(
  env: Record<string, string | undefined>,
  zones: string[],
): Record<string, { url: string; token: string }> {
  const out: Record<string, { url: string; token: string }> = {};
  for (const zone of zones) {
    const url = env[`UPSTASH_REDIS_REST_URL_${zone.toUpperCase()}`];
    const token = env[`UPSTASH_REDIS_REST_TOKEN_${zone.toUpperCase()}`];
    if (url && token) out[zone] = { url, token };
    else if (url || token) {
      throw new Error(`set both UPSTASH_REDIS_REST_URL_${zone.toUpperCase()} and _TOKEN_`);
    }
  }
  return out;
}
