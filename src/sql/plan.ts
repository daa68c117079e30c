/**
 * Planning a query: resolve every table it names to a tenant connection's table, then negotiate
 * pushdown with each table (offer the conjuncts that touch it alone; the table takes what its API
 * can express). The result says, per source, the native request, what was pushed and what stays
 * with DuckDB — the same thing EXPLAIN shows.
 *
 * @module
 */
import { OmniError } from "../errors.ts";
import type { ConnectorDef } from "../../connectors/sdk/connector.ts";
import type { Connection, ScanOffer, ScanPlan, TableDef } from "../../connectors/sdk/table.ts";
import { describePredicate, type Predicate } from "../../connectors/sdk/predicate.ts";
import type { ParsedQuery } from "./parse.ts";
import { buildOffers } from "./offers.ts";

/** One table a query reads, resolved and planned. */
export interface SourcePlan {
  /** `schema.table` as written in SQL, lower-case, e.g. `github.pull_requests`. */
  key: string;
  schema: string;
  connection: Connection;
  connector: ConnectorDef;
  table: TableDef;
  offer: ScanOffer;
  plan: ScanPlan;
}

/** A planned query. */
export interface QueryPlan {
  parsed: ParsedQuery;
  sources: SourcePlan[];
}

/** Options of {@link planQuery}. */
export interface PlanOptions {
  /** Offer predicates, order and limit to the sources. Off only to compare results. @default true */
  pushdown?: boolean;
  /**
   * Row filters the user's policies put on a table (RLS): always offered, even with pushdown
   * off, so the source can apply them.
   */
  rowFilters?: (key: string) => Predicate[];
}

/**
 * Resolves and plans a parsed query against a tenant's connections.
 *
 * @example
 * ```ts ignore
 * const plan = planQuery(parseQuery("SELECT pr_id FROM github.pull_requests"), connections, CONNECTORS);
 * console.log(plan.sources[0].plan.native);
 * ```
 */
export function planQuery(
  parsed: ParsedQuery,
  connections: Connection[],
  connectors: Record<string, ConnectorDef>,
  options: PlanOptions = {},
): QueryPlan {
  const available = new Map<
    string,
    { connection: Connection; connector: ConnectorDef; table: TableDef }
  >();
  for (const connection of connections) {
    const connector = connectors[connection.connector];
    if (!connector) continue;
    for (const table of connector.tables) {
      available.set(`${connection.name}.${table.name}`.toLowerCase(), {
        connection,
        connector,
        table,
      });
    }
  }

  const resolved = new Map<
    string,
    { schema: string; connection: Connection; connector: ConnectorDef; table: TableDef }
  >();
  for (const ref of parsed.tables) {
    const written = ref.schema ? `${ref.schema}.${ref.table}` : ref.table;
    if (!ref.schema) {
      const candidates = [...available.keys()].filter((k) => k.endsWith(`.${ref.table}`));
      throw new OmniError(
        "PLAN_FAILED",
        `table ${written} needs its source as a prefix` +
          (candidates.length ? `; did you mean ${candidates.join(" or ")}?` : ""),
        { details: { table: written } },
      );
    }
    const key = written.toLowerCase();
    const found = available.get(key);
    if (!found) {
      const suggestion = closest(key, [...available.keys()]);
      throw new OmniError(
        "PLAN_FAILED",
        `unknown table ${written}` + (suggestion ? `; did you mean ${suggestion}?` : ""),
        { details: { table: written, ...(suggestion ? { suggestion } : {}) } },
      );
    }
    resolved.set(key, { schema: ref.schema.toLowerCase(), ...found });
  }

  const offers = buildOffers(
    parsed,
    [...resolved].map(([key, r]) => ({ key, columns: r.table.columns })),
  );
  const sources: SourcePlan[] = [];
  for (const [key, r] of resolved) {
    const allColumns = r.table.columns.map((c) => c.name);
    const offered = offers.get(key) ?? { predicates: [], columns: allColumns };
    const base: ScanOffer = options.pushdown === false
      ? { predicates: [], columns: allColumns }
      : offered;
    const filters = options.rowFilters?.(key) ?? [];
    const offer: ScanOffer = filters.length === 0 ? base : {
      ...base,
      predicates: [...base.predicates, ...filters],
      columns: [...new Set([...base.columns, ...filters.map((f) => f.column)])],
    };
    sources.push({ key, ...r, offer, plan: r.table.plan(offer, r.connection) });
  }
  return { parsed, sources };
}

/** What a response's `sources[].pushdown` and EXPLAIN show for one source. */
export interface PushdownSummary {
  native: string[];
  pushed: string[];
  residual: string[];
  columns: string[];
  limit?: number;
}

/**
 * Summarises a source's plan for users.
 *
 * @example
 * ```ts ignore
 * const summary = summarisePlan(plan.sources[0].plan);
 * ```
 */
export function summarisePlan(plan: ScanPlan): PushdownSummary {
  return {
    native: plan.native,
    pushed: plan.pushed.map(describePredicate),
    residual: plan.residual.map(describePredicate),
    columns: plan.columns,
    ...(plan.limit !== undefined ? { limit: plan.limit } : {}),
  };
}

function closest(word: string, candidates: string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const c of candidates) {
    const d = levenshtein(word, c);
    if (d < bestDistance) [best, bestDistance] = [c, d];
  }
  return best !== undefined && bestDistance <= Math.max(3, Math.floor(word.length / 3))
    ? best
    : undefined;
}

function levenshtein(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++) {
      row[j] = Math.min(prev[j] + 1, row[j - 1] + 1, prev[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    prev = row;
  }
  return prev[b.length];
}
