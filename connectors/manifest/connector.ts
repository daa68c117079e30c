/**
 * The manifest runtime: turns a validated {@link Manifest} into a {@link ConnectorDef} whose
 * tables negotiate pushdown from the manifest's filters and scan with its pagination style. No
 * code per app: a new app is a new manifest.
 *
 * @module
 */
import { OmniError } from "../../src/errors.ts";
import {
  type Connection,
  connectionLimiter,
  type ConnectorDef,
  defineTable,
  mergePartitions,
  type PageRequest,
  type PageStyle,
  paginate,
  type Predicate,
  protocolReaders,
  type QueryParams,
  type Row,
  type Scalar,
  type ScanContext,
  type ScanOffer,
  type ScanPlan,
  type TableDef,
} from "../sdk/mod.ts";
import type { ColumnSpec, Manifest, TableSpec } from "./manifest.ts";
import { authHeaders, authQuery, manifestConnectionSchema, manifestProtocol } from "./_source.ts";
import {
  andFilters,
  type FilterValue,
  graphqlDocument,
  predicateFilter,
  selectionSet,
} from "./_graphql.ts";
import { predicateParams } from "./_rest.ts";
import { fillTemplate, toColumnValue } from "./_values.ts";
import { readOne, readPath } from "../sdk/json_path.ts";

/** Plan state of a manifest table. */
export interface ManifestPlanState {
  /** GraphQL: the `filter` variable. */
  filter?: FilterValue;
  /** GraphQL: one `filter` per partition value, each its own cursor chain, run in parallel. */
  partitions?: FilterValue[];
  /** REST: query parameters from pushed predicates. */
  params?: QueryParams;
  /** Rows per page requested. */
  pageSize: number;
}

/**
 * Builds a connector from a manifest.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { manifestConnector } from "./connector.ts";
 * import { validateManifest } from "./manifest.ts";
 * const c = manifestConnector(validateManifest({
 *   id: "demo", version: 1, description: "d", api: { style: "rest" },
 *   auth: [{ style: "bearer", credential: "token" }],
 *   tables: [{ name: "things", description: "t", request: { path: "/things" },
 *     columns: [{ name: "id", type: "integer", description: "Id.", path: "id" }] }],
 * }));
 * assert.ok(c.tables[0].name === "things");
 * ```
 */
export function manifestConnector(manifest: Manifest): ConnectorDef {
  return {
    id: manifest.id,
    description: manifest.description,
    tables: manifest.tables.map((t) => manifestTable(manifest, t)),
    connection: manifestConnectionSchema(manifest),
    authorize: (connection) => authHeaders(manifest, connection),
    ...protocolReaders(manifestProtocol(manifest)),
  };
}

