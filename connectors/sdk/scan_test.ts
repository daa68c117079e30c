import assert from "node:assert/strict";
import { FAKE_CONNECTION, FAKE_CONNECTOR } from "./_testing.ts";
import { runScan } from "./scan.ts";
import { defineTable, type Row } from "./table.ts";

const PAGES: Row[][] = [[{ n: 1 }, { n: 2 }], [], [{ n: 3 }, { n: 4 }, { n: 5 }], [{ n: 6 }]];

const things = (limit?: number) =>
  defineTable<null>({
    name: "things",
    description: "Things",
    columns: [{ name: "n", type: "integer", description: "" }],
    keyColumns: [],
    plan: (offer) => ({
      native: ["GET /things"],
      pushed: [],
      residual: offer.predicates,
      columns: offer.columns,
      state: null,
      ...(limit === undefined ? {} : { limit }),
    }),
    async *scan() {
      for (const page of PAGES) yield page;
    },
  });

Deno.test("runScan() hands each page's rows on as collected: the result is exactly those pieces", async () => {
  // Limits and the pages handed on: every page; the third cut after its first row; the first.
  const cases: [number | undefined, number][] = [[undefined, 4], [4, 3], [2, 1]];
  for (const [limit, handedOn] of cases) {
    const pieces: Row[][] = [];
    const table = things(limit);
    const result = await runScan(FAKE_CONNECTOR, table, FAKE_CONNECTION, {
      predicates: [],
      columns: ["n"],
    }, { onRows: (rows) => pieces.push(rows) });
    const expected = PAGES.flat().slice(0, limit);
    assert.deepEqual(result.rows, expected, `limit ${limit}`);
    // The same row objects, in order; a page cut at the limit hands on only the rows kept, and
    // no page is read past it.
    assert.deepEqual(pieces.flat(), result.rows);
    assert.ok(pieces.flat().every((row, i) => row === result.rows[i]));
    assert.equal(pieces.length, handedOn);
  }
});
