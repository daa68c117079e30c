/**
 * Planning a query: resolve every table it names to a tenant connection's table, then negotiate
 * pushdown with each table (offer the conjuncts that touch it alone; the table takes what its API
 * can express). The result says, per source, the native request, what was pushed and what stays
 * with DuckDB — the same thing EXPLAIN shows.
 *
 * @module
 */
import { OmniError } from "../errors.ts";
import { connectionTables, type ConnectorDef } from "../../connectors/sdk/connector.ts";
import {
  type Connection,
  planIsExact,
  type ScanOffer,
  type ScanPlan,
  type TableDef,
} from "../../connectors/sdk/table.ts";
import { describePredicate, type Predicate } from "../../connectors/sdk/predicate.ts";
import type { ParsedQuery } from "./parse.ts";
import { buildOffers } from "./offers.ts";
import type { Occurrence } from "./_analyze.ts";
import { checkColumns } from "./_columns.ts";
import { closest } from "./_closest.ts";
import { equiJoins } from "./_joins.ts";

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
  /** Rows the planner expects this scan to return (set when an estimator was given). */
  estimatedRows?: number;
}

/**
 * A dependent join the planner chose: fetch `build` first, then fetch `probe` with
 * `probeColumn IN (distinct non-null buildColumn values)`, `chunk` values per request.
 */
export interface DependentJoin {
  build: string;
  buildColumn: string;
  probe: string;
  probeColumn: string;
  /** Values per native request: 1 when the API filters on one value at a time (`=` only). */
  chunk: number;
}

/** A planned query. */
export interface QueryPlan {
  parsed: ParsedQuery;
  sources: SourcePlan[];
  /** Dependent joins chosen, at most one per probe; a probe is never itself a build. */
  dependent: DependentJoin[];
}

/** Values per request when a key column takes `IN` (kept well under JQL/SOQL/URL size limits). */
export const IN_CHUNK = 50;
/** A dependent join is never planned for more build rows than this. */
export const MAX_DEPENDENT_KEYS = 500;
/** Rows a native request is assumed to return per page when estimating calls. */
const ROWS_PER_CALL = 100;