function manifestTable(manifest: Manifest, spec: TableSpec): TableDef {
  const byName = new Map(spec.columns.map((c) => [c.name, c]));
  const graphql = manifest.api.style === "graphql";
  return defineTable<ManifestPlanState>({
    name: spec.name,
    description: spec.description,
    columns: spec.columns.map(({ name, type, description }) => ({ name, type, description })),
    keyColumns: spec.columns.flatMap((c) => {
      const ops = graphql ? graphqlOps(c) : restOps(spec, c);
      const exact = graphql ? graphqlExactOps(ops) : restOps(spec, c, true);
      return ops.length ? [{ column: c.name, operators: ops, exact }] : [];
    }),

    plan(offer: ScanOffer, connection: Connection): ScanPlan<ManifestPlanState> {
      for (const c of [...offer.columns, ...offer.predicates.map((p) => p.column)]) {
        if (!byName.has(c)) {
          throw new OmniError("PLAN_FAILED", `unknown column ${connection.name}.${spec.name}.${c}`);
        }
      }
      const pushed: Predicate[] = [];
      const residual: Predicate[] = [];
      let exact = true;
      const filters: FilterValue[] = [];
      // The pushed `IN` list of the table's partition column, and where its filter sits.
      let split: { at: number; column: ColumnSpec; values: Scalar[] } | undefined;
      const params: QueryParams = {};
      for (const p of offer.predicates) {
        const column = byName.get(p.column)!;
        if (graphql) {
          const piece = predicateFilter(column, p);
          if (!piece) {
            residual.push(p);
            continue;
          }
          if (p.op === "in" && p.values.length > 1 && p.column === spec.graphql!.partition) {
            split = { at: filters.length, column, values: p.values };
          }
          filters.push(piece.filter);
          exact &&= piece.exact;
        } else {
          const piece = predicateParams(spec.request!.filters, column, p);
          if (!piece || Object.keys(piece.params).some((k) => k in params)) {
            residual.push(p);
            continue;
          }
          Object.assign(params, piece.params);
          exact &&= piece.exact;
        }
        pushed.push(p);
      }
      const columns = [...new Set([...offer.columns, ...offer.predicates.map((p) => p.column)])];
      // A limit holds only when the source returns exactly the rows the query keeps, in an order
      // the query does not care about.
      const limit = offer.limit !== undefined && !offer.orderBy?.length && exact &&
          residual.length === 0
        ? offer.limit
        : undefined;
      const basePage = graphql ? spec.graphql!.page_size : pageSizeOf(spec);
      const maxPage = graphql ? spec.graphql!.max_page_size : Infinity;
      const pageSize = limit !== undefined ? Math.max(1, Math.min(limit, maxPage)) : basePage;
      const filter = andFilters(filters);
      // Partitions only without a limit (a limit is the first rows of one ordered chain), and
      // only when the column takes `=`: each chain filters on its one value.
      const ones = split && limit === undefined
        ? split.values.map((value) =>
          predicateFilter(split!.column, { column: split!.column.name, op: "=", value })
        )
        : [];
      const partitions = split && ones.length > 0 && ones.every((one) => one?.exact)
        ? ones.map((one) => andFilters(filters.map((f, i) => (i === split!.at ? one!.filter : f)))!)
        : undefined;
      const fields = columns.map((c) => byName.get(c)!.path.replace(/\[\]/g, ""));
      const selection = selectionSet(fields.length ? fields : ["id"]);
      const request = (f: FilterValue | undefined) =>
        `POST ${manifest.api.path} ${spec.graphql!.field}(${
          f ? `filter: ${JSON.stringify(f)}, ` : ""
        }first: ${pageSize}) { nodes { ${selection} } }`;
      const native = graphql
        ? partitions?.map(request) ?? [request(filter)]
        : [describeRest(spec, connection, params, pageSize)];
      return {
        native,
        pushed,
        residual,
        columns,
        ...(limit !== undefined ? { limit } : {}),
        state: {
          ...(filter ? { filter } : {}),
          ...(partitions ? { partitions } : {}),
          ...(graphql ? {} : { params }),
          pageSize,
        },
      };
    },

    scan(ctx: ScanContext, plan: ScanPlan<ManifestPlanState>): AsyncIterable<Row[]> {
      const wanted = plan.columns.map((c) => byName.get(c)!);
      const pages = graphql
        ? graphqlPages(manifest, spec, ctx, plan, wanted)
        : restPages(manifest, spec, ctx, plan);
      return limited(pages, wanted, plan.limit);
    },
  });
}

function graphqlOps(c: ColumnSpec): Predicate["op"][] {
  const ops = c.filter?.ops ?? [];
  const out: Predicate["op"][] = [];
  const map: [string, Predicate["op"][]][] = [
    ["eq", ["="]],
    ["neq", ["!="]],
    ["in", ["in"]],
    ["nin", ["not in"]],
    ["gt", [">"]],
    ["gte", [">="]],
    ["lt", ["<"]],
    ["lte", ["<="]],
    ["null", ["is null", "is not null"]],
  ];
  for (const [cmp, sql] of map) if (ops.includes(cmp as never)) out.push(...sql);
  if (ops.some((o) => o === "startsWith" || o === "endsWith" || o === "contains")) out.push("like");
  return out;
}

// GraphQL comparators select what SQL does, except `neq`/`nin` (they keep NULLs) and the string
// searches LIKE maps to (their case handling is the app's).
function graphqlExactOps(ops: Predicate["op"][]): Predicate["op"][] {
  return ops.filter((op) => op !== "!=" && op !== "not in" && op !== "like");
}

function restOps(spec: TableSpec, c: ColumnSpec, exactOnly = false): Predicate["op"][] {
  const ops = new Set<Predicate["op"]>();
  for (const f of spec.request?.filters ?? []) {
    if (f.column !== c.name || (exactOnly && !f.exact)) continue;
    ops.add(f.op);
    if (f.op === "in") ops.add("=");
  }
  return [...ops];
}

function pageSizeOf(spec: TableSpec): number {
  return spec.pagination.style === "none" ? 0 : spec.pagination.page_size;
}

function describeRest(
  spec: TableSpec,
  connection: Connection,
  params: QueryParams,
  pageSize: number,
): string {
  let path: string;
  try {
    path = fillTemplate(spec.request!.path, connection);
  } catch {
    path = spec.request!.path;
  }
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries({ ...spec.request!.query, ...params })) {
    if (v === undefined) continue;
    if (Array.isArray(v)) v.forEach((x) => q.append(k, x));
    else q.set(k, String(v));
  }
  const p = spec.pagination;
  if (p.style !== "none") q.set(p.limit_param, String(pageSize));
  const qs = q.toString();
  return `GET ${path}${qs ? `?${qs}` : ""}`;
}

