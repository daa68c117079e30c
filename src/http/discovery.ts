/**
 * Read-only routes every endpoint serves: `GET /v1/catalog` (the tables and columns this user
 * may query) and `GET /v1/whoami` (tenant, zone, and the zone's own endpoint).
 *
 * @module
 */
import type { Handler } from "hono";
import { connectionTables, type ConnectorDef } from "../../connectors/sdk/connector.ts";
import type { Catalog } from "../catalog/store.ts";
import type { SecurityProvider } from "../policy/guard.ts";
import { OmniError } from "../errors.ts";
import type { AppEnv } from "./env.ts";

/** What the discovery routes read. */
export interface DiscoveryOptions {
  catalog: Catalog;
  connectors: Record<string, ConnectorDef>;
  /** Base URL of each zone's endpoint. */
  zoneUrls: Record<string, string>;
  /**
   * The tenants' policies: `/v1/catalog` then lists only what the user may read (no denied
   * table, no blocked column; masked columns marked). @default everything listed
   */
  security?: SecurityProvider;
}

/**
 * `GET /v1/catalog`: the tenant's connections' tables with typed, described columns and the
 * operators each column can be filtered on at the source — only the tables and columns the
 * user may read, masked columns marked `masked: true`.
 *
 * @example
 * ```ts ignore
 * app.get("/v1/catalog", catalogListing(options));
 * ```
 */
export function catalogListing(options: DiscoveryOptions): Handler<AppEnv> {
  return async function catalogListingHandler(c) {
    const user = c.get("user");
    const [connections, guard] = await Promise.all([
      options.catalog.listConnectionsPublic(user.tenant),
      options.security?.guardFor(user.tenant, user),
    ]);
    const readable = (key: string, columns: string[]) => {
      try {
        guard?.check([{ key, columns }]);
        return true;
      } catch {
        return false;
      }
    };
    const tables = connections.flatMap((conn) => {
      const connector = options.connectors[conn.connector];
      return (connector ? connectionTables(connector, conn) : []).flatMap((t) => {
        const key = `${conn.name}.${t.name}`.toLowerCase();
        if (!readable(key, [])) return [];
        const masked = new Set(guard?.pushdown?.(key).unpushable ?? []);
        return [{
          table: `${conn.name}.${t.name}`,
          connector: conn.connector,
          description: t.description,
          columns: t.columns.filter((col) => readable(key, [col.name])).map((col) => ({
            name: col.name,
            type: col.type,
            description: col.description,
            filterable: masked.has(col.name.toLowerCase())
              ? []
              : t.keyColumns.find((k) => k.column === col.name)?.operators ?? [],
            ...(masked.has(col.name.toLowerCase()) ? { masked: true } : {}),
          })),
        }];
      });
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