/** What a guard lets the planner push to a table's source. */
export interface PushdownLimits {
  /**
   * Columns whose values the guard masks or blocks: a user predicate, order or limit on them is
   * never offered to the source (the source sees real values, so it would leak them through row
   * counts and order).
   */
  unpushable: string[];
  /** Columns the guard reads in `apply` (row rules): fetched even when the query does not read them. */
  columns: string[];
  /**
   * Whether a source-side LIMIT is safe: false when `apply` drops rows the row filters offered to
   * the source do not describe, so a source that stopped at the limit would return too few.
   */
  limit: boolean;
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
  /**
   * What the user's policies forbid pushing to a table's source (masked columns, rows filtered
   * after the fetch): predicates, order and limit that would leak or cut are not offered.
   */
  pushdownLimits?: (key: string) => PushdownLimits | undefined;
  /**
   * Expected rows of a planned scan. When given, each source gets `estimatedRows` and the
   * planner considers dependent joins (never with pushdown off).
   */
  estimate?: (source: SourcePlan) => number;
  /**
   * Whether the user may see a table's or a column's name: a `did you mean …?` hint never names
   * what the user's policies deny or block. @default every name
   */
  mayName?: (table: string, column?: string) => boolean;
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
    for (const table of connectionTables(connector, connection)) {
      available.set(`${connection.name}.${table.name}`.toLowerCase(), {
        connection,
        connector,
        table,
      });
    }
  }

  const mayName = options.mayName ?? (() => true);
  const resolved = new Map<
    string,
    { schema: string; connection: Connection; connector: ConnectorDef; table: TableDef }
  >();
  for (const ref of parsed.analysis.tables) {
    const written = ref.schema ? `${ref.schema}.${ref.table}` : ref.table;
    if (!ref.schema) {
      const candidates = [...available.keys()].filter((k) =>
        k.endsWith(`.${ref.table}`) && mayName(k)
      );
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
      const suggestion = closest(key, [...available.keys()].filter((k) => mayName(k)));
      throw new OmniError(
        "PLAN_FAILED",
        `unknown table ${written}` + (suggestion ? `; did you mean ${suggestion}?` : ""),
        { details: { table: written, ...(suggestion ? { suggestion } : {}) } },
      );
    }
    resolved.set(key, { schema: ref.schema.toLowerCase(), ...found });
  }

  const { analysis } = parsed;
  const columnsOf = (occ: Occurrence) =>
    occ.ref.schema === null
      ? undefined
      : resolved.get(`${occ.ref.schema}.${occ.ref.table}`)?.table.columns;
  checkColumns(analysis, columnsOf, mayName);

  const offers = buildOffers(
    parsed,
    [...resolved].map(([key, r]) => ({ key, columns: r.table.columns })),
  );
  const sources: SourcePlan[] = [];
  for (const [key, r] of resolved) {
    const allColumns = r.table.columns.map((c) => c.name);
    const offered = offers.get(key) ?? { predicates: [], columns: allColumns };
    const required = r.table.keyColumns.filter((k) => k.require === "required");
    const unrestricted: ScanOffer = options.pushdown === false
      ? {
        // A required filter is part of what the API needs to list at all: kept even when off.
        predicates: offered.predicates.filter((p) => required.some((k) => k.column === p.column)),
        columns: allColumns,
      }
      : offered;
    const limits = options.pushdownLimits?.(key);
    const base = limits ? restrictOffer(unrestricted, limits) : unrestricted;
    const filters = options.rowFilters?.(key) ?? [];
    const withFilters: ScanOffer = filters.length === 0 ? base : {
      ...base,
      predicates: [...base.predicates, ...filters],
      columns: [...new Set([...base.columns, ...filters.map((f) => f.column)])],
    };
    for (const k of required) {
      if (
        !withFilters.predicates.some((p) => p.column === k.column && k.operators.includes(p.op))
      ) {
        const ops = k.operators.map((op) => op.toUpperCase()).join(", ");
        throw new OmniError(
          "PLAN_FAILED",
          `${key} cannot be listed without a filter on ${k.column}: add WHERE ${k.column} ` +
            `with one of ${ops} (on that table alone, not under OR)`,
          { details: { table: key, column: k.column, operators: k.operators } },
        );
      }
    }
    // Exactness drives LIMIT: a limit over a widened (or residual) filter would cut rows before
    // DuckDB narrows them. Then the offer itself loses order and limit, so that a dependent
    // join re-planning from it cannot bring the limit back.
    let offer = withFilters;
    let plan = r.table.plan(offer, r.connection);
    if (plan.limit !== undefined && !planIsExact(plan, r.table.keyColumns)) {
      const { orderBy: _orderBy, limit: _limit, ...unlimited } = offer;
      offer = unlimited;
      plan = r.table.plan(offer, r.connection);
    }
    sources.push({ key, ...r, offer, plan });
  }
  const dependent: DependentJoin[] = [];
  if (options.estimate) {
    for (const s of sources) s.estimatedRows = options.estimate(s);
    if (options.pushdown !== false) {
      // Keys of a masked column would carry real values to the other app: never a dependent join.
      const masked = (side: { key: string; column: string }) =>
        options.pushdownLimits?.(side.key)?.unpushable.includes(side.column) ?? false;
      const joins = equiJoins(analysis, columnsOf)
        .filter((j) => !masked(j.left) && !masked(j.right));
      dependent.push(...chooseDependentJoins(sources, joins));
    }
  }
  return { parsed, sources, dependent };
}

/**
 * Picks dependent joins by estimated cost (calls, plus rows at a hundredth of a call each):
 * pushing the build side's keys into the probe must beat fetching the probe as planned.
 */
