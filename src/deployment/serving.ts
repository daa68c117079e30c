/**
 * The parts every deployment shape assembles the same way — the production edge, a production
 * zone worker, and the local stack that runs them all in one process: identity, the tenants'
 * caches and budgets and policies. A zone's worker is built on top of it by
 * `regions/serving.ts`; each entry point only adds where it listens.
 *
 * @module
 */
import { NotifyTargets } from "../notify/target.ts";
import type { ConnectorDef } from "../../connectors/sdk/connector.ts";
import { ContextTokens } from "../auth/context_token.ts";
import { DevIssuer } from "../auth/dev_issuer.ts";
import { createUserVerifier, type UserClaims, type UserVerifier } from "../auth/user_token.ts";
import { connectNotices, openZoneStores, tenantSettingsLookup } from "../cache/mod.ts";
import { Catalog, openCatalog } from "../catalog/mod.ts";
import type { OmniConfig } from "../config.ts";
import { guardFingerprint, type ResultCacheOptions } from "../pipeline/mod.ts";
import { rememberVerifiedTokens } from "../auth/verified_tokens.ts";
import type { TenantRow } from "../catalog/schema.ts";
import { PolicySecurityProvider } from "../policy/mod.ts";
import { DEFAULT_BUDGETS, type EdgeBudgets, edgeBudgetsOf } from "../ratelimit/mod.ts";

/**
 * Opens the deployment's catalog (`DATABASE_URL`) with the tenants' key ring (sealed by
 * `OMNISQL_MASTER_KEY`) and the audit chain's key.
 *
 * @example
 * ```ts ignore
 * const { catalog, close } = await openProductionCatalog(loadConfig(Deno.env.toObject()));
 * ```
 */
export async function openProductionCatalog(
  config: OmniConfig,
): Promise<{ catalog: Catalog; close(): Promise<void> }> {
  const opened = await openCatalog({ databaseUrl: config.databaseUrl });
  const catalog = Catalog.withKeys(opened.db, config.masterKey, { auditKey: config.auditKey });
  return { catalog, close: () => opened.close() };
}

/** What edge and workers share, built once per process. */
export interface Serving {
  catalog: Catalog;
  connectors: Record<string, ConnectorDef>;
  contextTokens: ContextTokens;
  verifyUser: UserVerifier;
  /** The dev issuer, when enabled by config. */
  devIssuer?: DevIssuer;
  security: PolicySecurityProvider;
  stores: ReturnType<typeof openZoneStores>;
  /** The tenant's budgets from its row (the query pipeline reads the row once per query). */
  budgetsOf: (tenant: TenantRow) => EdgeBudgets;
  resultCache: ResultCacheOptions;
  settings: ReturnType<typeof tenantSettingsLookup>;
  /** The deployment's engine pool settings and memory limits. */
  engines: OmniConfig["engines"];
  /** The bearer token `/metrics` requires (none: open, local stack only). */
  metricsToken?: string;
  /** Whether metrics carry tenant ids. */
  metricsTenantLabels: boolean;
  /** Refuses a token whose claims the tenant's policy would misread (`UNAUTHENTICATED`). */
  checkClaims: (user: UserClaims) => Promise<void>;
  /** Starts loading the tenant's policy, which `checkClaims` reads (errors surface there). */
  prefetchClaims: (tenantId: string) => void;
  /** Where job notifications and cost alerts may be sent (the deployment's allow-list). */
  notifyTargets: NotifyTargets;
  /** Stops tracking tenant lifecycle events. */
  close(): void;
}

/**
 * Builds what edge and workers share from the configuration and an open catalog.
 *
 * @example
 * ```ts ignore
 * const serving = await openServing(config, catalog, CONNECTORS);
 * ```
 */