async function* limited(
  pages: AsyncIterable<unknown[]>,
  wanted: ColumnSpec[],
  limit?: number,
): AsyncIterable<Row[]> {
  let emitted = 0;
  for await (const records of pages) {
    let rows = records.map((r) => toRow(r, wanted));
    if (limit !== undefined && emitted + rows.length > limit) rows = rows.slice(0, limit - emitted);
    emitted += rows.length;
    yield rows;
    if (limit !== undefined && emitted >= limit) return;
  }
}

function toRow(record: unknown, wanted: ColumnSpec[]): Row {
  const row: Row = {};
  for (const c of wanted) {
    const raw = c.path.includes("[]") ? readPath(record, c.path) : readOne(record, c.path);
    row[c.name] = toColumnValue(raw, c.type, c.format);
  }
  return row;
}

/** Pages of a GraphQL table: its connection field paged by `first`/`after` (the SDK's loop). */
async function* graphqlPages(
  manifest: Manifest,
  spec: TableSpec,
  ctx: ScanContext,
  plan: ScanPlan<ManifestPlanState>,
  wanted: ColumnSpec[],
): AsyncIterable<unknown[]> {
  const g = spec.graphql!;
  const query = graphqlDocument(g, wanted.map((c) => c.path));
  const style: PageStyle = { style: "graphql", connection: `data.${g.field}` };
  const limiter = connectionLimiter(ctx.connection.id, PARTITION_CONCURRENCY);
  const chain = async function* (filter: FilterValue | undefined) {
    const variables: Record<string, unknown> = { first: plan.state.pageSize, after: null };
    if (filter) variables.filter = filter;
    const first: PageRequest = {
      method: "POST",
      url: pathWith(manifest.api.path, authQuery(manifest, ctx.connection)),
      body: { query, variables },
    };
    for await (const page of paginate(ctx.http, style, first, { signal: ctx.signal, limiter })) {
      yield page.items;
    }
  };
  const { partitions } = plan.state;
  if (partitions) {
    // Independent cursor chains (one per team…): in parallel, pages merged as they come.
    yield* mergePartitions(partitions.map((f) => () => chain(f)), PARTITION_CONCURRENCY);
  } else yield* chain(plan.state.filter);
}

/** Cursor chains of one connection in flight at once (its page budget, across queries). */
const PARTITION_CONCURRENCY = 4;

/** Pages of a REST table in the manifest's pagination style (the SDK's loop). */
async function* restPages(
  manifest: Manifest,
  spec: TableSpec,
  ctx: ScanContext,
  plan: ScanPlan<ManifestPlanState>,
): AsyncIterable<unknown[]> {
  const { http, connection } = ctx;
  const req = spec.request!;
  let path: string;
  const query: QueryParams = {};
  try {
    path = fillTemplate(req.path, connection);
    for (const [k, v] of Object.entries(req.query)) {
      query[k] = fillTemplate(v, connection, (s) => s);
    }
  } catch (err) {
    throw http.error("SOURCE_ERROR", (err as Error).message);
  }
  const auth = authQuery(manifest, connection);
  Object.assign(query, plan.state.params, auth);
  const p = spec.pagination;
  const size = plan.state.pageSize;
  const items = req.records;
  let style: PageStyle;
  switch (p.style) {
    case "none":
      style = { style: "none", items };
      break;
    case "offset":
      style = { style: "offset", items, param: p.offset_param, size };
      Object.assign(query, { [p.limit_param]: size, [p.offset_param]: 0 });
      break;
    case "page":
      style = { style: "page", items, param: p.page_param, size, first: p.first_page };
      Object.assign(query, { [p.limit_param]: size, [p.page_param]: p.first_page });
      break;
    case "cursor":
      style = { style: "cursor", items, param: p.cursor_param, next: p.cursor_path };
      query[p.limit_param] = size;
      break;
    case "link":
      // The next link carries the query; only an API key in the query is added again.
      style = { style: "link", items, ...(Object.keys(auth).length ? { query: auth } : {}) };
      query[p.limit_param] = size;
      break;
  }
  for await (const page of paginate(http, style, { url: path, query }, { signal: ctx.signal })) {
    yield page.items;
  }
}

function pathWith(path: string, query: Record<string, string>): string {
  const qs = new URLSearchParams(query).toString();
  return qs ? `${path}${path.includes("?") ? "&" : "?"}${qs}` : path;
}
