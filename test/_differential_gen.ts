/**
 * The differential suite's query generator: seeded random SQL over snapshots of the sandbox
 * tables — every pushable operator and their combinations, NULLs, case and quote traps,
 * timestamp spellings and boundaries (microseconds, offsets DuckDB ignores, dates), ORDER BY /
 * LIMIT / OFFSET with ties, aggregates, joins on the natural keys, subqueries, CTEs, bare and
 * aliased names. Values are sampled from the snapshot so that predicates hit real rows and
 * their boundaries.
 *
 * @module
 */
import type { ColumnDef, Row } from "../connectors/sdk/table.ts";
import { canonicalTimestamp, rowTimestampMicros } from "../connectors/sdk/timestamp.ts";

/** One table of the snapshot, as the generator sees it. */
export interface GenTable {
  schema: string;
  name: string;
  columns: ColumnDef[];
  rows: Row[];
  /** A column whose values are unique (a tie-breaker and the row's identity). */
  key: string;
}

/** A generated query and what its comparison needs. */
export interface GenQuery {
  sql: string;
  /** The same query without its top-level LIMIT/OFFSET (set only when it has one). */
  unlimited?: string;
  /** Output columns the top-level ORDER BY sorts by, in order (their values must line up). */
  orderColumns: string[];
  /** Tables (`schema.name`) the query reads. */
  tables: string[];
  /** Which family it comes from, for reports. */
  family: string;
}

/** A query over one table. */
function oneTable(
  t: { schema: string; name: string },
  family: string,
  sql: string,
  orderColumns: string[] = [],
): GenQuery {
  return { sql, orderColumns, tables: [`${t.schema}.${t.name}`], family };
}

/** Joins on natural keys: `[left table, left column, right table, right column, one-to-many]`. */
const JOINS: [string, string, string, string, boolean][] = [
  ["github.pull_requests", "branch", "jira.issues", "branch_name", true],
  ["github.pull_requests", "branch", "linear.issues", "branch_name", true],
  ["salesforce.opportunities", "jira_issue_key", "jira.issues", "issue_key", true],
  ["salesforce.opportunities", "account_id", "salesforce.accounts", "id", true],
  ["jira.issues", "team", "linear.issues", "team", false],
  ["jira.issues", "branch_name", "linear.issues", "branch_name", true],
  ["github.pull_requests", "team_id", "salesforce.accounts", "owner_department", false],
];

