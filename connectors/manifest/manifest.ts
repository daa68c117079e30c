/**
 * The manifest format of declarative connectors, and its loader. A manifest (YAML or JSON)
 * describes an app's API — GraphQL or REST, auth, pagination, rate-limit headers, error bodies —
 * and its tables: columns mapped by JSON path and the filters the API can express. The loader
 * validates every field and fails loudly with the path of the first bad one.
 *
 * @module
 */
import { parse as parseYaml } from "yaml";
import type { ColumnType } from "../sdk/mod.ts";

/** A validation failure, with the path of the bad field (e.g. `tables[0].columns[2].type`). */
export class ManifestError extends Error {
  /** Path of the offending field. */
  readonly path: string;
  constructor(path: string, message: string, source?: string) {
    super(`${source ? `${source}: ` : ""}manifest field ${path || "(root)"}: ${message}`);
    this.name = "ManifestError";
    this.path = path;
  }
}

/** How a request is authenticated; a manifest lists several, the first usable one applies. */
export type AuthSpec =
  /** A raw header whose value is a credential, optionally with a prefix (`Authorization: <key>`). */
  | { style: "header"; header: string; credential: string; prefix?: string }
  /** `Authorization: Bearer <credential>`. */
  | { style: "bearer"; credential: string }
  /** An API key in a named header (`X-Api-Key: <key>`). */
  | { style: "api_key_header"; header: string; credential: string }
  /** An API key as a query parameter (`?api_key=<key>`). */
  | { style: "api_key_query"; param: string; credential: string }
  /**
   * OAuth 2.0: an access token from the app's token endpoint (`token_url`, absolute or relative
   * to the connection's base URL), sent as `Authorization: Bearer`. `credential` names the client
   * id; the refresh-token grant is used when the connection holds `refresh_token`, else client
   * credentials with `client_secret`. Tokens are cached per connection until they expire.
   */
  | {
    style: "oauth2";
    credential: string;
    token_url: string;
    client_secret: string;
    refresh_token: string;
    scope?: string;
  };

/** One group of rate-limit headers (a request budget, a complexity budget…). */
export interface RateLimitBucket {
  limit?: string;
  remaining?: string;
  reset?: string;
}

/** How the app's rate-limit headers read. */
export interface RateLimitSpec {
  buckets: RateLimitBucket[];
  /** Unit of the reset headers. @default "epoch_s" */
  reset_unit: "epoch_s" | "epoch_ms" | "seconds" | "iso";
  /** Read `Retry-After`. @default true */
  retry_after: boolean;
}

/** How the app's error bodies read. */
export interface ErrorSpec {
  /** JSON paths of messages (`errors[].message`). */
  messages: string[];
  /** JSON paths of error codes (`errors[].extensions.code`). */
  codes: string[];
  /** Codes that mean the budget is spent, whatever the HTTP status. */
  rate_limited: string[];
}

/** A filter a GraphQL API accepts on a column: the filter field path and its comparators. */
export interface GraphqlFilterSpec {
  /** Path inside the filter object, e.g. `team.key` → `{team: {key: {eq: …}}}`. */
  field: string;
  /** Comparators the API has for it: eq neq in nin gt gte lt lte null startsWith endsWith contains. */
  ops: GraphqlComparator[];
}

/** Comparators of GraphQL filter inputs (Linear's names). */
export type GraphqlComparator =
  | "eq"
  | "neq"
  | "in"
  | "nin"
  | "gt"
  | "gte"
  | "lt"
  | "lte"
  | "null"
  | "startsWith"
  | "endsWith"
  | "contains";

/** One column: name, type, where it is in a record, and how the API filters it. */
export interface ColumnSpec {
  name: string;
  type: ColumnType;
  description: string;
  /** JSON path inside a record, e.g. `state.name`. */
  path: string;
  /** How a numeric timestamp reads. @default "iso" */
  format?: "iso" | "epoch_s" | "epoch_ms";
  /** GraphQL only: the filter field and comparators. */
  filter?: GraphqlFilterSpec;
}

