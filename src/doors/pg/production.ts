/**
 * The Postgres door of a production server (the edge, or a zone's worker), configured by env:
 * `PG_PORT` (no door without it), `PG_HOST` (default `0.0.0.0`), and `PG_TLS_KEY_FILE` +
 * `PG_TLS_CERT_FILE` (PEM), required: in production the door accepts TLS connections only;
 * `PG_MAX_CONNECTIONS` (default 256), `PG_MAX_CONNECTIONS_PER_TENANT` (default half of it),
 * `PG_MAX_CONNECTIONS_PER_USER` (default a quarter).
 *
 * @module
 */
import type { Gateway } from "../gateway.ts";
import { type PgDoor, startPgDoor } from "./server.ts";

/**
 * Starts the door `env` asks for, or none; throws when `PG_PORT` is set without a certificate.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { productionPgDoor } from "./production.ts";
 * const gateway = () => Promise.resolve({ status: 401, body: null });
 * assert.equal(await productionPgDoor({}, gateway), undefined);
 * await assert.rejects(productionPgDoor({ PG_PORT: "5433" }, gateway), /PG_TLS_CERT_FILE/);
 * ```
 */
export async function productionPgDoor(
  env: Record<string, string | undefined>,
  gateway: Gateway,
): Promise<PgDoor | undefined> {
  if (!env.PG_PORT) return undefined;
  if (!env.PG_TLS_KEY_FILE || !env.PG_TLS_CERT_FILE) {
    throw new Error(
      "PG_PORT is set but PG_TLS_KEY_FILE / PG_TLS_CERT_FILE are not: the Postgres door " +
        "requires TLS in production",
    );
  }
  return await startPgDoor({
    gateway,
    port: Number(env.PG_PORT),
    hostname: env.PG_HOST ?? "0.0.0.0",
    tls: {
      key: await Deno.readTextFile(env.PG_TLS_KEY_FILE),
      cert: await Deno.readTextFile(env.PG_TLS_CERT_FILE),
    },
    plaintext: "never",
    maxConnections: positiveInteger(env, "PG_MAX_CONNECTIONS"),
    maxConnectionsPerTenant: positiveInteger(env, "PG_MAX_CONNECTIONS_PER_TENANT"),
    maxConnectionsPerUser: positiveInteger(env, "PG_MAX_CONNECTIONS_PER_USER"),
  });
}

function positiveInteger(
  env: Record<string, string | undefined>,
  name: string,
): number | undefined {
  const text = env[name];
  if (!text) return undefined;
  const n = Number(text);
  if (!Number.isInteger(n) || n <= 0) {
    throw new Error(`${name} must be a positive integer, not ${text}`);
  }
  return n;
}
