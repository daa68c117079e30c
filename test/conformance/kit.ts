/**
 * The connector conformance kit: one suite every connector must pass against its sandbox.
 * A subject names a connector, how to start its sandbox (with fault injection) and a connection
 * to it, and per table the rows it must return, predicate sets to push and a predicate set that
 * matches nothing. The suite checks:
 *
 * - declarations: key columns name real columns;
 * - pagination: a full scan reads every page to the end, across page boundaries, no duplicates,
 *   exactly the expected rows;
 * - empty results are no error;
 * - pushdown equivalence: a scan with pushdown, narrowed by the whole predicate set, keeps exactly
 *   the rows a scan without pushdown keeps; pushed + residual is what was offered; a LIMIT the
 *   plan accepts is honoured;
 * - rate-limit headers parse, and a live scan reports the source's budget;
 * - 401/403/429/5xx answers map to the vocabulary, a transient 5xx is retried, and a malformed
 *   body (not JSON, or JSON of the wrong shape) is `SOURCE_ERROR`.
 *
 * @module
 */
import assert from "node:assert/strict";
import { OmniError } from "../../src/errors.ts";
import {
  type ComparisonOp,
  type Connection,
  connectionTables,
  type ConnectorDef,
  describePredicate,
  findTable,
  matchesPredicate,
  type Predicate,
  type RateLimitInfo,
  type Row,
  runScan,
  type Scalar,
  type ScanOffer,
} from "../../connectors/sdk/mod.ts";

/** A fault, in the shape every sandbox's `inject` takes. */
export interface ConformanceFault {
  status?: number;
  body?: string;
  times?: number;
}

/** A started sandbox and a connection to it. */
export interface ConformanceSandbox {
  connection: Connection;
  inject(fault: ConformanceFault): void;
  /** Clears faults and budgets. */
  reset(): void;
  close(): Promise<void>;
}

/**
 * A started sandbox, as the suite drives it, with the connection to it.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { conformanceSandbox } from "./kit.ts";
 * const faults: number[] = [];
 * const sb = {
 *   inject: (f: { status?: number }) => faults.push(f.status ?? 0),
 *   reset: () => faults.splice(0),
 *   close: () => Promise.resolve(),
 * };
 * const connection = { id: "c", tenantId: "acme", connector: "x", name: "x", baseUrl: "http://x", credentials: {}, config: {} };
 * conformanceSandbox(sb, connection).inject({ status: 503 });
 * assert.deepEqual(faults, [503]);
 * ```
 */
export function conformanceSandbox(
  sb: Omit<ConformanceSandbox, "connection">,
  connection: Connection,
): ConformanceSandbox {
  return {
    connection,
    inject: (f) => sb.inject(f),
    reset: () => sb.reset(),
    close: () => sb.close(),
  };
}

/** A comparison predicate, as the predicate sets write most of theirs. */
export function cmp(column: string, op: ComparisonOp, value: Scalar): Predicate {
  return { column, op, value };
}

/** What the suite checks of one table. */
export interface ConformanceTable {
  name: string;
  /** Columns that identify a row. */
  key: string[];
  /** Every row the sandbox holds (at least the key columns), computed independently. */
  expected: () => Row[];
  /** Predicate sets whose pushdown must not change the result. */
  predicateSets: Predicate[][];
  /** A predicate set no row satisfies. */
  empty: Predicate[];
  /** Pages a full scan must take at least. @default 2 */
  minPages?: number;
}

/** A connector under test. */
export interface ConformanceSubject {
  name: string;
  connector: ConnectorDef;
  start(): Promise<ConformanceSandbox>;
  tables: ConformanceTable[];
  /** Rate-limit headers and what the connector must read from them. */
  rateLimitHeaders: { headers: Record<string, string>; expect: RateLimitInfo }[];
  /**
   * How many requests a fault lasts: enough to outlast retries, token refreshes and parallel
   * requests. @default 4
   */
  faultTimes?: number;
  /** The sandbox sends budget headers on every answer, so a scan reports its budget. @default true */
  reportsBudget?: boolean;
}

