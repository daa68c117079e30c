/**
 * The differential suite's harness: the demo sandboxes of every connector, a snapshot of every
 * table (all rows, all columns, fetched whole), and two ways to answer a query —
 *
 * - `stack`: the real path of a worker — parse, plan and push down to each connector over HTTP,
 *   the source cache (subset rule, single flight) and the result cache (keys from the parse
 *   tree), then DuckDB — either live (`max_staleness_ms: 0`) or cached;
 * - `truth`: the same SQL run by DuckDB directly over the snapshot, nothing pushed.
 *
 * `compare` decides whether two answers agree: as multisets of rows, in order where the ORDER BY
 * fixes it, and — for a LIMIT that may cut through ties — rows that the unlimited truth holds,
 * with the same sort keys position by position.
 *
 * @module
 */
import { CONNECTORS } from "../connectors/mod.ts";
import { runScan } from "../connectors/sdk/scan.ts";
import type { Connection } from "../connectors/sdk/table.ts";
import { MemoryKvStore, ResultCache, sourceCache, TenantCache } from "../src/cache/mod.ts";
import { generateMasterKey, KeyRing, MemoryKeyStore } from "../src/crypto/mod.ts";
import type { MaterializedTable } from "../src/duckdb/engine.ts";
import { EnginePool } from "../src/duckdb/pool.ts";
import { RowEstimates } from "../src/query/estimates.ts";
import { executeQuery, type QueryResponse } from "../src/query/execute.ts";
import { composeSourceFetch } from "../src/source/fetch.ts";
import { queryCacheKey } from "../src/sql/cache_key.ts";
import { parseQuery } from "../src/sql/parse.ts";
import type { GenTable } from "./_differential_gen.ts";
import { startPlannerHarness } from "./_planner.ts";

/** An answer, or the error code/message a query failed with. */
export type Outcome =
  | {
    ok: true;
    columns: string[];
    rows: Record<string, unknown>[];
    fromCache?: boolean;
    /** Some source was fetched by a dependent join (keys pushed from another source). */
    dependent?: boolean;
  }
  | { ok: false; error: string };

/** What the differential tests work with. */
export interface DifferentialHarness {
  /** Every table of every connection, fetched whole. */
  tables: GenTable[];
  /** The connections to the sandboxes (acme's GitHub, Jira, Linear, Salesforce). */
  connections: Connection[];
  /** Answers through the stack; `cached` reads the caches (else live: `max_staleness_ms: 0`). */
  stack(sql: string, cached: boolean): Promise<Outcome>;
  /** Answers with DuckDB alone over the snapshot. */
  truth(sql: string, tables?: string[]): Promise<Outcome>;
  /** Gives every sandbox a fresh rate-limit budget. */
  resetBudgets(): void;
  close(): Promise<void>;
}

const TENANT = "acme";
const FINGERPRINT = "differential";

/** Starts the sandboxes, snapshots every table and builds both answerers. */
export async function startDifferentialHarness(): Promise<DifferentialHarness> {
  const h = await startPlannerHarness();
  // The truth's own engine process, apart from the one the stack runs in.
  // No spares: nothing here kills an engine.
  const engine = new EnginePool({ size: 1, spares: 0 });
  const stackEngine = new EnginePool({ size: 1, spares: 0 });
  const closeAll = async () => {
    await engine.close();
    await stackEngine.close();
    await h.close();
  };
  const resetBudgets = () => {
    const s = h.sandboxes;
    for (const box of [s.github, s.jiraAcme, s.linearAcme, s.salesforceAcme]) box.reset();
  };
  try {
    const tables: GenTable[] = [];
    for (const connection of h.connections) {
      const connector = CONNECTORS[connection.connector];
      for (const table of connector.tables) {
        const columns = table.columns.map((c) => c.name);
        const { rows } = await runScan(connector, table, connection, { predicates: [], columns });
        tables.push({
          schema: connection.name,
          name: table.name,
          columns: table.columns,
          rows,
          key: KEYS[`${connection.name}.${table.name}`] ?? columns[0],
        });
      }
    }
    resetBudgets();

    const keyRing = new KeyRing({ masterKey: generateMasterKey(), store: new MemoryKeyStore() });
    const cache = new TenantCache({ store: new MemoryKvStore(), keyRing, zone: "us" });
    const fetchSource = composeSourceFetch([
      sourceCache({ cache, settings: () => Promise.resolve(undefined) }),
    ]);
    const results = new ResultCache(cache);
    const estimates = new RowEstimates();

    const stack = async (sql: string, cached: boolean): Promise<Outcome> => {
      try {
        // What the edge does: the result cache first (its key from the parse tree), then the
        // worker, whose answer is stored — live answers too.
        const query = queryCacheKey(parseQuery(sql));
        if (cached) {
          const hit = await results.get(TENANT, FINGERPRINT, query);
          if (hit) {
            const body = hit.body as unknown as QueryResponse;
            return {
              ok: true,
              columns: body.columns,
              rows: JSON.parse(hit.rowsJson),
              fromCache: true,
            };
          }
        }
        const res = await executeQuery(
          { sql, metadata: { max_staleness_ms: cached ? 600_000 : 0 } },
          {
            tenantId: TENANT,
            user: { sub: "admin@acme", tenant: TENANT, role: "admin" },
            connections: h.connections,
            traceId: "differential",
            zone: "us",
          },
          { engine: stackEngine, connectors: CONNECTORS, fetchSource, estimates },
        ) as QueryResponse;
        await results.put(
          TENANT,
          FINGERPRINT,
          query,
          res as unknown as Record<string, unknown>,
          900_000,
        );
        return {
          ok: true,
          columns: res.columns,
          rows: res.rows,
          fromCache: res.from_cache,
          dependent: res.sources.some((x) => x.pushdown.dependent?.includes("fetched first")),
        };
      } catch (err) {
        return { ok: false, error: errorText(err) };
      }
    };

    const byKey = new Map(tables.map((t) => [`${t.schema}.${t.name}`, t]));
    const truth = async (sql: string, only?: string[]): Promise<Outcome> => {
      const chosen = only ? only.map((k) => byKey.get(k)!) : tables;
      const materialized: MaterializedTable[] = chosen.map((t) => ({
        schema: t.schema,
        name: t.name,
        columns: t.columns,
        rows: t.rows,
      }));
      try {
        const res = await engine.run({ sql, tables: materialized, maxRows: 10_000 }, {
          tenantId: "truth",
        });
        return { ok: true, columns: res.columns, rows: res.rows };
      } catch (err) {
        return { ok: false, error: errorText(err) };
      }
    };

    return {
      tables,
      connections: h.connections,
      stack,
      truth,
      resetBudgets,
      close: closeAll,
    };
  } catch (err) {
    await closeAll();
    throw err;
  }
}

