/**
 * What both HTTP servers (the edge and a zone's worker) are built from: the parts a request
 * meets whichever server answers it. Each server's own options add what only it has.
 *
 * @module
 */
import type { ContextTokens } from "../auth/context_token.ts";
import type { UserClaims, UserVerifier } from "../auth/user_token.ts";
import type { AuditJournal } from "../audit/journal.ts";
import type { Catalog } from "../catalog/store.ts";
import type { TenantRow } from "../catalog/schema.ts";
import {
  identify,
  type ResultCacheOptions,
  serveFromCache,
  spendBudgets,
  type Step,
} from "../pipeline/mod.ts";
import type { SecurityProvider } from "../policy/guard.ts";
import type { EdgeBudgets, RateLimiter } from "../ratelimit/mod.ts";
import type { Logger, Metrics } from "../telemetry/mod.ts";
import type { ConnectorDef } from "../../connectors/sdk/connector.ts";

/**
 * The options the edge and a zone's worker share.
 *
 * @example
 * ```ts ignore
 * import type { ServingOptions } from "./serving_options.ts";
 * interface MyServerOptions extends ServingOptions {
 *   extra: string;
 * }
 * ```
 */
export interface ServingOptions {
  catalog: Catalog;
  connectors: Record<string, ConnectorDef>;
  contextTokens: ContextTokens;
  /** Verifies user tokens. */
  verifyUser: UserVerifier;
  /** The budgets this server spends. */
  limiter: RateLimiter;
  /** Base URL of each zone's endpoint. */
  zoneUrls: Record<string, string>;
  /** The server's metrics, served at `/metrics`. @default a fresh registry */
  metrics?: Metrics;
  /** Where the access log goes. @default JSON lines on stdout/stderr */
  logger?: Logger;
  /** The tenant's budgets (from its settings). @default DEFAULT_BUDGETS */
  budgetsOf?: (tenant: TenantRow) => EdgeBudgets;
  /** The result cache of `/v1/query`. @default none */
  resultCache?: ResultCacheOptions;
  /** Where the records of the queries this server answers go. @default a journal in memory over the catalog's chain */
  journal?: AuditJournal;
  /** The tenants' policies, for what `/v1/catalog` lists. @default everything listed */
  security?: SecurityProvider;
  /** The bearer token `/metrics` requires. @default none: `/metrics` is open (local stack) */
  metricsToken?: string;
  /** Refuses tokens whose claims the tenant's policy would misread. @default no check */
  checkClaims?: (user: UserClaims) => Promise<void>;
  /** Starts loading what `checkClaims` reads for a tenant. @default nothing loaded ahead */
  prefetchClaims?: (tenantId: string) => void;
}

/**
 * The first steps of a door that signs its callers in itself (the edge, a zone's own endpoint):
 * identify the caller against the catalog. The steps that come after it differ per server.
 *
 * @example
 * ```ts ignore
 * const steps = [identifyCaller(options), parseRequest(), ...spendAndServeCached(options, metrics)];
 * ```
 */
export function identifyCaller(options: ServingOptions): Step {
  const { catalog } = options;
  return identify({
    verifyUser: options.verifyUser,
    getTenant: (id) => catalog.getTenant(id),
    getUser: (tenant, email) => catalog.getUser(tenant, email),
    checkClaims: options.checkClaims,
    prefetchClaims: options.prefetchClaims,
  });
}

/**
 * Spends the caller's budgets, then answers from the result cache when it can: a cache hit is
 * charged like any query.
 *
 * @example
 * ```ts ignore
 * const steps = [identifyCaller(options), parseRequest(), ...spendAndServeCached(options, metrics)];
 * ```
 */
export function spendAndServeCached(options: ServingOptions, metrics: Metrics): Step[] {
  return [
    spendBudgets({ limiter: options.limiter, budgetsOf: options.budgetsOf }),
    serveFromCache(options.resultCache, metrics),
  ];
}