const FAST = { maxRetries: 1, baseDelayMs: 1, maxRateLimitWaitMs: 0 };
const keyOf = (key: string[]) => (r: Row) => JSON.stringify(key.map((k) => r[k]));
const allColumns = (subject: ConformanceSubject, table: string, connection: Connection) =>
  findTable(subject.connector, table, connection).columns.filter((c) => !c.detail)
    .map((c) => c.name);

/**
 * Registers the conformance suite of a subject as one `Deno.test` with a step per check.
 *
 * @example
 * ```ts ignore
 * conformanceSuite({ name: "linear", connector: linear, start, tables, rateLimitHeaders });
 * ```
 */
export function conformanceSuite(subject: ConformanceSubject): void {
  Deno.test(
    `conformance: ${subject.name}`,
    { sanitizeResources: false, sanitizeOps: false },
    async (t) => {
      const sandbox = await subject.start();
      const scan = (table: string, offer: ScanOffer) =>
        runScan(
          subject.connector,
          findTable(subject.connector, table, sandbox.connection),
          sandbox.connection,
          offer,
          FAST,
        );
      try {
        await t.step("declarations: key columns are columns, names are unique", () => {
          for (const table of connectionTables(subject.connector, sandbox.connection)) {
            const names = table.columns.map((c) => c.name);
            assert.equal(new Set(names).size, names.length, `${table.name}: duplicate columns`);
            for (const k of table.keyColumns) {
              assert.ok(names.includes(k.column), `${table.name}: key column ${k.column}`);
              assert.ok(k.operators.length > 0, `${table.name}.${k.column}: no operators`);
            }
          }
        });

        for (const table of subject.tables) {
          const columns = allColumns(subject, table.name, sandbox.connection);
          const expected = table.expected();
          const id = keyOf(table.key);
          let everything: Row[] = [];

          await t.step(`${table.name}: a full scan reads every page to the end`, async () => {
            const result = await scan(table.name, { predicates: [], columns });
            everything = result.rows;
            assert.ok(
              result.pages >= (table.minPages ?? 2),
              `${result.pages} page(s): the scan did not cross a page boundary`,
            );
            const keys = result.rows.map(id);
            assert.equal(new Set(keys).size, keys.length, "a row came twice");
            assert.deepEqual([...keys].sort(), expected.map(id).sort());
            const byKey = new Map(result.rows.map((r) => [id(r), r]));
            for (const want of expected) {
              const got = byKey.get(id(want))!;
              for (const [col, value] of Object.entries(want)) {
                assert.deepEqual(got[col], value, `${table.name} ${id(want)}: ${col}`);
              }
            }
          });

          await t.step(`${table.name}: an empty result is no error`, async () => {
            const result = await scan(table.name, { predicates: table.empty, columns });
            const kept = result.rows.filter((r) => table.empty.every((p) => matches(p, r)));
            assert.equal(kept.length, 0);
          });

          await t.step(`${table.name}: pushdown never changes a result`, async () => {
            assert.ok(table.predicateSets.length > 0, "no predicate sets to check");
            for (const predicates of table.predicateSets) {
              const offer = { predicates, columns };
              const result = await scan(table.name, offer);
              const got = result.rows.filter((r) => predicates.every((p) => matches(p, r)));
              const want = everything.filter((r) => predicates.every((p) => matches(p, r)));
              const label = predicates.map(describePredicate).join(" AND ");
              assert.deepEqual(got.map(id).sort(), want.map(id).sort(), label);
              const split = [...result.plan.pushed, ...result.plan.residual].map(describePredicate);
              assert.deepEqual(split.sort(), predicates.map(describePredicate).sort(), label);
              assert.ok(result.rows.length <= everything.length);
            }
            const def = findTable(subject.connector, table.name, sandbox.connection);
            const pushed = table.predicateSets.map((predicates) =>
              def.plan({ predicates, columns }, sandbox.connection).pushed.length
            );
            assert.ok(pushed.some((n) => n > 0), "no predicate was ever pushed");
          });

          await t.step(`${table.name}: a LIMIT the plan accepts is honoured`, async () => {
            const result = await scan(table.name, { predicates: [], columns, limit: 3 });
            if (result.plan.limit !== undefined) assert.ok(result.rows.length <= 3);
            const keys = new Set(everything.map(id));
            assert.ok(result.rows.every((r) => keys.has(id(r))));
          });
        }

        await t.step("rate-limit headers are read", async () => {
          for (const { headers, expect } of subject.rateLimitHeaders) {
            const info = subject.connector.readRateLimit(new Headers(headers));
            for (const [k, v] of Object.entries(expect)) {
              assert.deepEqual(
                info[k as keyof RateLimitInfo],
                v,
                `${k} of ${JSON.stringify(headers)}`,
              );
            }
          }
          if (subject.reportsBudget === false) return;
          const table = subject.tables[0];
          const result = await scan(table.name, {
            predicates: [],
            columns: [table.key[0]],
          });
          assert.equal(typeof result.rateLimit?.remaining, "number", "a scan reports no budget");
        });

        const times = subject.faultTimes ?? 4;
        const expectFailure = async (
          fault: ConformanceFault,
          code: string,
          check?: (err: OmniError) => void,
        ) => {
          sandbox.reset();
          sandbox.inject({ ...fault, times });
          const table = subject.tables[0];
          try {
            await assert.rejects(
              () =>
                scan(table.name, {
                  predicates: [],
                  columns: allColumns(subject, table.name, sandbox.connection),
                }),
              (err) => {
                assert.ok(err instanceof OmniError, `not an OmniError: ${err}`);
                assert.equal(err.code, code, err.message);
                check?.(err);
                return true;
              },
            );
          } finally {
            sandbox.reset();
          }
        };

        await t.step("401 and 403 are SOURCE_ERROR", async () => {
          for (const status of [401, 403]) {
            await expectFailure({ status }, "SOURCE_ERROR", (err) => {
              assert.equal(err.details?.status, status);
              assert.equal(err.status, 502);
            });
          }
        });

        await t.step("429 is RATE_LIMIT_EXHAUSTED with a wait", async () => {
          await expectFailure({ status: 429 }, "RATE_LIMIT_EXHAUSTED", (err) => {
            assert.equal(err.status, 429);
            assert.ok((err.retryAfterMs ?? -1) >= 0);
          });
        });

        await t.step("5xx is SOURCE_ERROR after retries; a transient 5xx is retried", async () => {
          for (const status of [500, 502, 503]) {
            await expectFailure({ status }, "SOURCE_ERROR", (err) => {
              assert.equal(err.details?.status, status);
            });
          }
          sandbox.reset();
          sandbox.inject({ status: 503, times: 1 });
          const table = subject.tables[0];
          const result = await scan(table.name, { predicates: [], columns: [table.key[0]] });
          assert.ok(result.rows.length > 0);
          sandbox.reset();
        });

        await t.step("a malformed body is SOURCE_ERROR", async () => {
          await expectFailure({ status: 200, body: "{not json" }, "SOURCE_ERROR", (err) => {
            assert.match(err.message, /malformed/i);
          });
          await expectFailure(
            { status: 200, body: '{"unexpected": true}' },
            "SOURCE_ERROR",
          );
        });
      } finally {
        sandbox.reset();
        await sandbox.close();
      }
    },
  );
}

/** A predicate against a row, with SQL semantics. */
function matches(p: Predicate, row: Row): boolean {
  return matchesPredicate(p, row[p.column]);
}
