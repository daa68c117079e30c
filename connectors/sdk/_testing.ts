/**
 * Fixtures of the SDK's and connectors' tests: a fake app's connector and connection, a helper
 * that expects an {@link OmniError}, and validators kept in memory.
 *
 * @module
 */
import assert from "node:assert/strict";
import { OmniError } from "../../src/errors.ts";
import type { ConnectorDef } from "./connector.ts";
import type { ConditionalEntry, ConditionalStore } from "./http.ts";
import { retryAfterMs } from "./protocol.ts";
import type { Connection } from "./table.ts";

/** A fake app: bearer auth, `Retry-After` as its only budget header, errors as their JSON. */
export const FAKE_CONNECTOR: ConnectorDef = {
  id: "fake",
  description: "a fake app",
  tables: [],
  authorize: () => ({ authorization: "Bearer t" }),
  readRateLimit: (headers) => ({ retryAfterMs: retryAfterMs(headers) }),
  readError: (_status, body) => ({ message: JSON.stringify(body) }),
};

/** A connection to the fake app at `http://app.invalid`. */
export const FAKE_CONNECTION: Connection = {
  id: "c1",
  tenantId: "acme",
  connector: "fake",
  name: "fake",
  baseUrl: "http://app.invalid",
  credentials: {},
  config: {},
};

/** The {@link OmniError} a promise rejects with; fails the test when it resolves. */
export async function failure(p: Promise<unknown>): Promise<OmniError> {
  try {
    await p;
  } catch (err) {
    assert.ok(err instanceof OmniError, String(err));
    return err;
  }
  assert.fail("expected a failure");
}

/**
 * A connection of tenant `acme` to an app at `baseUrl`, named after its connector.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { acmeConnectionOf } from "./_testing.ts";
 * const conn = acmeConnectionOf("linear", "l1", "http://x", { apiKey: "k" });
 * assert.deepEqual([conn.name, conn.tenantId, conn.config], ["linear", "acme", {}]);
 * ```
 */
export function acmeConnectionOf(
  connector: string,
  id: string,
  baseUrl: string,
  credentials: Record<string, string>,
  config: Record<string, unknown> = {},
): Connection {
  return { id, tenantId: "acme", connector, name: connector, baseUrl, credentials, config };
}

/**
 * A {@link ConditionalStore} in memory (a 304 confirms an entry as stored: nothing to renew),
 * with its entries by URL.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { memoryValidators } from "./_testing.ts";
 * const { entries, store } = memoryValidators();
 * await store.store("http://app.invalid/a", { etag: '"1"', body: [], headers: {} }, 200);
 * assert.deepEqual(await store.lookup("http://app.invalid/a"), entries.get("http://app.invalid/a"));
 * ```
 */
export function memoryValidators(): {
  entries: Map<string, ConditionalEntry>;
  store: ConditionalStore;
} {
  const entries = new Map<string, ConditionalEntry>();
  const store: ConditionalStore = {
    lookup: (url) => entries.get(url),
    entry: (url) => entries.get(url),
    store: (url, entry) => void entries.set(url, entry),
  };
  return { entries, store };
}