/** GraphQL request of a table: a root connection field paginated with `first`/`after`. */
export interface GraphqlTableSpec {
  /** Root query field, e.g. `issues`. */
  field: string;
  /** GraphQL input type of its `filter` argument, e.g. `IssueFilter`. */
  filter_type: string;
  /** Literal enum arguments, e.g. `{orderBy: createdAt}`. @default {} */
  args: Record<string, string>;
  /** `first`. @default 50 */
  page_size: number;
  /** Largest `first` the API takes. @default 250 */
  max_page_size: number;
  /**
   * A column whose `IN (…)` list splits a scan into independent cursor chains, one per value
   * (e.g. Linear's `team`), fetched in parallel within the connection's page budget. @default none
   */
  partition?: string;
}

/** A REST query parameter a predicate maps to. */
export interface RestFilterSpec {
  column: string;
  op: "=" | "!=" | "<" | "<=" | ">" | ">=" | "in";
  param: string;
  /** `in`: values joined with this separator, or the parameter repeated. @default "," */
  join: string | "repeat";
  /** False when the API applies it loosely (a superset DuckDB narrows). @default true */
  exact: boolean;
}

/** REST request of a table. */
export interface RestTableSpec {
  /** Path (templated with `{config.x}`), relative to the connection's base URL. */
  path: string;
  /** Static query parameters (templated). @default {} */
  query: Record<string, string>;
  /** JSON path of the record list in the answer; `.` for the body itself. */
  records: string;
  filters: RestFilterSpec[];
}

/** Pagination of a REST table. */
export type PaginationSpec =
  | { style: "none" }
  | { style: "offset"; limit_param: string; offset_param: string; page_size: number }
  | {
    style: "page";
    limit_param: string;
    page_param: string;
    page_size: number;
    first_page: number;
  }
  | {
    style: "cursor";
    limit_param: string;
    cursor_param: string;
    /** JSON path of the next cursor in the answer; absent or empty: last page. */
    cursor_path: string;
    page_size: number;
  }
  | { style: "link"; limit_param: string; page_size: number };

/** One table. */
export interface TableSpec {
  name: string;
  description: string;
  columns: ColumnSpec[];
  graphql?: GraphqlTableSpec;
  request?: RestTableSpec;
  pagination: PaginationSpec;
}

/** A validated manifest. */
export interface Manifest {
  id: string;
  /** Manifest version: bump it with the tables' shape. */
  version: number;
  description: string;
  api: {
    style: "graphql" | "rest"; /** GraphQL endpoint path. @default "/graphql" */
    path: string;
  };
  auth: AuthSpec[];
  rate_limit: RateLimitSpec;
  errors: ErrorSpec;
  tables: TableSpec[];
}

const AUTH_STYLES = ["header", "bearer", "api_key_header", "api_key_query", "oauth2"] as const;
const PAGINATION_STYLES = ["none", "offset", "page", "cursor", "link"] as const;
const COLUMN_TYPES = ["text", "integer", "double", "boolean", "timestamp", "json"] as const;
const COMPARATORS = [
  "eq",
  "neq",
  "in",
  "nin",
  "gt",
  "gte",
  "lt",
  "lte",
  "null",
  "startsWith",
  "endsWith",
  "contains",
] as const;
const NAME_RE = /^[a-z_][a-z0-9_]*$/;
const GRAPHQL_NAME_RE = /^[_A-Za-z][_0-9A-Za-z]*$/;
const PATH_RE = /^(\.|[A-Za-z_$][\w$-]*(\[\])?(\.[A-Za-z_$][\w$-]*(\[\])?)*)$/;
const HEADER_RE = /^[A-Za-z0-9-]+$/;

