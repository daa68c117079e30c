/**
 * One Salesforce object as a table: columns mapped to SOQL fields (relationship paths like
 * `Owner.Email` included), pushdown through {@link planSoql}, and a scan over the query's
 * batches (the SDK follows `nextRecordsUrl` to the last one).
 *
 * @module
 */
import { OmniError } from "../../src/errors.ts";
import {
  type ColumnDef,
  type Connection,
  defineTable,
  type KeyColumn,
  type Row,
  type ScanContext,
  type ScanPlan,
  type TableDef,
} from "../sdk/mod.ts";
import { queryBatches, salesforceConfig } from "./client.ts";
import { planSoql, renderSoql, type SoqlField, type SoqlKind } from "./soql.ts";

/** A column of a Salesforce table. */
export interface SfColumn extends ColumnDef {
  /** SOQL field path; a function when it comes from the connection's config. */
  field: string | ((connection: Connection) => string);
  kind: SoqlKind;
}

/** Plan state: the SOQL to send. */
export interface SfPlanState {
  soql: string;
  /** Column → SOQL field path, for reading records. */
  paths: Record<string, string>;
}

const OPS: Record<SoqlKind, KeyColumn["operators"]> = {
  id: ["=", "in", "is null", "is not null"],
  text: ["=", "in", "like", "is null", "is not null"],
  number: ["=", "!=", "<", "<=", ">", ">=", "in", "not in", "is null", "is not null"],
  boolean: ["=", "!="],
  datetime: ["=", "!=", "<", "<=", ">", ">=", "is null", "is not null"],
  date: ["=", "<", "<=", ">", ">=", "is null", "is not null"],
};

// What SOQL applies exactly: text compares case-insensitively, `!=`/`NOT IN` keep NULLs, and
// datetimes hold whole seconds (a finer bound is widened, and the plan then reports it inexact).
const EXACT: Record<SoqlKind, KeyColumn["operators"]> = {
  id: ["is null", "is not null"],
  text: ["is null", "is not null"],
  number: ["=", "<", "<=", ">", ">=", "in", "is null", "is not null"],
  boolean: ["=", "!="],
  datetime: ["=", "<", "<=", ">", ">=", "is null", "is not null"],
  date: ["=", "<", "<=", ">", ">=", "is null", "is not null"],
};

/** Declares a table over a Salesforce object. */
export function salesforceTable(
  spec: { name: string; object: string; description: string; columns: SfColumn[] },
): TableDef {
  const byName = new Map(spec.columns.map((c) => [c.name, c]));
  const fieldsFor = (connection: Connection): SoqlField[] =>
    spec.columns.map((c) => ({
      column: c.name,
      field: typeof c.field === "string" ? c.field : c.field(connection),
      kind: c.kind,
    }));
  return defineTable<SfPlanState>({
    name: spec.name,
    description: spec.description,
    columns: spec.columns.map(({ name, type, description, classification }) => ({
      name,
      type,
      description,
      ...(classification ? { classification } : {}),
    })),
    keyColumns: spec.columns.map((c) => ({
      column: c.name,
      operators: OPS[c.kind],
      exact: EXACT[c.kind],
    })),
    plan(offer, connection): ScanPlan<SfPlanState> {
      for (const c of [...offer.columns, ...offer.predicates.map((p) => p.column)]) {
        if (!byName.has(c)) {
          throw new OmniError("PLAN_FAILED", `unknown column ${connection.name}.${spec.name}.${c}`);
        }
      }
      const config = salesforceConfig(connection);
      const fields = fieldsFor(connection);
      const soql = planSoql(fields, offer);
      const text = renderSoql(spec.object, soql);
      const columns = [...new Set([...offer.columns, ...offer.predicates.map((p) => p.column)])];
      const paths = Object.fromEntries(fields.map((f) => [f.column, f.field]));
      return {
        native: [`GET /services/data/v${config.apiVersion}/query?q=${text}`],
        pushed: soql.pushed,
        residual: soql.residual,
        columns,
        ...(soql.limit !== undefined ? { limit: soql.limit } : {}),
        state: { soql: text, paths },
      };
    },
    async *scan(ctx: ScanContext, plan: ScanPlan<SfPlanState>): AsyncIterable<Row[]> {
      const wanted = plan.columns.map((c) => byName.get(c)!);
      for await (
        const records of queryBatches(ctx.http, ctx.connection, plan.state.soql, ctx.signal)
      ) {
        yield records.map((r) => toRow(r, wanted, plan.state.paths));
      }
    },
  });
}

function read(record: Record<string, unknown>, path: string): unknown {
  let v: unknown = record;
  for (const part of path.split(".")) {
    if (v === null || typeof v !== "object") return null;
    v = (v as Record<string, unknown>)[part];
  }
  return v ?? null;
}

function toRow(
  record: Record<string, unknown>,
  wanted: SfColumn[],
  paths: Record<string, string>,
): Row {
  const row: Row = {};
  for (const c of wanted) {
    const v = read(record, paths[c.name]);
    row[c.name] = convert(v, c);
  }
  return row;
}

function convert(v: unknown, c: SfColumn): unknown {
  if (v === null || v === undefined) return null;
  switch (c.kind) {
    case "date":
      return typeof v === "string" && /^\d{4}-\d{2}-\d{2}$/.test(v) ? `${v}T00:00:00.000Z` : null;
    case "datetime": {
      if (typeof v !== "string") return null;
      const ms = Date.parse(v.replace(/([+-]\d{2})(\d{2})$/, "$1:$2"));
      return Number.isNaN(ms) ? null : new Date(ms).toISOString();
    }
    case "number":
      return typeof v === "number" ? v : null;
    case "boolean":
      return typeof v === "boolean" ? v : null;
    default:
      return typeof v === "string" ? v : String(v);
  }
}