/** A small seeded PRNG (mulberry32): the same seed gives the same queries. */
export class Random {
  #state: number;
  constructor(seed: number) {
    this.#state = seed >>> 0;
  }
  /** A float in [0, 1). */
  next(): number {
    let t = (this.#state = (this.#state + 0x6d2b79f5) >>> 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
  int(lo: number, hi: number): number {
    return lo + Math.floor(this.next() * (hi - lo + 1));
  }
  pick<T>(xs: readonly T[]): T {
    return xs[Math.floor(this.next() * xs.length)];
  }
  chance(p: number): boolean {
    return this.next() < p;
  }
}

/** Generates queries over the given tables. */
export class QueryGenerator {
  readonly #r: Random;
  readonly #tables: Map<string, GenTable>;

  constructor(seed: number, tables: GenTable[]) {
    this.#r = new Random(seed);
    this.#tables = new Map(tables.map((t) => [`${t.schema}.${t.name}`, t]));
  }

  /** The next query. */
  next(): GenQuery {
    const r = this.#r;
    const roll = r.next();
    if (roll < 0.3) return this.#filter();
    if (roll < 0.42) return this.#count();
    if (roll < 0.58) return this.#boundary();
    if (roll < 0.66) return this.#groupBy();
    if (roll < 0.78) return this.#join();
    if (roll < 0.88) return this.#subquery();
    if (roll < 0.94) return this.#cte();
    return this.#union();
  }

  #table(): GenTable {
    return this.#r.pick([...this.#tables.values()]);
  }

  /** Columns a query may use: GitHub's per-PR detail columns only now and then (slow). */
  #usable(t: GenTable): ColumnDef[] {
    return t.columns.filter((c) => c.type !== "json" && (!c.detail || this.#r.chance(0.03)));
  }

  /** How a query refers to a table: `{ from, ref }` (`ref` qualifies columns, "" for none). */
  #naming(t: GenTable, alias: string): { from: string; ref: string } {
    const r = this.#r;
    const full = `${t.schema}.${t.name}`;
    switch (r.int(0, 3)) {
      case 0:
        return { from: `${full} ${alias}`, ref: `${alias}.` };
      case 1:
        return { from: `${full} AS ${alias}`, ref: `${alias}.` };
      case 2:
        return { from: full, ref: r.chance(0.5) ? `${t.name}.` : `${full}.` };
      default:
        return { from: full, ref: "" };
    }
  }

  #filter(): GenQuery {
    const r = this.#r;
    const t = this.#table();
    const { from, ref } = this.#naming(t, r.pick(["t", "x", "src"]));
    const cols = this.#usable(t);
    const star = r.chance(0.15);
    const chosen = star ? t.columns.map((c) => c.name) : this.#someColumns(cols, t.key);
    // Output aliases: ORDER BY may then name the alias or the position.
    const aliased = !star && r.chance(0.2);
    const selected = aliased ? chosen.map((c) => `${c}_out`) : chosen;
    const select = star
      ? "*"
      : chosen.map((c) => `${ref}${c}${aliased ? ` AS ${c}_out` : ""}`).join(", ");
    // Sometimes no WHERE at all: a bare ORDER BY … LIMIT is a top-N the apps take themselves.
    const where = this.#where(t, cols, ref, r.pick([0, 1, 1, 1, 2, 2]));
    let sql = `SELECT ${select} FROM ${from}${where ? ` WHERE ${where}` : ""}`;
    const orderColumns: string[] = [];
    let unlimited: string | undefined;
    if (r.chance(0.55)) {
      const sortable = chosen.filter((c) => cols.some((x) => x.name === c));
      const n = Math.min(sortable.length, r.int(1, 2));
      const keys: string[] = [];
      for (let i = 0; i < n; i++) {
        const c = r.pick(sortable);
        const out = aliased ? `${c}_out` : c;
        if (orderColumns.includes(out)) continue;
        orderColumns.push(out);
        const dir = r.pick(["", " ASC", " DESC"]);
        const nulls = r.chance(0.15) ? r.pick([" NULLS FIRST", " NULLS LAST"]) : "";
        const name = aliased
          ? (r.chance(0.5) ? out : String(selected.indexOf(out) + 1))
          : `${r.chance(0.3) ? "" : ref}${c}`;
        keys.push(`${name}${dir}${nulls}`);
      }
      if (keys.length > 0) sql += ` ORDER BY ${keys.join(", ")}`;
    }
    if (r.chance(0.5)) {
      unlimited = sql;
      sql += ` LIMIT ${r.int(0, 12)}`;
      if (r.chance(0.4)) sql += ` OFFSET ${r.int(0, 6)}`;
    }
    return { sql, unlimited, orderColumns, tables: [`${t.schema}.${t.name}`], family: "filter" };
  }