/**
 * Loads a manifest from YAML (or JSON) text and validates it.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { loadManifest } from "./manifest.ts";
 * try {
 *   loadManifest("id: x\nversion: 1\ndescription: d\napi: {style: soap}\ntables: []", "x.yaml");
 * } catch (err) {
 *   assert.ok((err as { path: string }).path === "api.style");
 * }
 * ```
 */
export function loadManifest(text: string, source?: string): Manifest {
  let raw: unknown;
  try {
    raw = parseYaml(text);
  } catch (err) {
    throw new ManifestError("", `not valid YAML: ${(err as Error).message}`, source);
  }
  return validateManifest(raw, source);
}

/**
 * Validates a parsed manifest object, filling documented defaults.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { validateManifest } from "./manifest.ts";
 * const m = validateManifest({ id: "x", version: 1, description: "d", api: { style: "rest" },
 *   tables: [] });
 * assert.ok(m.rate_limit.reset_unit === "epoch_s");
 * ```
 */
export function validateManifest(raw: unknown, source?: string): Manifest {
  const v = new Validator(source);
  const root = v.object(raw, "");
  v.onlyKeys(root, "", [
    "id",
    "version",
    "description",
    "api",
    "auth",
    "rate_limit",
    "errors",
    "tables",
  ]);
  const id = v.string(root.id, "id", NAME_RE);
  const version = v.integer(root.version, "version", 1);
  const description = v.string(root.description, "description");
  const apiRaw = v.object(root.api, "api");
  v.onlyKeys(apiRaw, "api", ["style", "path"]);
  const style = v.oneOf(apiRaw.style, "api.style", ["graphql", "rest"] as const);
  const api = {
    style,
    path: apiRaw.path === undefined ? "/graphql" : v.string(apiRaw.path, "api.path"),
  };
  const auth = v.array(root.auth ?? [], "auth").map((a, i) => v.auth(a, `auth[${i}]`));
  const rlRaw = v.object(root.rate_limit ?? {}, "rate_limit");
  v.onlyKeys(rlRaw, "rate_limit", ["buckets", "reset_unit", "retry_after"]);
  const rate_limit: RateLimitSpec = {
    buckets: v.array(rlRaw.buckets ?? [], "rate_limit.buckets").map((b, i) => {
      const p = `rate_limit.buckets[${i}]`;
      const o = v.object(b, p);
      v.onlyKeys(o, p, ["limit", "remaining", "reset"]);
      const h = (k: string) =>
        o[k] === undefined ? undefined : v.string(o[k], `${p}.${k}`, HEADER_RE).toLowerCase();
      return { limit: h("limit"), remaining: h("remaining"), reset: h("reset") };
    }),
    reset_unit: rlRaw.reset_unit === undefined ? "epoch_s" : v.oneOf(
      rlRaw.reset_unit,
      "rate_limit.reset_unit",
      [
        "epoch_s",
        "epoch_ms",
        "seconds",
        "iso",
      ] as const,
    ),
    retry_after: rlRaw.retry_after === undefined
      ? true
      : v.boolean(rlRaw.retry_after, "rate_limit.retry_after"),
  };
  const errRaw = v.object(root.errors ?? {}, "errors");
  v.onlyKeys(errRaw, "errors", ["messages", "codes", "rate_limited"]);
  const paths = (x: unknown, p: string) =>
    v.array(x ?? [], p).map((s, i) => v.string(s, `${p}[${i}]`, PATH_RE));
  const errors: ErrorSpec = {
    messages: paths(errRaw.messages ?? ["message"], "errors.messages"),
    codes: paths(errRaw.codes, "errors.codes"),
    rate_limited: v.array(errRaw.rate_limited ?? [], "errors.rate_limited").map((s, i) =>
      v.string(s, `errors.rate_limited[${i}]`)
    ),
  };
  const tables = v.array(root.tables, "tables").map((t, i) => v.table(t, `tables[${i}]`, style));
  const names = new Set<string>();
  tables.forEach((t, i) => {
    if (names.has(t.name)) throw v.fail(`tables[${i}].name`, `duplicate table ${t.name}`);
    names.add(t.name);
  });
  return { id, version, description, api, auth, rate_limit, errors, tables };
}

