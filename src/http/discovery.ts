/**
 * Read-only routes every endpoint serves: `GET /v1/catalog` (the tables and columns this user
 * may query) and `GET /v1/whoami` (tenant, zone, and the zone's own endpoint).
 *
 * @module
 */
import type { Handler } from "hono";
import type { ConnectorDef } from "../../connectors/sdk/connector.ts";
import type { Catalog } from "../catalog/store.ts";
import { OmniError } from "../errors.ts";
import type { AppEnv } from "./env.ts";

/** What the discovery routes read. */
export interface DiscoveryOptions {
  catalog: Catalog;
  connectors: Record<string, ConnectorDef>;
  /** Base URL of each zone's endpoint. */
  zoneUrls: Record<string, string>;
}

/**
 * `GET /v1/catalog`: the tenant's connections' tables with typed, described columns and the
 * operators each column can be filtered on at the source.
 *
 * @example
 * ```ts ignore
 * app.get("/v1/catalog", catalogListing(options));
 * ```
 */
export function catalogListing(options: DiscoveryOptions): Handler<AppEnv> {
  return async function catalogListingHandler(c) {
    const user = c.get("user");
    const connections = await options.catalog.listConnectionsPublic(user.tenant);
    const tables = connections.flatMap((conn) => {
      const connector = options.connectors[conn.connector];
      return (connector?.tables ?? []).map((t) => ({
        table: `${conn.name}.${t.name}`,
        connector: conn.connector,
        description: t.description,
        columns: t.columns.map((col) => ({
          name: col.name,
          type: col.type,
          description: col.description,
          filterable: t.keyColumns.find((k) => k.column === col.name)?.operators ?? [],
        })),
      }));
    });
    return c.json({ tenant: user.tenant, tables });
  };
}

/**
 * `GET /v1/whoami`: who the caller is and where their tenant's data lives.
 *
 * @example
 * ```ts ignore
 * app.get("/v1/whoami", whoami(options));
 * ```
 */
export function whoami(options: DiscoveryOptions): Handler<AppEnv> {
  return async function whoamiHandler(c) {
    const user = c.get("user");
    const tenant = await options.catalog.getTenant(user.tenant);
    if (!tenant) throw new OmniError("UNAUTHENTICATED", `unknown tenant ${user.tenant}`);
    return c.json({
      user: user.sub,
      tenant: tenant.id,
      role: user.role ?? null,
      team_id: user.team_id ?? null,
      zone: tenant.zone,
      endpoint_url: options.zoneUrls[tenant.zone] ?? null,
    });
  };
}
