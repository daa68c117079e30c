/**
 * Fixtures for tests of what wraps a source fetch (caches, budgets, breakers): a planned scan of
 * a connector's table and a fetch context, built the way the query path builds them.
 *
 * @module
 */
import type { ConnectorDef } from "../../connectors/sdk/connector.ts";
import { findTable } from "../../connectors/sdk/scan.ts";
import type { Connection, ScanOffer } from "../../connectors/sdk/table.ts";
import type { SourcePlan } from "../sql/plan.ts";
import type { FetchedSource, SourceFetchContext, SourceFetchOptions } from "./fetch.ts";

/**
 * The planner's plan of one table of a connection, for an offer.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { github } from "../../connectors/github/mod.ts";
 * import { acmeConnection } from "../../connectors/github/_testing.ts";
 * import { plannedSource } from "./testing.ts";
 * const offer = { predicates: [], columns: ["pr_id"] };
 * const source = plannedSource(github, "pull_requests", acmeConnection("http://x"), offer);
 * assert.equal(source.key, "github.pull_requests");
 * ```
 */
export function plannedSource(
  connector: ConnectorDef,
  tableName: string,
  connection: Connection,
  offer: ScanOffer,
): SourcePlan {
  const table = findTable(connector, tableName);
  return {
    key: `${connection.name}.${tableName}`.toLowerCase(),
    schema: connection.name.toLowerCase(),
    connection,
    connector,
    table,
    offer,
    plan: table.plan(offer, connection),
  };
}

/**
 * A fetch context for a developer of tenant `acme` in zone `us`, never aborted.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { fetchContext } from "./testing.ts";
 * assert.equal(fetchContext({ allow_stale: true }).metadata.allow_stale, true);
 * ```
 */
export function fetchContext(metadata: SourceFetchOptions = {}): SourceFetchContext {
  return {
    tenantId: "acme",
    user: { sub: "dev@acme.test", tenant: "acme" },
    traceId: "t",
    zone: "us",
    metadata,
    signal: new AbortController().signal,
  };
}

/**
 * A source known only by its key and connection: enough for wrappers that track a source by
 * those (circuit breakers), without planning a real scan.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { namedSource } from "./testing.ts";
 * assert.equal(namedSource().connection.id, "conn-1");
 * ```
 */
export function namedSource(): SourcePlan {
  return {
    key: "github.pull_requests",
    connection: { id: "conn-1", name: "github", tenantId: "acme" },
  } as unknown as SourcePlan;
}

/**
 * A fetch that succeeded with no rows, for fetchers stubbing the app.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { emptyFetch } from "./testing.ts";
 * assert.deepEqual(emptyFetch().rows, []);
 * ```
 */
export function emptyFetch(): FetchedSource {
  return {
    rows: [],
    pages: 1,
    calls: 1,
    fromCache: false,
    fetchedAt: 0,
  } as unknown as FetchedSource;
}