type Obj = Record<string, unknown>;

class Validator {
  constructor(readonly source?: string) {}

  fail(path: string, message: string): ManifestError {
    return new ManifestError(path, message, this.source);
  }

  object(x: unknown, path: string): Obj {
    if (typeof x !== "object" || x === null || Array.isArray(x)) {
      throw this.fail(path, "must be a mapping");
    }
    return x as Obj;
  }

  array(x: unknown, path: string): unknown[] {
    if (!Array.isArray(x)) throw this.fail(path, "must be a list");
    return x;
  }

  string(x: unknown, path: string, re?: RegExp): string {
    if (typeof x !== "string" || x === "") throw this.fail(path, "must be a non-empty string");
    if (re && !re.test(x)) throw this.fail(path, `${JSON.stringify(x)} does not match ${re}`);
    return x;
  }

  integer(x: unknown, path: string, min: number): number {
    if (typeof x !== "number" || !Number.isInteger(x) || x < min) {
      throw this.fail(path, `must be an integer ≥ ${min}`);
    }
    return x;
  }

  boolean(x: unknown, path: string): boolean {
    if (typeof x !== "boolean") throw this.fail(path, "must be true or false");
    return x;
  }

  oneOf<T extends string>(x: unknown, path: string, values: readonly T[]): T {
    if (typeof x !== "string" || !values.includes(x as T)) {
      throw this.fail(path, `must be one of ${values.join(", ")} (got ${JSON.stringify(x)})`);
    }
    return x as T;
  }

  onlyKeys(o: Obj, path: string, keys: string[]): void {
    for (const k of Object.keys(o)) {
      if (!keys.includes(k)) {
        throw this.fail(path ? `${path}.${k}` : k, `unknown field (expected ${keys.join(", ")})`);
      }
    }
  }

  auth(x: unknown, p: string): AuthSpec {
    const o = this.object(x, p);
    const style = this.oneOf(o.style, `${p}.style`, AUTH_STYLES);
    const credential = this.string(o.credential, `${p}.credential`);
    switch (style) {
      case "header":
        this.onlyKeys(o, p, ["style", "credential", "header", "prefix"]);
        return {
          style,
          credential,
          header: this.string(o.header, `${p}.header`, HEADER_RE),
          ...(o.prefix !== undefined ? { prefix: this.string(o.prefix, `${p}.prefix`) } : {}),
        };
      case "bearer":
        this.onlyKeys(o, p, ["style", "credential"]);
        return { style, credential };
      case "api_key_header":
        this.onlyKeys(o, p, ["style", "credential", "header"]);
        return { style, credential, header: this.string(o.header, `${p}.header`, HEADER_RE) };
      case "api_key_query":
        this.onlyKeys(o, p, ["style", "credential", "param"]);
        return { style, credential, param: this.string(o.param, `${p}.param`) };
      case "oauth2":
        this.onlyKeys(o, p, [
          "style",
          "credential",
          "token_url",
          "client_secret",
          "refresh_token",
          "scope",
        ]);
        return {
          style,
          credential,
          token_url: this.string(o.token_url, `${p}.token_url`),
          client_secret: this.string(o.client_secret ?? "clientSecret", `${p}.client_secret`),
          refresh_token: this.string(o.refresh_token ?? "refreshToken", `${p}.refresh_token`),
          ...(o.scope !== undefined ? { scope: this.string(o.scope, `${p}.scope`) } : {}),
        };
    }
  }