export async function openServing(
  config: OmniConfig,
  catalog: Catalog,
  connectors: Record<string, ConnectorDef>,
  options: { cachePrefix?: string; zones?: string[]; notifyAllowHosts?: string[] } = {},
): Promise<Serving> {
  const devIssuer = config.devIssuer
    ? await DevIssuer.fromSecret(config.devIssuerSecret, config.oidcIssuer, config.oidcAudience)
    : undefined;
  if (!config.oidcJwksUrl && !devIssuer) {
    throw new Error("set OIDC_JWKS_URL, or enable the dev issuer for local use");
  }
  // A client sends the same token with every query: its signature is checked once per token.
  const verifyUser = rememberVerifiedTokens(createUserVerifier({
    issuer: config.oidcIssuer,
    audience: config.oidcAudience,
    keys: config.oidcJwksUrl ? { jwksUrl: config.oidcJwksUrl } : { jwks: devIssuer!.jwks() },
  }));
  const security = new PolicySecurityProvider({ catalog, connectors });
  // Caches and budgets: each zone's Upstash database when configured, else this process's memory.
  const stores = openZoneStores({
    zones: options.zones ?? config.zones,
    upstash: config.upstash,
    keyRing: catalog.keyRing,
    prefix: options.cachePrefix ?? config.cachePrefix,
    budgetStore: config.budgetStore,
    noticeStore: noticeStoreOf(config),
  });
  // Another instance's key rotation, shred or tenant change: forget what this one remembers.
  const disconnect = connectNotices(
    stores.notices,
    catalog,
    (t) => security.forget(t ?? undefined),
  );
  // A tenant that moves zone or is off-boarded leaves nothing cached behind, in any zone.
  const untrack = catalog.onTenantLifecycle({
    flushTenant: (id) => Promise.all(Object.values(stores.caches).map((c) => c.flush(id))),
  });
  const budgetDefaults = {
    ...DEFAULT_BUDGETS,
    global: { tokens: config.globalPerMinute, windowMs: 60_000 },
  };
  const settings = tenantSettingsLookup(catalog);
  const stopKeepingReads = catalog.keepReadsFresh();
  return {
    catalog,
    connectors,
    // A token is good once, on the zone's store (a store that cannot answer lets it through).
    contextTokens: new ContextTokens(config.internalSecret, {
      firstUse: ({ zone, tenant, id, ttlMs }) =>
        stores.caches[zone]?.claim(tenant, `context:${id}`, "used", ttlMs) ??
          Promise.resolve(true),
    }),
    verifyUser,
    devIssuer,
    security,
    stores,
    settings,
    engines: config.engines,
    checkClaims: (user) => security.checkClaims(user.tenant, user),
    prefetchClaims: (tenantId) => void security.policy(tenantId).catch(() => {}),
    metricsToken: config.metricsToken,
    metricsTenantLabels: config.metricsTenantLabels,
    budgetsOf: (tenant) => edgeBudgetsOf(tenant.settings, budgetDefaults),
    resultCache: { caches: stores.results, fingerprint: guardFingerprint(security) },
    notifyTargets: new NotifyTargets({
      allowHosts: [...config.notifyAllowHosts, ...options.notifyAllowHosts ?? []],
    }),
    close() {
      stopKeepingReads();
      untrack();
      disconnect();
      stores.notices.close();
    },
  };
}

/**
 * The store every instance of the deployment (each edge, each zone's workers, the admin CLI)
 * shares notices on: the budget store (`UPSTASH_REDIS_REST_URL`), else the first zone of
 * `ZONES` that has one — chosen from the deployment's zone list, not the instance's own, so a
 * zone's worker picks the same store as the edge. None: notices stay within the process.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { noticeStoreOf } from "./serving.ts";
 * const eu = { url: "http://eu", token: "t" };
 * assert.equal(noticeStoreOf({ zones: ["us", "eu"], upstash: { eu } }), eu);
 * ```
 */
export function noticeStoreOf(
  config: Pick<OmniConfig, "zones" | "upstash" | "budgetStore">,
): OmniConfig["budgetStore"] {
  return config.budgetStore ?? config.upstash[config.zones.find((z) => config.upstash[z]) ?? ""];
}

/** What every app (the edge's and each zone's) takes from {@link Serving}, under its own names. */
export type AppParts = Pick<
  Serving,
  | "catalog"
  | "connectors"
  | "contextTokens"
  | "verifyUser"
  | "security"
  | "budgetsOf"
  | "resultCache"
  | "checkClaims"
  | "prefetchClaims"
  | "metricsToken"
>;

/**
 * The parts of {@link Serving} the edge and zone apps are built from; each entry point adds
 * where it routes, its budgets store, metrics and logger.
 *
 * @example
 * ```ts ignore
 * const app = createEdgeApp({ ...appParts(serving), zoneUrls, limiter, metrics });
 * ```
 */
export function appParts(serving: Serving): AppParts {
  return {
    catalog: serving.catalog,
    connectors: serving.connectors,
    contextTokens: serving.contextTokens,
    verifyUser: serving.verifyUser,
    security: serving.security,
    budgetsOf: serving.budgetsOf,
    resultCache: serving.resultCache,
    checkClaims: serving.checkClaims,
    prefetchClaims: serving.prefetchClaims,
    metricsToken: serving.metricsToken,
  };
}

/**
 * The audit journal directory of this process: one per instance, because a journal is locked by
 * the process that owns it, and a restarted instance (same host and port) replays its own.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { journalDirOf } from "./serving.ts";
 * assert.match(journalDirOf({ auditJournalDir: "/var/audit", port: 8000 }, "edge"), /^\/var\/audit\/edge-.+-8000$/);
 * ```
 */
export function journalDirOf(
  config: Pick<OmniConfig, "auditJournalDir" | "port">,
  role: string,
): string {
  return `${config.auditJournalDir ?? ".omnisql/audit"}/${role}-${Deno.hostname()}-${config.port}`;
}
