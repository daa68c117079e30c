/**
 * The connectors' tables in the catalog: each table's declared columns, versioned. A change that
 * can break a user's query (a column removed or retyped) is reported, and applied only on
 * request.
 *
 * @module
 */
import { and, asc, eq, sql } from "drizzle-orm";
import type { CatalogDatabase } from "./db.ts";
import { type CatalogColumn, type CatalogTableRow, catalogTables } from "./schema.ts";
import { canonicalJson } from "./_canonical_json.ts";

/** The tables one connector declares, as {@link TableStore.sync} takes them. */
export interface ConnectorTables {
  connector: string;
  tables: { name: string; description: string; columns: CatalogColumn[] }[];
}

/** What {@link TableStore.sync} did. */
export interface SyncResult {
  created: string[];
  /** Tables whose columns changed: their version was bumped. */
  bumped: string[];
  unchanged: string[];
  /**
   * Columns a new declaration removes or retypes. Unless `allowBreaking`, the tables they belong
   * to were left as they were (listed here, not in `bumped`).
   */
  breaking: BreakingChange[];
}

/** A change of a table's declaration that can break a user's query. */
export interface BreakingChange {
  /** `connector.table`. */
  table: string;
  column: string;
  /** `removed`, or `retyped integer → text`. */
  change: string;
}

/** Options of {@link TableStore.sync}. */
export interface SyncOptions {
  /** Apply removals and retypings too (bumping the version). @default false */
  allowBreaking?: boolean;
}

/**
 * The catalog's connector tables.
 *
 * @example
 * ```ts ignore
 * // Needs an open catalog: `Catalog`'s example in store.ts runs one.
 * const result = await new TableStore(db).sync(declarations);
 * ```
 */
export class TableStore {
  constructor(
    private readonly db: CatalogDatabase,
  ) {}

  /**
   * Upserts the connectors' table declarations. A table's version is bumped when its columns
   * change (names, types, descriptions or order); a new description alone does not bump it. A
   * declaration that removes or retypes a column is detected and reported in `breaking`, and not
   * applied unless `options.allowBreaking`.
   */
  async sync(defs: ConnectorTables[], options: SyncOptions = {}): Promise<SyncResult> {
    const result: SyncResult = { created: [], bumped: [], unchanged: [], breaking: [] };
    await this.db.transaction(async (tx) => {
      const existing = new Map(
        (await tx.select().from(catalogTables)).map((r) => [`${r.connector}.${r.tableName}`, r]),
      );
      for (const def of defs) {
        for (const table of def.tables) {
          const key = `${def.connector}.${table.name}`;
          const columns = table.columns.map((c) => ({
            name: c.name,
            type: c.type,
            description: c.description,
          }));
          const before = existing.get(key);
          if (!before) {
            await tx.insert(catalogTables).values({
              connector: def.connector,
              tableName: table.name,
              version: 1,
              description: table.description,
              columns,
            });
            result.created.push(key);
            continue;
          }
          const changed = canonicalJson(before.columns) !== canonicalJson(columns);
          if (!changed && before.description === table.description) {
            result.unchanged.push(key);
            continue;
          }
          const breaking = breakingChanges(key, before.columns, columns);
          if (breaking.length) {
            result.breaking.push(...breaking);
            if (!options.allowBreaking) continue;
          }
          await tx.update(catalogTables)
            .set({
              description: table.description,
              columns,
              version: changed ? sql`${catalogTables.version} + 1` : before.version,
              updatedAt: new Date(),
            })
            .where(and(
              eq(catalogTables.connector, def.connector),
              eq(catalogTables.tableName, table.name),
            ));
          (changed ? result.bumped : result.unchanged).push(key);
        }
      }
    });
    return result;
  }

  /** Every connector table, by connector and name. */
  list(): Promise<CatalogTableRow[]> {
    return this.db.select().from(catalogTables)
      .orderBy(asc(catalogTables.connector), asc(catalogTables.tableName));
  }
}

/** Columns of `before` that `after` removes or retypes. */
function breakingChanges(
  table: string,
  before: CatalogColumn[],
  after: CatalogColumn[],
): BreakingChange[] {
  const next = new Map(after.map((c) => [c.name, c]));
  const out: BreakingChange[] = [];
  for (const col of before) {
    const now = next.get(col.name);
    if (!now) out.push({ table, column: col.name, change: "removed" });
    else if (now.type !== col.type) {
      out.push({ table, column: col.name, change: `retyped ${col.type} → ${now.type}` });
    }
  }
  return out;
}
