/**
 * Declarative connectors: a manifest (YAML) describes an app's API — GraphQL or REST, auth,
 * pagination, rate-limit headers, error bodies — and its tables; the runtime turns it into a
 * {@link ConnectorDef} with pushdown and pagination, with no code per app.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { loadManifest, manifestConnector } from "./mod.ts";
 * const connector = manifestConnector(loadManifest(`
 * id: status
 * version: 1
 * description: A status page.
 * api: { style: rest }
 * auth: [{ style: api_key_header, header: X-Api-Key, credential: apiKey }]
 * tables:
 *   - name: incidents
 *     description: Incidents.
 *     request: { path: /incidents, records: incidents }
 *     pagination: { style: offset, page_size: 20 }
 *     columns:
 *       - { name: id, type: text, path: id, description: Incident id. }
 * `));
 * assert.ok(connector.id === "status" && connector.tables[0].name === "incidents");
 * ```
 *
 * @module
 */
export {
  type AuthSpec,
  type ColumnSpec,
  type GraphqlComparator,
  type GraphqlFilterSpec,
  type GraphqlTableSpec,
  loadManifest,
  type Manifest,
  ManifestError,
  type PaginationSpec,
  type RateLimitBucket,
  type RateLimitSpec,
  type RestFilterSpec,
  type RestTableSpec,
  type TableSpec,
  validateManifest,
} from "./manifest.ts";
export { manifestConnector, type ManifestPlanState } from "./connector.ts";
