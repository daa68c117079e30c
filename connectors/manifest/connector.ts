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
  type ConnectorDef,
  defineTable,
  type Predicate,
  type QueryParams,
  type Row,
  type ScanContext,
  type ScanOffer,
  type ScanPlan,
  type SourceResponse,
  type TableDef,
} from "../sdk/mod.ts";
import { parseLinkHeader } from "../sdk/http.ts";
import type { ColumnSpec, Manifest, TableSpec } from "./manifest.ts";
import {
  authHeaders,
  authQuery,
  graphqlFailure,
  readError,
  readRateLimit,
  sourceError,
} from "./_source.ts";
import {
  andFilters,
  type FilterValue,
  graphqlDocument,
  predicateFilter,
  selectionSet,
} from "./_graphql.ts";
import { predicateParams } from "./_rest.ts";
import { fillTemplate, readOne, readPath, toColumnValue } from "./_values.ts";

/** Plan state of a manifest table. */
export interface ManifestPlanState {
  /** GraphQL: the `filter` variable. */
  filter?: FilterValue;
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
    authorize: (connection) => authHeaders(manifest, connection),
    readRateLimit: (headers) => readRateLimit(manifest, headers),
    readError: (status, body) => readError(manifest, status, body),
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
      const params: QueryParams = {};
      for (const p of offer.predicates) {
        const column = byName.get(p.column)!;
        if (graphql) {
          const piece = predicateFilter(column, p);
          if (!piece) {
            residual.push(p);
            continue;
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
      const fields = columns.map((c) => byName.get(c)!.path.replace(/\[\]/g, ""));
      const selection = selectionSet(fields.length ? fields : ["id"]);
      const native = graphql
        ? [
          `POST ${manifest.api.path} ${spec.graphql!.field}(${
            filter ? `filter: ${JSON.stringify(filter)}, ` : ""
          }first: ${pageSize}) { nodes { ${selection} } }`,
        ]
        : [describeRest(spec, connection, params, pageSize)];
      return {
        native,
        pushed,
        residual,
        columns,
        ...(limit !== undefined ? { limit } : {}),
        state: { ...(filter ? { filter } : {}), ...(graphql ? {} : { params }), pageSize },
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

async function* graphqlPages(
  manifest: Manifest,
  spec: TableSpec,
  ctx: ScanContext,
  plan: ScanPlan<ManifestPlanState>,
  wanted: ColumnSpec[],
): AsyncIterable<unknown[]> {
  const { http, connection } = ctx;
  const g = spec.graphql!;
  const query = graphqlDocument(g, wanted.map((c) => c.path));
  const extra = authQuery(manifest, connection);
  let after: string | null = null;
  for (;;) {
    if (ctx.signal.aborted) return;
    const variables: Record<string, unknown> = { first: plan.state.pageSize, after };
    if (plan.state.filter) variables.filter = plan.state.filter;
    const res: SourceResponse = await http.request("POST", pathWith(manifest.api.path, extra), {
      body: { query, variables },
    });
    const body = res.body as Record<string, unknown> | null;
    if (body && typeof body === "object" && Array.isArray(body.errors) && body.errors.length) {
      throw graphqlFailure(manifest, connection, http, res.status, body);
    }
    const conn = readOne(body, `data.${g.field}`) as Record<string, unknown> | undefined;
    const nodes = conn?.nodes;
    const info = conn?.pageInfo as { hasNextPage?: unknown; endCursor?: unknown } | undefined;
    if (!Array.isArray(nodes) || !info || typeof info.hasNextPage !== "boolean") {
      throw malformed(manifest, connection, res.status, `data.${g.field}`);
    }
    yield nodes;
    if (!info.hasNextPage) return;
    if (typeof info.endCursor !== "string" || info.endCursor === "" || info.endCursor === after) {
      throw malformed(manifest, connection, res.status, `data.${g.field}.pageInfo.endCursor`);
    }
    after = info.endCursor;
  }
}

async function* restPages(
  manifest: Manifest,
  spec: TableSpec,
  ctx: ScanContext,
  plan: ScanPlan<ManifestPlanState>,
): AsyncIterable<unknown[]> {
  const { http, connection } = ctx;
  const req = spec.request!;
  let path: string;
  try {
    path = fillTemplate(req.path, connection);
  } catch (err) {
    throw sourceError(manifest, connection, "SOURCE_ERROR", (err as Error).message);
  }
  const staticQuery: QueryParams = {};
  for (const [k, v] of Object.entries(req.query)) {
    try {
      staticQuery[k] = fillTemplate(v, connection, (s) => s);
    } catch (err) {
      throw sourceError(manifest, connection, "SOURCE_ERROR", (err as Error).message);
    }
  }
  const base: QueryParams = {
    ...staticQuery,
    ...plan.state.params,
    ...authQuery(manifest, connection),
  };
  const p = spec.pagination;
  const size = plan.state.pageSize;
  const fetchPage = async (target: string, query?: QueryParams) => {
    const res = await http.get(target, query);
    const records = readPath(res.body, req.records);
    const list = req.records === "." ? res.body : records[0];
    if (!Array.isArray(list)) throw malformed(manifest, connection, res.status, req.records);
    return { res, list: list as unknown[] };
  };
  switch (p.style) {
    case "none": {
      yield (await fetchPage(path, base)).list;
      return;
    }
    case "offset": {
      for (let offset = 0;; offset += size) {
        const { list } = await fetchPage(path, {
          ...base,
          [p.limit_param]: size,
          [p.offset_param]: offset,
        });
        if (list.length) yield list;
        if (list.length < size || ctx.signal.aborted) return;
      }
    }
    case "page": {
      for (let page = p.first_page;; page++) {
        const { list } = await fetchPage(path, {
          ...base,
          [p.limit_param]: size,
          [p.page_param]: page,
        });
        if (list.length) yield list;
        if (list.length < size || ctx.signal.aborted) return;
      }
    }
    case "cursor": {
      let cursor: string | undefined;
      const seen = new Set<string>();
      for (;;) {
        const { res, list } = await fetchPage(path, {
          ...base,
          [p.limit_param]: size,
          ...(cursor ? { [p.cursor_param]: cursor } : {}),
        });
        if (list.length) yield list;
        const next = readOne(res.body, p.cursor_path);
        if (next === undefined || next === null || next === "" || list.length === 0) return;
        if (typeof next !== "string" && typeof next !== "number") {
          throw malformed(manifest, connection, res.status, p.cursor_path);
        }
        cursor = String(next);
        if (seen.has(cursor)) throw malformed(manifest, connection, res.status, p.cursor_path);
        seen.add(cursor);
        if (ctx.signal.aborted) return;
      }
    }
    case "link": {
      let target: string = path;
      let query: QueryParams | undefined = { ...base, [p.limit_param]: size };
      const seen = new Set<string>();
      for (;;) {
        const { res, list } = await fetchPage(target, query);
        if (list.length) yield list;
        const next = parseLinkHeader(res.headers.get("link")).next;
        if (!next || seen.has(next) || ctx.signal.aborted) return;
        seen.add(next);
        target = next;
        // The next link carries the query; only an API key in the query is added again.
        query = Object.keys(authQuery(manifest, connection)).length
          ? authQuery(manifest, connection)
          : undefined;
      }
    }
  }
}

function pathWith(path: string, query: Record<string, string>): string {
  const qs = new URLSearchParams(query).toString();
  return qs ? `${path}${path.includes("?") ? "&" : "?"}${qs}` : path;
}

function malformed(
  manifest: Manifest,
  connection: Connection,
  status: number,
  where: string,
): OmniError {
  return sourceError(
    manifest,
    connection,
    "SOURCE_ERROR",
    `malformed reply (HTTP ${status}): no valid ${where}`,
    { status },
  );
}
