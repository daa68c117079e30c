/**
 * A tenant's notification settings in the catalog: the URL cost alerts go to, and the secret
 * that signs everything OmniSQL sends the tenant (alerts, job notifications), encrypted with the
 * tenant's key ring. The secret is made on first need; an admin reads or rotates it with
 * `deno task admin tenants signing-secret`.
 *
 * @module
 */
import { eq } from "drizzle-orm";
import type { Catalog } from "../catalog/store.ts";
import { tenantNotifications } from "../catalog/schema.ts";

function newSecret(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(32));
  return `whsec_${Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("")}`;
}

async function row(catalog: Catalog, tenantId: string) {
  const [found] = await catalog.db.select().from(tenantNotifications)
    .where(eq(tenantNotifications.tenantId, tenantId));
  return found;
}

/**
 * The tenant's signing secret, made (and stored encrypted) on first need; `rotate` replaces it.
 *
 * @example
 * ```ts ignore
 * const secret = await signingSecret(catalog, "acme");
 * ```
 */
export async function signingSecret(
  catalog: Catalog,
  tenantId: string,
  options: { rotate?: boolean } = {},
): Promise<string> {
  const existing = options.rotate ? undefined : await row(catalog, tenantId);
  if (existing) return await catalog.keyRing.decryptText(tenantId, existing.secretEnc);
  const secret = newSecret();
  const secretEnc = await catalog.keyRing.encrypt(tenantId, secret);
  const [stored] = await catalog.db.insert(tenantNotifications).values({ tenantId, secretEnc })
    .onConflictDoUpdate({
      target: tenantNotifications.tenantId,
      // Rotation replaces; a racing first use keeps whichever secret landed first.
      set: options.rotate
        ? { secretEnc, updatedAt: new Date() }
        : { secretEnc: tenantNotifications.secretEnc },
    }).returning();
  return await catalog.keyRing.decryptText(tenantId, stored.secretEnc);
}

/**
 * Sets (or with `null` clears) where the tenant's cost alerts are posted.
 *
 * @example
 * ```ts ignore
 * await setAlertUrl(catalog, "acme", "https://hooks.acme.example/omnisql");
 * ```
 */
export async function setAlertUrl(
  catalog: Catalog,
  tenantId: string,
  url: string | null,
): Promise<void> {
  await signingSecret(catalog, tenantId);
  await catalog.db.update(tenantNotifications).set({ alertUrl: url, updatedAt: new Date() })
    .where(eq(tenantNotifications.tenantId, tenantId));
}

/**
 * Where the tenant's cost alerts go, if anywhere.
 *
 * @example
 * ```ts ignore
 * const url = await alertUrlOf(catalog, "acme");
 * ```
 */
export async function alertUrlOf(catalog: Catalog, tenantId: string): Promise<string | undefined> {
  return (await row(catalog, tenantId))?.alertUrl ?? undefined;
}
