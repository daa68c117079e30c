/**
 * Checks the query's column references against the catalog before anything is fetched, so a
 * typo answers `unknown column statuz in github.pull_requests; did you mean status?` instead of
 * costing API calls and then a DuckDB binder message.
 *
 * Only references that can be decided for sure are checked: a name qualified by a base table (or
 * its alias), or an unqualified name in a SELECT whose FROM chain holds base tables only. Output
 * aliases (`ORDER BY s`, DuckDB also allows them in WHERE and GROUP BY), subquery and CTE columns,
 * and struct field access are left to DuckDB.
 *
 * @module
 */
import { OmniError } from "../errors.ts";
import type { ColumnDef } from "../../connectors/sdk/table.ts";
import type { Analysis, Occurrence, Scope } from "./_analyze.ts";
import { closest } from "./_closest.ts";

/** Throws `PLAN_FAILED` for the first reference to a column no table in its reach has. */
export function checkColumns(
  analysis: Analysis,
  columnsOf: (occ: Occurrence) => ColumnDef[] | undefined,
  mayName: (table: string, column: string) => boolean = () => true,
): void {
  const aliases = analysis.outputAliases;
  const has = (occ: Occurrence, column: string) =>
    columnsOf(occ)?.some((c) => c.name.toLowerCase() === column) ?? true;
  const keyOf = (occ: Occurrence) => `${occ.ref.schema}.${occ.ref.table}`;
  const fail = (column: string, occs: Occurrence[]): never => {
    // A hint never names a column the user's policies block.
    const names = [
      ...new Set(
        occs.flatMap((o) =>
          (columnsOf(o) ?? []).map((c) => c.name).filter((name) =>
            mayName(keyOf(o).toLowerCase(), name.toLowerCase())
          )
        ),
      ),
    ];
    const suggestion = closest(column, names);
    const where = [...new Set(occs.map(keyOf))].join(", ");
    throw new OmniError(
      "PLAN_FAILED",
      `unknown column ${column} in ${where}` + (suggestion ? `; did you mean ${suggestion}?` : ""),
      { details: { column, table: where, ...(suggestion ? { suggestion } : {}) } },
    );
  };

  for (const use of analysis.columns) {
    const { qualifier, column, scope } = use;
    if (column === "*") continue;
    if (qualifier.length === 0) {
      if (aliases.has(column)) continue;
      const reach = tablesInReach(scope, column);
      if (reach) fail(column, reach);
      continue;
    }
    const target = qualifiedTables(scope, qualifier);
    if (!target) continue;
    if (qualifier.length === 1 && !target.some((occ) => has(occ, column))) {
      // `gh.labels.name` reads as qualifier [gh, labels]: only a plain `gh.x` is decidable.
      fail(column, target);
    }
    if (qualifier.length === 2 && target[0].ref.schema === qualifier[0]) {
      if (!target.some((occ) => has(occ, column))) fail(column, target);
    }
  }

  /**
   * The base tables an unqualified name could belong to when none has it (null when it resolves,
   * or when a subquery, CTE or whole-row name in reach might supply it).
   */
  function tablesInReach(scope: Scope, column: string): Occurrence[] | null {
    const seen: Occurrence[] = [];
    for (let s: Scope | null = scope; s; s = s.parent) {
      if (s.otherNames.length > 0) return null;
      if (s.tables.some((occ) => has(occ, column) || occ.name === column)) return null;
      seen.push(...s.tables);
    }
    return seen.length > 0 ? seen : null;
  }
}

/** The base tables a qualifier names, innermost scope first; null when it is anything else. */
function qualifiedTables(scope: Scope, qualifier: string[]): Occurrence[] | null {
  for (let s: Scope | null = scope; s; s = s.parent) {
    if (qualifier.length === 1) {
      const [q] = qualifier;
      if (s.otherNames.includes(q)) return null;
      const byName = s.tables.filter((occ) => occ.name === q && !occ.renamed);
      if (byName.length > 0) return byName;
    } else if (qualifier.length === 2) {
      const [schema, table] = qualifier;
      const found = s.tables.filter((o) =>
        o.ref.schema === schema && o.ref.table === table && o.ref.alias === null && !o.renamed
      );
      if (found.length > 0) return found;
      // `gh.labels.x`: a struct field of a column, not a table.
      if (s.tables.some((o) => o.name === schema) || s.otherNames.includes(schema)) return null;
    } else return null;
  }
  return null;
}
