/**
 * Webhook secrets in the catalog: one per connection, encrypted with the tenant's key ring (so
 * off-boarding shreds them with everything else), never returned by any listing.
 *
 * @module
 */
import { and, eq } from "drizzle-orm";
import type { Catalog } from "../catalog/store.ts";
import { connections, webhookSecrets } from "../catalog/schema.ts";
import { OmniError } from "../errors.ts";

/** A connection that may receive webhooks, with its secret in the clear (in memory only). */
export interface WebhookEndpoint {
  connectionId: string;
  connector: string;
  /** The connection's name (its schema in SQL). */
  name: string;
  secret: string;
}

/** Shortest secret accepted: GitHub and Jira generate longer ones; short ones are guessable. */
export const MIN_SECRET_LENGTH = 16;

async function connectionRow(catalog: Catalog, tenantId: string, name: string) {
  const [row] = await catalog.db.select({
    id: connections.id,
    connector: connections.connector,
    name: connections.name,
  }).from(connections).where(and(eq(connections.tenantId, tenantId), eq(connections.name, name)));
  return row;
}

/**
 * Stores (or replaces) a connection's webhook secret, encrypted.
 *
 * @example
 * ```ts ignore
 * await setWebhookSecret(catalog, "acme", "github", "a-long-random-secret");
 * ```
 */
export async function setWebhookSecret(
  catalog: Catalog,
  tenantId: string,
  connection: string,
  secret: string,
): Promise<void> {
  if (secret.length < MIN_SECRET_LENGTH) {
    throw new OmniError(
      "INVALID_REQUEST",
      `a webhook secret needs at least ${MIN_SECRET_LENGTH} characters`,
    );
  }
  const row = await connectionRow(catalog, tenantId, connection);
  if (!row) throw new OmniError("NOT_FOUND", `tenant ${tenantId} has no connection ${connection}`);
  const secretEnc = await catalog.keyRing.encrypt(tenantId, secret);
  await catalog.db.insert(webhookSecrets).values({ connectionId: row.id, tenantId, secretEnc })
    .onConflictDoUpdate({
      target: webhookSecrets.connectionId,
      set: { secretEnc, updatedAt: new Date() },
    });
}

/**
 * The connection and its webhook secret; `undefined` when the connection does not exist, has no
 * secret, or its secret no longer decrypts (a shredded key).
 *
 * @example
 * ```ts ignore
 * const endpoint = await webhookEndpoint(catalog, "acme", "github");
 * ```
 */
export async function webhookEndpoint(
  catalog: Catalog,
  tenantId: string,
  connection: string,
): Promise<WebhookEndpoint | undefined> {
  // Postgres text cannot hold NUL: no such connection exists (and the query would fail).
  if (`${tenantId}${connection}`.includes("\0")) return undefined;
  const [row] = await catalog.db.select({
    id: connections.id,
    connector: connections.connector,
    name: connections.name,
    secretEnc: webhookSecrets.secretEnc,
  }).from(connections)
    .innerJoin(webhookSecrets, eq(webhookSecrets.connectionId, connections.id))
    .where(and(eq(connections.tenantId, tenantId), eq(connections.name, connection)));
  if (!row) return undefined;
  try {
    const secret = await catalog.keyRing.decryptText(tenantId, row.secretEnc);
    return { connectionId: row.id, connector: row.connector, name: row.name, secret };
  } catch {
    return undefined;
  }
}
