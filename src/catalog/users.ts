/**
 * Users in the catalog: a tenant's members with their role, team and attributes (what policies
 * read about them).
 *
 * @module
 */
import { and, asc, eq } from "drizzle-orm";
import type { CatalogDatabase } from "./db.ts";
import { type UserRow, users } from "./schema.ts";
import type { ReadCache } from "./_read_cache.ts";

/** A user to create or replace. */
export interface UserInput {
  tenantId: string;
  email: string;
  role: string;
  /** @default null */
  teamId?: string | null;
  /** @default {} */
  attributes?: Record<string, unknown>;
}

/**
 * The catalog's users. Reads go through the catalog's read memo; writes clear it.
 *
 * @example
 * ```ts ignore
 * // Needs an open catalog: `Catalog`'s example in store.ts runs one.
 * await new UserStore(db, reads).upsert({ tenantId: "acme", email: "a@acme.com", role: "dev" });
 * ```
 */
export class UserStore {
  constructor(
    private readonly db: CatalogDatabase,
    private readonly reads: ReadCache,
  ) {}

  /** The user, or `undefined`. */
  get(tenantId: string, email: string): Promise<UserRow | undefined> {
    // Postgres text cannot hold NUL: no such user exists (and the query would fail).
    if (`${tenantId}${email}`.includes("\0")) return Promise.resolve(undefined);
    return this.reads.get(`user:${tenantId}:${email}`, async () => {
      const [row] = await this.db.select().from(users)
        .where(and(eq(users.tenantId, tenantId), eq(users.email, email)));
      return row;
    });
  }

  /** Creates or replaces a user. */
  upsert(input: UserInput): Promise<UserRow> {
    return this.reads.write(async () => {
      const values = {
        tenantId: input.tenantId,
        email: input.email,
        role: input.role,
        teamId: input.teamId ?? null,
        attributes: input.attributes ?? {},
      };
      const [row] = await this.db
        .insert(users)
        .values(values)
        .onConflictDoUpdate({
          target: [users.tenantId, users.email],
          set: { role: values.role, teamId: values.teamId, attributes: values.attributes },
        })
        .returning();
      return row;
    });
  }

  /** The tenant's users, by email. */
  list(tenantId: string): Promise<UserRow[]> {
    // Remembered: a tenant's compiled policy is checked against its directory on the query path.
    return this.reads.get(
      `users:${tenantId}`,
      async () =>
        await this.db.select().from(users).where(eq(users.tenantId, tenantId))
          .orderBy(asc(users.email)),
    );
  }
}
