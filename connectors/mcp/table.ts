/**
 * A table over an MCP tool, from its mapping: pushdown is a negotiation over the tool's
 * arguments (each predicate a mapped argument can express is taken, the rest handed back), pages
 * follow the tool's cursor through the SDK's `paginate` (the `token` style: the cursor goes in
 * the call's arguments), and each record becomes a row along the columns' paths.
 *
 * @module
 */
import { OmniError } from "../../src/errors.ts";
import {
  type ColumnType,
  type Connection,
  type ConnectorDef,
  defineTable,
  type KeyColumn,
  type PageRequest,
  type PageStyle,
  paginate,
  type Predicate,
  type PredicateOp,
  readOne,
  type Row,
  type Scalar,
  type ScanContext,
  type ScanOffer,
  type ScanPlan,
  type TableDef,
} from "../sdk/mod.ts";
import { mcpSession } from "./client.ts";
import type { ArgumentMapping, TableMapping } from "./mapping.ts";

/** Plan state of an MCP table: the arguments of the first call. */
export interface McpPlanState {
  arguments: Record<string, unknown>;
}

/** The predicate operators an argument takes, and which of them it applies exactly. */
function accepts(a: ArgumentMapping): { ops: PredicateOp[]; exact: PredicateOp[] } {
  const exact = a.exact ? [a.op === "in" ? "in" as const : a.op] : [];
  switch (a.op) {
    case ">=":
      return { ops: [">=", ">"], exact };
    case "<=":
      return { ops: ["<=", "<"], exact };
    case "in":
      return { ops: ["in", "="], exact: a.exact ? ["in", "="] : [] };
    default:
      return { ops: [a.op], exact };
  }
}

/** The argument value a predicate fills, or undefined when it cannot. */
function argumentValue(a: ArgumentMapping, p: Predicate): unknown {
  if (!accepts(a).ops.includes(p.op)) return undefined;
  if (p.op === "in") return p.values.some((v) => v === null) ? undefined : p.values;
  if (!("value" in p) || p.value === null) return undefined;
  return a.op === "in" ? [p.value] : p.value;
}

/**
 * Builds the table of one mapping.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { mcpTable } from "./table.ts";
 * import { mcp } from "./mod.ts";
 * const table = mcpTable(mcp, { name: "t", tool: "list_t", records: "items",
 *   arguments: [{ argument: "state", column: "state", op: "=" }],
 *   columns: [{ name: "id", type: "text" }, { name: "state", type: "text" }] });
 * const plan = table.plan({ columns: ["id"], predicates: [
 *   { column: "state", op: "=", value: "open" }, { column: "id", op: "=", value: "1" }] },
 *   { id: "c", tenantId: "t", connector: "mcp", name: "x", baseUrl: "http://x.test/mcp",
 *     credentials: {}, config: {} });
 * assert.deepEqual(plan.state, { arguments: { state: "open" } });
 * assert.equal(plan.residual.length, 1);
 * ```
 */
