/**
 * The Postgres wire-protocol door: `psql`, BI tools and drivers query OmniSQL as if it were a
 * Postgres database, through the same pipeline as `POST /v1/query`.
 *
 * @example
 * ```ts ignore
 * import { startPgDoor } from "./mod.ts";
 * const door = await startPgDoor({ gateway, port: 5433 });
 * ```
 *
 * @module
 */
export { type PgDoor, type PgDoorOptions, startPgDoor } from "./server.ts";
export { CatalogViews, type CatalogViewsOptions, DATABASE } from "./catalog_view.ts";