  table(x: unknown, p: string, api: "graphql" | "rest"): TableSpec {
    const o = this.object(x, p);
    this.onlyKeys(o, p, ["name", "description", "columns", "graphql", "request", "pagination"]);
    const name = this.string(o.name, `${p}.name`, NAME_RE);
    const description = this.string(o.description, `${p}.description`);
    const columns = this.array(o.columns, `${p}.columns`).map((c, i) =>
      this.column(c, `${p}.columns[${i}]`, api)
    );
    if (columns.length === 0) throw this.fail(`${p}.columns`, "a table needs columns");
    const seen = new Set<string>();
    columns.forEach((c, i) => {
      if (seen.has(c.name)) throw this.fail(`${p}.columns[${i}].name`, `duplicate ${c.name}`);
      seen.add(c.name);
    });
    if (api === "graphql") {
      if (o.request !== undefined) throw this.fail(`${p}.request`, "a GraphQL table has none");
      const g = this.object(o.graphql, `${p}.graphql`);
      this.onlyKeys(g, `${p}.graphql`, [
        "field",
        "filter_type",
        "args",
        "page_size",
        "max_page_size",
        "partition",
      ]);
      const argsRaw = this.object(g.args ?? {}, `${p}.graphql.args`);
      const args: Record<string, string> = {};
      for (const [k, val] of Object.entries(argsRaw)) {
        if (!GRAPHQL_NAME_RE.test(k)) throw this.fail(`${p}.graphql.args.${k}`, "bad name");
        args[k] = this.string(val, `${p}.graphql.args.${k}`, GRAPHQL_NAME_RE);
      }
      const max = g.max_page_size === undefined
        ? 250
        : this.integer(g.max_page_size, `${p}.graphql.max_page_size`, 1);
      const graphql: GraphqlTableSpec = {
        field: this.string(g.field, `${p}.graphql.field`, GRAPHQL_NAME_RE),
        filter_type: this.string(g.filter_type, `${p}.graphql.filter_type`, GRAPHQL_NAME_RE),
        args,
        page_size: g.page_size === undefined
          ? Math.min(50, max)
          : this.integer(g.page_size, `${p}.graphql.page_size`, 1),
        max_page_size: max,
        ...(g.partition !== undefined
          ? { partition: this.string(g.partition, `${p}.graphql.partition`) }
          : {}),
      };
      if (graphql.partition && !columns.some((c) => c.name === graphql.partition)) {
        throw this.fail(`${p}.graphql.partition`, "names no column of the table");
      }
      if (graphql.page_size > max) {
        throw this.fail(`${p}.graphql.page_size`, `must be ≤ max_page_size (${max})`);
      }
      return { name, description, columns, graphql, pagination: { style: "none" } };
    }
    if (o.graphql !== undefined) throw this.fail(`${p}.graphql`, "a REST table has none");
    const r = this.object(o.request, `${p}.request`);
    this.onlyKeys(r, `${p}.request`, ["path", "query", "records", "filters"]);
    const queryRaw = this.object(r.query ?? {}, `${p}.request.query`);
    const query: Record<string, string> = {};
    for (const [k, val] of Object.entries(queryRaw)) {
      query[k] = typeof val === "number" || typeof val === "boolean"
        ? String(val)
        : this.string(val, `${p}.request.query.${k}`);
    }
    const filters = this.array(r.filters ?? [], `${p}.request.filters`).map((f, i) => {
      const fp = `${p}.request.filters[${i}]`;
      const fo = this.object(f, fp);
      this.onlyKeys(fo, fp, ["column", "op", "param", "join", "exact"]);
      const column = this.string(fo.column, `${fp}.column`);
      if (!seen.has(column)) throw this.fail(`${fp}.column`, `no column ${column}`);
      return {
        column,
        op: this.oneOf(fo.op, `${fp}.op`, ["=", "!=", "<", "<=", ">", ">=", "in"] as const),
        param: this.string(fo.param, `${fp}.param`),
        join: fo.join === undefined ? "," : this.string(fo.join, `${fp}.join`),
        exact: fo.exact === undefined ? true : this.boolean(fo.exact, `${fp}.exact`),
      };
    });
    const request: RestTableSpec = {
      path: this.string(r.path, `${p}.request.path`),
      query,
      records: this.string(r.records ?? ".", `${p}.request.records`, PATH_RE),
      filters,
    };
    return { name, description, columns, request, pagination: this.pagination(o.pagination, p) };
  }