  /**
   * One predicate right at a boundary — a timestamp at a row's value (to the microsecond, or
   * with an offset that only a wrong reading applies), a text in another case — counted, or
   * under ORDER BY … LIMIT, where a widened filter must not carry the limit.
   */
  #boundary(): GenQuery {
    const r = this.#r;
    const t = this.#table();
    const { from, ref } = this.#naming(t, "b");
    const cols = this.#usable(t);
    const times = cols.filter((c) => c.type === "timestamp");
    const c = times.length > 0 && r.chance(0.7)
      ? r.pick(times)
      : r.pick(cols.filter((x) => x.type === "text"));
    const where = this.#predicate(t, c, ref);
    if (r.chance(0.5)) {
      return oneTable(t, "boundary", `SELECT count(*) AS n FROM ${from} WHERE ${where}`);
    }
    const dir = r.pick(["", " DESC"]);
    const base = `SELECT ${ref}${t.key}, ${ref}${c.name} FROM ${from} WHERE ${where} ` +
      `ORDER BY ${ref}${c.name}${dir}`;
    const sql = `${base} LIMIT ${r.int(1, 6)}${r.chance(0.4) ? ` OFFSET ${r.int(1, 4)}` : ""}`;
    return { ...oneTable(t, "boundary", sql, [c.name]), unlimited: base };
  }

  #count(): GenQuery {
    const r = this.#r;
    const t = this.#table();
    const { from, ref } = this.#naming(t, "t");
    const where = this.#where(t, this.#usable(t), ref, r.pick([1, 1, 1, 2, 3]));
    return oneTable(
      t,
      "count",
      `SELECT count(*) AS n FROM ${from}${where ? ` WHERE ${where}` : ""}`,
    );
  }

  #groupBy(): GenQuery {
    const r = this.#r;
    const t = this.#table();
    const { from, ref } = this.#naming(t, "g");
    const cols = this.#usable(t);
    const group = r.pick(cols.filter((c) => c.type === "text" || c.type === "boolean"));
    const numeric = cols.filter((c) => c.type === "integer" || c.type === "double");
    const aggs = ["count(*) AS n"];
    if (numeric.length > 0 && r.chance(0.7)) {
      const n = r.pick(numeric);
      aggs.push(`${r.pick(["sum", "min", "max", "avg"])}(${ref}${n.name}) AS agg`);
    }
    const where = this.#where(t, cols, ref, r.int(0, 2));
    let sql = `SELECT ${ref}${group.name} AS grp, ${aggs.join(", ")} FROM ${from}` +
      `${where ? ` WHERE ${where}` : ""} GROUP BY ${ref}${group.name}`;
    if (r.chance(0.3)) sql += ` HAVING count(*) > ${r.int(0, 3)}`;
    return oneTable(t, "group by", sql);
  }

  #join(): GenQuery {
    const r = this.#r;
    const [lt, lc, rt, rc, oneToMany] = r.pick(JOINS);
    const left = this.#tables.get(lt)!, right = this.#tables.get(rt)!;
    const kind = r.pick(["JOIN", "JOIN", "INNER JOIN", "LEFT JOIN", "RIGHT JOIN", "FULL JOIN"]);
    const lw = this.#where(left, this.#usable(left), "a.", r.int(0, 2));
    const rw = this.#where(right, this.#usable(right), "b.", r.int(0, 2));
    // USING when both sides name the key alike; the key is then also named unqualified.
    if (lc === rc && r.chance(0.5)) {
      const same = this.#predicate(left, left.columns.find((c) => c.name === lc)!, "");
      const where = [same, lw, rw].filter(Boolean).join(" AND ");
      const sql = `SELECT count(*) AS n, count(DISTINCT b.${right.key}) AS d FROM ${lt} a ` +
        `${kind} ${rt} b USING (${lc}) WHERE ${where}`;
      return { sql, orderColumns: [], tables: [lt, rt], family: "join" };
    }
    const onExtra = kind !== "JOIN" && kind !== "INNER JOIN" && rw && r.chance(0.5);
    const on = `a.${lc} = b.${rc}${onExtra ? ` AND ${rw}` : ""}`;
    const where = [lw, onExtra ? "" : rw].filter(Boolean).join(r.chance(0.85) ? " AND " : " OR ");
    const from = `${lt} a ${kind} ${rt} b ON ${on}${where ? ` WHERE ${where}` : ""}`;
    const sql = oneToMany && r.chance(0.6)
      ? `SELECT a.${left.key} AS l, b.${right.key} AS r FROM ${from}`
      : `SELECT count(*) AS n, count(DISTINCT b.${right.key}) AS d FROM ${from}`;
    return { sql, orderColumns: [], tables: [lt, rt], family: "join" };
  }

  #subquery(): GenQuery {
    const r = this.#r;
    const [lt, lc, rt, rc] = r.pick(JOINS);
    const [outerName, outerCol, innerName, innerCol] = r.chance(0.5)
      ? [lt, lc, rt, rc]
      : [rt, rc, lt, lc];
    const outer = this.#tables.get(outerName)!, inner = this.#tables.get(innerName)!;
    // The outer table unaliased and the inner one aliased: `outer_name.col` inside the subquery
    // must bind to the outer table (the issue's binding trap), even when both share a name.
    const outerRef = `${outer.name}.`;
    const innerRef = r.chance(0.5) ? "i." : "";
    const innerFrom = innerRef ? `${innerName} i` : innerName;
    const innerWhere = this.#where(inner, this.#usable(inner), innerRef || `${inner.name}.`, 1);
    const outerWhere = r.chance(0.5) ? this.#where(outer, this.#usable(outer), outerRef, 1) : "";
    const shape = r.int(0, 3);
    let cond: string;
    if (shape === 0) {
      cond = `EXISTS (SELECT 1 FROM ${innerFrom} WHERE ${innerRef}${innerCol} = ` +
        `${outerRef}${outerCol}${innerWhere ? ` AND ${innerWhere}` : ""})`;
    } else if (shape === 1) {
      cond = `${outerRef}${outerCol} IN (SELECT ${innerRef}${innerCol} FROM ${innerFrom}` +
        `${innerWhere ? ` WHERE ${innerWhere}` : ""})`;
    } else if (shape === 2) {
      // An uncorrelated EXISTS whose WHERE names the outer table: true or false for all rows.
      const probe = this.#where(outer, this.#usable(outer), outerRef, 1) ||
        `${outerRef}${outer.key} IS NOT NULL`;
      cond = `EXISTS (SELECT 1 FROM ${innerName} i WHERE ${probe})`;
    } else {
      cond = `NOT EXISTS (SELECT 1 FROM ${innerFrom} WHERE ${innerRef}${innerCol} = ` +
        `${outerRef}${outerCol})`;
    }
    const where = [cond, outerWhere].filter(Boolean).join(" AND ");
    const sql = r.chance(0.5)
      ? `SELECT count(*) AS n FROM ${outerName} WHERE ${where}`
      : `SELECT ${outerRef}${outer.key} AS k FROM ${outerName} WHERE ${where}`;
    return { sql, orderColumns: [], tables: [outerName, innerName], family: "subquery" };
  }

  #cte(): GenQuery {
    const r = this.#r;
    const t = this.#table();
    const cols = this.#usable(t);
    const inner = this.#where(t, cols, "", r.int(1, 2));
    const outer = this.#where(t, cols, r.chance(0.5) ? "c." : "", r.int(0, 2));
    const sql = `WITH c AS (SELECT * FROM ${t.schema}.${t.name}` +
      `${inner ? ` WHERE ${inner}` : ""}) SELECT ${
        r.chance(0.5) ? "count(*) AS n" : `c.${t.key} AS k`
      } FROM c${outer ? ` WHERE ${outer}` : ""}`;
    return oneTable(t, "cte", sql);
  }

  /** Two filtered branches over tables sharing a join key, combined by a set operation. */
  #union(): GenQuery {
    const r = this.#r;
    const [lt, lc, rt, rc] = r.pick(JOINS);
    const left = this.#tables.get(lt)!, right = this.#tables.get(rt)!;
    const lw = this.#where(left, this.#usable(left), "", r.int(0, 2));
    const rw = this.#where(right, this.#usable(right), "", r.int(0, 2));
    const op = r.pick(["UNION", "UNION ALL", "INTERSECT", "EXCEPT"]);
    const sql = `SELECT ${lc} AS v FROM ${lt}${lw ? ` WHERE ${lw}` : ""} ${op} ` +
      `SELECT ${rc} AS v FROM ${rt}${rw ? ` WHERE ${rw}` : ""}`;
    return { sql, orderColumns: [], tables: [lt, rt], family: "set operation" };
  }

  #someColumns(cols: ColumnDef[], key: string): string[] {
    const r = this.#r;
    const out = new Set<string>([key]);
    const n = r.int(1, 4);
    for (let i = 0; i < n; i++) out.add(r.pick(cols).name);
    return [...out];
  }

  /** `n` predicates joined mostly by AND, sometimes OR, sometimes negated. */
  #where(t: GenTable, cols: ColumnDef[], ref: string, n: number): string {
    const r = this.#r;
    const parts: string[] = [];
    for (let i = 0; i < n; i++) parts.push(this.#predicate(t, this.#column(cols), ref));
    if (parts.length === 0) return "";
    let out = parts[0];
    for (const p of parts.slice(1)) {
      // Unparenthesised ORs too: AND must bind tighter (node-sql-parser got that wrong).
      out = r.chance(0.8)
        ? `${out} AND ${p}`
        : r.chance(0.6)
        ? `(${out} OR ${p})`
        : `${out} OR ${p}`;
    }
    return out;
  }

  /** A column to filter on: timestamps and text (where the traps are) more often. */
  #column(cols: ColumnDef[]): ColumnDef {
    const r = this.#r;
    const times = cols.filter((c) => c.type === "timestamp");
    if (times.length > 0 && r.chance(0.35)) return r.pick(times);
    const texts = cols.filter((c) => c.type === "text");
    if (texts.length > 0 && r.chance(0.3)) return r.pick(texts);
    return r.pick(cols);
  }

  #predicate(t: GenTable, c: ColumnDef, ref: string): string {
    const r = this.#r;
    // Identifiers match case-insensitively in DuckDB, quoted or not.
    const name = r.chance(0.9)
      ? c.name
      : r.pick([c.name.toUpperCase(), `"${c.name.toUpperCase()}"`]);
    const col = `${ref}${name}`;
    const sample = () => t.rows[r.int(0, t.rows.length - 1)]?.[c.name] ?? null;
    if (r.chance(0.08)) return `${col} IS ${r.chance(0.5) ? "" : "NOT "}NULL`;
    const lit = () => this.#literal(c, sample());
    const op = r.pick(["=", "=", "!=", "<>", "<", "<=", ">", ">=", "in", "not in", "between"]);
    let p: string;
    switch (op) {
      case "in":
      case "not in": {
        const values = Array.from({ length: r.int(1, 4) }, lit);
        if (r.chance(0.1)) values.push("NULL");
        p = `${col} ${op.toUpperCase()} (${values.join(", ")})`;
        break;
      }
      case "between":
        p = `${col} BETWEEN ${lit()} AND ${lit()}`;
        break;
      default:
        // Literal first sometimes: `'x' < col` must flip the operator.
        p = r.chance(0.15) ? `${lit()} ${op} ${col}` : `${col} ${op} ${lit()}`;
    }
    if (c.type === "text" && r.chance(0.2)) {
      p = `${col} ${r.pick(["LIKE", "LIKE", "LIKE", "NOT LIKE", "ILIKE"])} ${
        this.#likePattern(sample())
      }`;
    }
    if (op === "between" && r.chance(0.2)) p = p.replace(" BETWEEN ", " NOT BETWEEN ");
    if (r.chance(0.05)) p = `NOT (${p})`;
    return p;
  }

  /** A literal for a column, near a sampled value, with the traps of its type. */
  #literal(c: ColumnDef, value: unknown): string {
    const r = this.#r;
    switch (c.type) {
      case "text": {
        let s = typeof value === "string" ? value : r.pick(["Done", "web", "x"]);
        if (r.chance(0.3)) s = r.chance(0.5) ? s.toUpperCase() : s.toLowerCase();
        if (r.chance(0.05)) s += " ";
        if (r.chance(0.05)) s = `${s}'`;
        if (r.chance(0.04) && !s.includes("$")) return `$$${s}$$`;
        return quote(s);
      }
      case "integer": {
        const n = typeof value === "number" ? value : r.int(0, 100);
        const v = n + r.pick([0, 0, 0, 1, -1]);
        if (r.chance(0.1)) return `'${v}'`;
        if (r.chance(0.05)) return `${v}.5`;
        return String(v);
      }
      case "double": {
        const n = typeof value === "number" ? value : r.int(0, 100);
        const v = n + r.pick([0, 0, 0.5, -0.5, 1]);
        if (r.chance(0.04)) return r.pick(["1e21", "-1e21", "1e-7", "2.5e3"]);
        if (r.chance(0.06)) return `'${v}'`;
        return String(v);
      }
      case "boolean":
        return typeof value === "boolean" && r.chance(0.7)
          ? String(value)
          : r.pick(["true", "false"]);
      case "timestamp":
        return this.#timestamp(value);
      default:
        return "NULL";
    }
  }

  /** A timestamp near a row's value, in one of the spellings DuckDB reads. */
  #timestamp(value: unknown): string {
    const r = this.#r;
    const base = rowTimestampMicros(value) ?? 1_767_225_600_000_000n; // 2026-01-01
    // Mostly right at a row's value or a microsecond / millisecond off it: where precision bugs
    // show; sometimes a second, a minute or a day away.
    const deltas = [
      0n,
      0n,
      0n,
      1n,
      1n,
      -1n,
      -1n,
      1000n,
      -1000n,
      999n,
      1_000_000n,
      -60_000_000n,
      86_400_000_000n,
    ];
    // An offset trap: the wall clock written is the row's instant shifted by the offset, so a
    // reading that applies the offset (DuckDB does not) lands exactly on the row.
    const trap = r.chance(0.25)
      ? r.pick([[120n, "+02:00"], [-210n, "-0330"], [300n, "+05"]] as const)
      : null;
    const micros = base + r.pick(deltas) + (trap ? trap[0] * 60_000_000n : 0n);
    const iso = canonicalTimestamp(micros); // 2025-01-06T12:39:44.000[001]Z
    const date = iso.slice(0, 10), time = iso.slice(11, 19);
    const fraction = (micros % 1_000_000n + 1_000_000n) % 1_000_000n;
    const frac6 = fraction.toString().padStart(6, "0");
    const wall = r.pick([
      `${date}T${time}.${frac6}`,
      `${date} ${time}${fraction === 0n ? "" : `.${frac6}`}`,
      `${date}T${time}.${frac6.slice(0, 3)}`,
      `${date} ${time.slice(0, 5)}`,
    ]);
    // DuckDB takes a zone only after the seconds.
    const zone = !/:\d\d:\d\d/.test(wall)
      ? ""
      : trap
      ? trap[1]
      : r.pick(["", "Z", "+02:00", "-0330", "+05", " UTC"]);
    switch (r.int(0, 9)) {
      case 0:
        return `'${date}'`;
      case 1:
        return `DATE '${date}'`;
      case 2:
        return `TIMESTAMP '${wall}${zone}'`;
      case 3:
        return `CAST('${wall}${zone}' AS TIMESTAMP)`;
      case 4:
        return `'${wall}${zone}'::TIMESTAMP`;
      default:
        return `'${wall}${zone}'`;
    }
  }

  #likePattern(value: unknown): string {
    const r = this.#r;
    const s = typeof value === "string" && value.length > 0 ? value : "a";
    const cut = Math.max(1, Math.floor(s.length / 2));
    const p = r.pick([
      `${s.slice(0, cut)}%`,
      `%${s.slice(cut)}`,
      `%${s.slice(1, cut + 1)}%`,
      `${s.slice(0, 1)}_${s.slice(2)}`,
      r.chance(0.5) ? s.toLowerCase() : `${s.slice(0, cut).toUpperCase()}%`,
    ]);
    return quote(p);
  }
}

function quote(s: string): string {
  return `'${s.replaceAll("'", "''")}'`;
}