/** The unique column of each table: a tie-breaker and a row's identity in reports. */
const KEYS: Record<string, string> = {
  "github.pull_requests": "pr_id",
  "jira.issues": "issue_key",
  "linear.issues": "id",
  "salesforce.accounts": "id",
  "salesforce.opportunities": "id",
};

function errorText(err: unknown): string {
  const e = err as { code?: unknown; message?: unknown };
  return `${typeof e?.code === "string" ? e.code + ": " : ""}${String(e?.message ?? err)}`;
}

/** A value in a comparable form: doubles to 12 significant digits (sums differ in the ulps). */
function norm(v: unknown): unknown {
  if (typeof v === "number" && !Number.isInteger(v)) return Number(v.toPrecision(12));
  if (Array.isArray(v)) return v.map(norm);
  if (v !== null && typeof v === "object") {
    return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, norm(x)]));
  }
  return v;
}

const text = (row: Record<string, unknown>) => JSON.stringify(norm(row));
const multiset = (rows: Record<string, unknown>[]) => rows.map(text).sort();

/**
 * Whether the stack's answer agrees with the truth; a reason when it does not.
 *
 * - Both failed: agreement (the SQL is invalid for DuckDB either way).
 * - No LIMIT: the same multiset of rows, and the same ORDER BY key at every position.
 * - A LIMIT: as many rows, the same ORDER BY key at every position, and every row one the
 *   unlimited truth holds (ties at the cut may pick different rows; both answers are right).
 */
export function compare(
  got: Outcome,
  want: Outcome,
  query: { orderColumns: string[]; unlimitedTruth?: Outcome },
): string | undefined {
  if (!want.ok || !got.ok) {
    if (!want.ok && !got.ok) return undefined;
    return want.ok
      ? `the stack failed: ${(got as { error: string }).error}`
      : `the truth failed (${(want as { error: string }).error}) but the stack answered ${
        (got as { rows: unknown[] }).rows.length
      } rows`;
  }
  if (JSON.stringify(got.columns) !== JSON.stringify(want.columns)) {
    return `columns differ: ${got.columns} vs ${want.columns}`;
  }
  const keys = (rows: Record<string, unknown>[]) =>
    rows.map((r) => JSON.stringify(query.orderColumns.map((c) => norm(r[c]))));
  if (query.orderColumns.length > 0) {
    const a = keys(got.rows), b = keys(want.rows);
    if (a.join("\n") !== b.join("\n")) return `ORDER BY keys differ: ${diff(a, b)}`;
  }
  if (!query.unlimitedTruth) {
    const a = multiset(got.rows), b = multiset(want.rows);
    if (a.join("\n") !== b.join("\n")) return `rows differ: ${diff(a, b)}`;
    return undefined;
  }
  if (got.rows.length !== want.rows.length) {
    return `row counts differ: ${got.rows.length} vs ${want.rows.length}`;
  }
  const all = query.unlimitedTruth;
  if (!all.ok) return `the unlimited truth failed: ${all.error}`;
  const pool = new Map<string, number>();
  for (const t of all.rows.map(text)) pool.set(t, (pool.get(t) ?? 0) + 1);
  for (const t of got.rows.map(text)) {
    const n = pool.get(t) ?? 0;
    if (n === 0) return `a row the full answer does not hold: ${t}`;
    pool.set(t, n - 1);
  }
  return undefined;
}

function diff(a: string[], b: string[]): string {
  const extra = a.filter((x) => !b.includes(x)).slice(0, 3);
  const missing = b.filter((x) => !a.includes(x)).slice(0, 3);
  return `${a.length} vs ${b.length} rows; extra ${JSON.stringify(extra)}; missing ${
    JSON.stringify(missing)
  }`;
}