  pagination(x: unknown, p: string): PaginationSpec {
    const path = `${p}.pagination`;
    if (x === undefined) return { style: "none" };
    const o = this.object(x, path);
    const style = this.oneOf(o.style, `${path}.style`, PAGINATION_STYLES);
    if (style === "none") return { style };
    const size = o.page_size === undefined ? 50 : this.integer(o.page_size, `${path}.page_size`, 1);
    const str = (k: string, d: string) =>
      o[k] === undefined ? d : this.string(o[k], `${path}.${k}`);
    switch (style) {
      case "offset":
        this.onlyKeys(o, path, ["style", "page_size", "limit_param", "offset_param"]);
        return {
          style,
          page_size: size,
          limit_param: str("limit_param", "limit"),
          offset_param: str("offset_param", "offset"),
        };
      case "page":
        this.onlyKeys(o, path, ["style", "page_size", "limit_param", "page_param", "first_page"]);
        return {
          style,
          page_size: size,
          limit_param: str("limit_param", "per_page"),
          page_param: str("page_param", "page"),
          first_page: o.first_page === undefined
            ? 1
            : this.integer(o.first_page, `${path}.first_page`, 0),
        };
      case "cursor":
        this.onlyKeys(o, path, [
          "style",
          "page_size",
          "limit_param",
          "cursor_param",
          "cursor_path",
        ]);
        return {
          style,
          page_size: size,
          limit_param: str("limit_param", "limit"),
          cursor_param: str("cursor_param", "cursor"),
          cursor_path: this.string(o.cursor_path, `${path}.cursor_path`, PATH_RE),
        };
      case "link":
        this.onlyKeys(o, path, ["style", "page_size", "limit_param"]);
        return { style, page_size: size, limit_param: str("limit_param", "per_page") };
    }
  }

  column(x: unknown, p: string, api: "graphql" | "rest"): ColumnSpec {
    const o = this.object(x, p);
    this.onlyKeys(o, p, ["name", "type", "description", "path", "format", "filter"]);
    const col: ColumnSpec = {
      name: this.string(o.name, `${p}.name`, NAME_RE),
      type: this.oneOf(o.type, `${p}.type`, COLUMN_TYPES),
      description: this.string(o.description, `${p}.description`),
      path: this.string(o.path, `${p}.path`, PATH_RE),
    };
    if (o.format !== undefined) {
      col.format = this.oneOf(o.format, `${p}.format`, ["iso", "epoch_s", "epoch_ms"] as const);
    }
    if (o.filter !== undefined) {
      if (api !== "graphql") {
        throw this.fail(`${p}.filter`, "REST filters go under request.filters");
      }
      const f = this.object(o.filter, `${p}.filter`);
      this.onlyKeys(f, `${p}.filter`, ["field", "ops"]);
      const field = this.string(f.field, `${p}.filter.field`);
      field.split(".").forEach((part) => {
        if (!GRAPHQL_NAME_RE.test(part)) throw this.fail(`${p}.filter.field`, "bad field path");
      });
      col.filter = {
        field,
        ops: this.array(f.ops, `${p}.filter.ops`).map((op, i) =>
          this.oneOf(op, `${p}.filter.ops[${i}]`, COMPARATORS)
        ),
      };
    }
    if (api === "graphql") {
      col.path.split(".").forEach((part) => {
        if (!GRAPHQL_NAME_RE.test(part)) {
          throw this.fail(`${p}.path`, "a GraphQL path is field names joined by dots");
        }
      });
    }
    return col;
  }
}