function chooseDependentJoins(
  sources: SourcePlan[],
  joins: ReturnType<typeof equiJoins>,
): DependentJoin[] {
  const byKey = new Map(sources.map((s) => [s.key, s]));
  const candidates: (DependentJoin & { cost: number; saved: number })[] = [];
  for (const j of joins) {
    for (const [build, probe] of [[j.left, j.right], [j.right, j.left]]) {
      const b = byKey.get(build.key), p = byKey.get(probe.key);
      if (!b || !p || b.estimatedRows === undefined || p.estimatedRows === undefined) continue;
      if (p.plan.limit !== undefined) continue;
      const key = p.table.keyColumns.find((k) => k.column === probe.column);
      const chunk = key?.operators.includes("in")
        ? key.maxValues ?? IN_CHUNK
        : key?.operators.includes("=")
        ? 1
        : 0;
      // More keys than a few requests carry are not worth sending, unless one request (a
      // probe that checks keys on its rows) takes them all.
      if (chunk === 0 || b.estimatedRows > Math.max(MAX_DEPENDENT_KEYS, chunk)) continue;
      const perScan = Math.max(1, p.plan.native.filter((l) => !l.includes("(per ")).length);
      // Detail calls per returned row are paid only for the rows the keys let through.
      const perRow = ROWS_PER_CALL * (p.plan.perRowCalls ?? 0) + 1;
      const full = Math.max(perScan, Math.ceil(p.estimatedRows / ROWS_PER_CALL)) +
        p.estimatedRows * perRow / ROWS_PER_CALL;
      const matched = Math.min(b.estimatedRows, p.estimatedRows);
      // Keys matched on listed rows cost every list page and row anyway: only per-row calls go.
      const keyed = key?.matchedOnRows && b.estimatedRows > 1
        ? full - (p.estimatedRows - matched) * (perRow - 1) / ROWS_PER_CALL
        : Math.ceil(b.estimatedRows / chunk) * perScan + matched * perRow / ROWS_PER_CALL;
      // The matched rows are at most min(build, probe): with per-row calls a tie is a saving.
      if (keyed > full || (keyed === full && !p.plan.perRowCalls)) continue;
      candidates.push({
        build: build.key,
        buildColumn: build.column,
        probe: probe.key,
        probeColumn: probe.column,
        chunk,
        cost: keyed,
        saved: full - keyed,
      });
    }
  }
  candidates.sort((x, y) => y.saved - x.saved);
  const chosen: DependentJoin[] = [];
  for (const { cost: _c, saved: _s, ...c } of candidates) {
    const taken = chosen.some((d) =>
      d.probe === c.probe || d.probe === c.build || d.build === c.probe
    );
    if (!taken) chosen.push(c);
  }
  return chosen;
}

/**
 * An offer without what a guard forbids: predicates on masked columns (the source would filter
 * real values, and row counts would reveal them), order on them, and — once anything is held
 * back, or when the guard filters rows after the fetch — the limit (the source would stop early).
 */
function restrictOffer(offer: ScanOffer, limits: PushdownLimits): ScanOffer {
  const hidden = new Set(limits.unpushable.map((c) => c.toLowerCase()));
  const predicates = offer.predicates.filter((p) => !hidden.has(p.column.toLowerCase()));
  const orderLeaks = offer.orderBy?.some((k) => hidden.has(k.column.toLowerCase())) ?? false;
  const keepLimit = limits.limit && !orderLeaks && predicates.length === offer.predicates.length;
  const { orderBy: _orderBy, limit: _limit, ...rest } = offer;
  return {
    ...rest,
    predicates,
    columns: [...new Set([...offer.columns, ...limits.columns])],
    ...(keepLimit && offer.orderBy ? { orderBy: offer.orderBy } : {}),
    ...(keepLimit && offer.limit !== undefined ? { limit: offer.limit } : {}),
  };
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