export function mcpTable(connector: ConnectorDef, mapping: TableMapping): TableDef {
  const columns = new Map(mapping.columns.map((c) => [c.name, c]));
  const args = mapping.arguments ?? [];
  const keyColumns: KeyColumn[] = [];
  for (const a of args) {
    const { ops, exact } = accepts(a);
    const k = keyColumns.find((k) => k.column === a.column);
    if (k) {
      k.operators = [...new Set([...k.operators, ...ops])];
      k.exact = [...new Set([...(k.exact ?? []), ...exact])];
    } else keyColumns.push({ column: a.column, operators: ops, exact, maxValues: 1000 });
  }

  return defineTable<McpPlanState>({
    name: mapping.name,
    description: mapping.description ?? `Records of the MCP tool ${mapping.tool}.`,
    columns: mapping.columns.map((c) => ({
      name: c.name,
      type: c.type,
      description: c.description ?? `${c.path ?? c.name} of each record.`,
      ...(c.classification ? { classification: c.classification } : {}),
    })),
    keyColumns,
    estimatedRows: mapping.estimated_rows,

    plan(offer: ScanOffer, connection: Connection): ScanPlan<McpPlanState> {
      for (const c of [...offer.columns, ...offer.predicates.map((p) => p.column)]) {
        if (!columns.has(c)) {
          throw new OmniError(
            "PLAN_FAILED",
            `unknown column ${connection.name}.${mapping.name}.${c}`,
          );
        }
      }
      const values: Record<string, unknown> = { ...mapping.fixed };
      const pushed: Predicate[] = [];
      const residual: Predicate[] = [];
      let exact = true;
      for (const p of offer.predicates) {
        const a = args.find((a) =>
          a.column === p.column && !(a.argument in values) && argumentValue(a, p) !== undefined
        );
        if (!a) {
          residual.push(p);
          continue;
        }
        values[a.argument] = argumentValue(a, p);
        pushed.push(p);
        exact &&= accepts(a).exact.includes(p.op);
      }
      const limit = offer.limit !== undefined && !offer.orderBy?.length && exact &&
          residual.length === 0
        ? offer.limit
        : undefined;
      if (mapping.page_size) {
        values[mapping.page_size.argument] = limit !== undefined
          ? Math.max(1, Math.min(limit, mapping.page_size.value))
          : mapping.page_size.value;
      }
      const paging = mapping.cursor
        ? ` (pages: ${mapping.cursor.argument} ← ${mapping.cursor.next})`
        : "";
      return {
        native: [`tools/call ${mapping.tool} ${JSON.stringify(values)}${paging}`],
        pushed,
        residual,
        columns: [...new Set([...offer.columns, ...offer.predicates.map((p) => p.column)])],
        ...(limit !== undefined ? { limit } : {}),
        state: { arguments: values },
      };
    },

    async *scan(ctx: ScanContext, plan: ScanPlan<McpPlanState>): AsyncIterable<Row[]> {
      const style: PageStyle = mapping.cursor
        ? {
          style: "token",
          items: mapping.records,
          field: mapping.cursor.argument,
          next: mapping.cursor.next,
        }
        : { style: "none", items: mapping.records };
      const send = async (request: PageRequest) => {
        const call = () =>
          mcpSession(connector, ctx.connection, ctx.signal).then((session) =>
            session.callTool(ctx.http, mapping.tool, request.body ?? {}, ctx.signal)
          );
        try {
          return await call();
        } catch (err) {
          // The server forgot our session (it restarted): a new session, once.
          if (err instanceof OmniError && err.details?.status === 404) return await call();
          throw err;
        }
      };
      const first: PageRequest = {
        method: "POST",
        url: ctx.connection.baseUrl,
        body: plan.state.arguments,
      };
      for await (const page of paginate(ctx.http, style, first, { signal: ctx.signal, send })) {
        yield page.items.map((record) => rowOf(record));
      }
    },
  });

  function rowOf(record: unknown): Row {
    const row: Row = {};
    for (const c of mapping.columns) {
      row[c.name] = columnValue(readOne(record, c.path ?? c.name), c.type);
    }
    return row;
  }
}

/** A record's value as the column's type holds it; a value of another shape is NULL. */
function columnValue(v: unknown, type: ColumnType): Scalar | object {
  if (v === undefined || v === null) return null;
  switch (type) {
    case "text":
      return typeof v === "object" ? JSON.stringify(v) : String(v);
    case "integer":
      return typeof v === "number" && Number.isInteger(v)
        ? v
        : typeof v === "string" && /^-?\d+$/.test(v)
        ? Number(v)
        : null;
    case "double":
      return typeof v === "number"
        ? v
        : typeof v === "string" && v.trim() !== "" && Number.isFinite(Number(v))
        ? Number(v)
        : null;
    case "boolean":
      return typeof v === "boolean" ? v : null;
    case "timestamp": {
      if (typeof v === "number") return new Date(v).toISOString();
      return typeof v === "string" && !Number.isNaN(Date.parse(v)) ? v : null;
    }
    case "json":
      return v as object;
  }
}
