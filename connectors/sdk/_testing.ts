/**
 * Fixtures of the SDK's own tests: a fake app's connector and connection, and a helper that
 * expects an {@link OmniError}.
 *
 * @module
 */
import assert from "node:assert/strict";
import { OmniError } from "../../src/errors.ts";
import type { ConnectorDef } from "./connector.ts";
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
