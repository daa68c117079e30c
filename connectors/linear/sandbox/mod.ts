/**
 * A Linear workspace on localhost: a real GraphQL server (graphql-js, with a schema that is a
 * faithful subset of Linear's) answering `POST /graphql` over the demo world: `issues(filter:,
 * first:, after:, orderBy:)` with `IssueFilter` comparators and `and`/`or`, cursor pagination
 * through `pageInfo`, `Authorization: <api key>` (or `Bearer <oauth token>`), the request and
 * complexity rate-limit headers (reset in epoch ms), `RATELIMITED` errors as HTTP 400, and
 * injected faults.
 *
 * @module
 */
import { sandboxChanges } from "../../sandbox/webhooks.ts";
import { buildSchema, graphql, GraphQLError } from "graphql";
import { demoLinear, type DemoLinearIssue } from "../../demo/world.ts";
import { faultAnswer, FaultQueue, type SandboxFault, serveSandbox } from "../../sandbox/mod.ts";
import { sandboxHandle } from "../../sandbox/serve.ts";

/** Options of {@link startLinearSandbox}. */
export interface LinearSandboxOptions {
  /** Port; 0 picks a free one. @default 0 */
  port?: number;
  /** Demo organisation whose workspace this is: `acme` or `globex`. */
  org: string;
  /** Personal API keys accepted as `Authorization: <key>`. */
  apiKeys: string[];
  /** OAuth access tokens accepted as `Authorization: Bearer <token>`. @default [] */
  oauthTokens?: string[];
  /** The app's latency: no answer leaves sooner after its request arrived (`ServeOptions.latencyMs`). @default 0 */
  latencyMs?: number;
  /** Requests per hour per key. @default 1500 */
  requestsPerHour?: number;
  /** Complexity points per hour per key. @default 250000 */
  complexityPerHour?: number;
}

/** A fault the next matching requests get. */
export interface LinearSandboxFault extends SandboxFault {
  /** Only requests whose GraphQL query text matches. @default every request */
  query?: RegExp;
}

/** A recorded request. */
export interface LinearSandboxRequest {
  query: string;
  variables: Record<string, unknown>;
  authorization: string | null;
}

/** A running sandbox. */
export interface LinearSandbox {
  /** Base URL (the API is at `${url}/graphql`). */
  url: string;
  requests: LinearSandboxRequest[];
  inject(fault: LinearSandboxFault): void;
  /** Clears requests, faults and budgets. */
  reset(): void;
  close(): Promise<void>;
}

/** The schema: a subset of Linear's public schema, same names and types. */
export const LINEAR_SDL = `
scalar DateTime
scalar DateTimeOrDuration
enum PaginationOrderBy { createdAt updatedAt }
type Query {
  issues(filter: IssueFilter, first: Int, after: String, orderBy: PaginationOrderBy, includeArchived: Boolean): IssueConnection!
  issue(id: String!): Issue!
  viewer: User!
}
type PageInfo { hasNextPage: Boolean! hasPreviousPage: Boolean! startCursor: String endCursor: String }
type IssueConnection { nodes: [Issue!]! pageInfo: PageInfo! }
type WorkflowState { id: ID! name: String! type: String! }
type Team { id: ID! key: String! name: String! }
type User { id: ID! name: String! email: String! }
type Issue {
  id: ID! identifier: String! number: Float! title: String! description: String branchName: String!
  estimate: Float priority: Float! priorityLabel: String! url: String!
  createdAt: DateTime! updatedAt: DateTime! startedAt: DateTime completedAt: DateTime canceledAt: DateTime
  state: WorkflowState! team: Team! assignee: User
}
input IDComparator { eq: ID neq: ID in: [ID!] nin: [ID!] }
input StringComparator {
  eq: String neq: String in: [String!] nin: [String!] startsWith: String endsWith: String
  contains: String notContains: String eqIgnoreCase: String neqIgnoreCase: String
  startsWithIgnoreCase: String containsIgnoreCase: String
}
input NullableStringComparator {
  eq: String neq: String in: [String!] nin: [String!] startsWith: String endsWith: String
  contains: String notContains: String null: Boolean
}
input NumberComparator { eq: Float neq: Float in: [Float!] nin: [Float!] gt: Float gte: Float lt: Float lte: Float }
input NullableNumberComparator {
  eq: Float neq: Float in: [Float!] nin: [Float!] gt: Float gte: Float lt: Float lte: Float null: Boolean
}
input DateComparator {
  eq: DateTimeOrDuration neq: DateTimeOrDuration in: [DateTimeOrDuration!] nin: [DateTimeOrDuration!]
  gt: DateTimeOrDuration gte: DateTimeOrDuration lt: DateTimeOrDuration lte: DateTimeOrDuration
}
input NullableDateComparator {
  eq: DateTimeOrDuration neq: DateTimeOrDuration in: [DateTimeOrDuration!] nin: [DateTimeOrDuration!]
  gt: DateTimeOrDuration gte: DateTimeOrDuration lt: DateTimeOrDuration lte: DateTimeOrDuration null: Boolean
}
input WorkflowStateFilter { id: IDComparator name: StringComparator type: StringComparator and: [WorkflowStateFilter!] or: [WorkflowStateFilter!] }
input TeamFilter { id: IDComparator key: StringComparator name: StringComparator and: [TeamFilter!] or: [TeamFilter!] }
input NullableUserFilter { id: IDComparator name: StringComparator email: StringComparator null: Boolean and: [NullableUserFilter!] or: [NullableUserFilter!] }
input IssueFilter {
  id: IDComparator number: NumberComparator title: StringComparator description: NullableStringComparator
  estimate: NullableNumberComparator priority: NumberComparator
  createdAt: DateComparator updatedAt: DateComparator startedAt: NullableDateComparator
  completedAt: NullableDateComparator canceledAt: NullableDateComparator
  state: WorkflowStateFilter team: TeamFilter assignee: NullableUserFilter
  and: [IssueFilter!] or: [IssueFilter!]
}
`;

const schema = buildSchema(LINEAR_SDL);
const lower = (x: unknown) => String(x).toLowerCase();

/** Linear's comparators that hold of a present value `v` given the argument `a`. */
const MATCHES: Record<string, (v: unknown, a: unknown) => boolean> = {
  eq: (v, a) => v === a,
  in: (v, a) => (a as unknown[]).includes(v),
  gt: (v, a) => (v as number) > (a as number),
  gte: (v, a) => (v as number) >= (a as number),
  lt: (v, a) => (v as number) < (a as number),
  lte: (v, a) => (v as number) <= (a as number),
  startsWith: (v, a) => String(v).startsWith(String(a)),
  endsWith: (v, a) => String(v).endsWith(String(a)),
  contains: (v, a) => String(v).includes(String(a)),
  eqIgnoreCase: (v, a) => lower(v) === lower(a),
  startsWithIgnoreCase: (v, a) => lower(v).startsWith(lower(a)),
  containsIgnoreCase: (v, a) => lower(v).includes(lower(a)),
};

/** The negations: they hold of a null value, else when the comparator they negate does not. */
const NEGATES: Record<string, string> = {
  neq: "eq",
  nin: "in",
  notContains: "contains",
  neqIgnoreCase: "eqIgnoreCase",
};

const COMPARATORS = new Set(["null", ...Object.keys(MATCHES), ...Object.keys(NEGATES)]);
const DATE_FIELDS = new Set(["createdAt", "updatedAt", "startedAt", "completedAt", "canceledAt"]);

/**
 * Whether an issue (or nested object) matches a Linear filter; exported for tests.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { matchesLinearFilter } from "./mod.ts";
 * assert.ok(matchesLinearFilter({ team: { key: "web" } }, { team: { key: { in: ["web"] } } }));
 * ```
 */
export function matchesLinearFilter(obj: unknown, filter: Record<string, unknown>): boolean {
  const o = (obj ?? {}) as Record<string, unknown>;
  for (const [key, cond] of Object.entries(filter)) {
    if (cond === null || cond === undefined) continue;
    if (key === "and") {
      if (!(cond as Record<string, unknown>[]).every((f) => matchesLinearFilter(obj, f))) {
        return false;
      }
      continue;
    }
    if (key === "or") {
      if (!(cond as Record<string, unknown>[]).some((f) => matchesLinearFilter(obj, f))) {
        return false;
      }
      continue;
    }
    if (key === "null") {
      if ((obj === null) !== cond) return false;
      continue;
    }
    const value = o[key];
    const c = cond as Record<string, unknown>;
    const isComparator = Object.keys(c).every((k) => COMPARATORS.has(k));
    if (isComparator) {
      if (!compare(value, c, DATE_FIELDS.has(key))) return false;
    } else if (value === null || value === undefined) {
      // A relation that is not set matches only `{null: true}`.
      if (c.null !== true) return false;
    } else if (!matchesLinearFilter(value, c)) return false;
  }
  return true;
}

function compare(value: unknown, c: Record<string, unknown>, date: boolean): boolean {
  const norm = (v: unknown) =>
    date && typeof v === "string" ? Date.parse(v) : typeof v === "string" ? v : v;
  const v = norm(value);
  for (const [op, arg] of Object.entries(c)) {
    if (arg === null || arg === undefined) continue;
    const a = Array.isArray(arg) ? arg.map(norm) : norm(arg);
    const isNull = value === null || value === undefined;
    let ok: boolean;
    if (op === "null") ok = isNull === arg;
    else if (Object.hasOwn(NEGATES, op)) ok = isNull || !MATCHES[NEGATES[op]](v, a);
    else ok = !isNull && Object.hasOwn(MATCHES, op) && MATCHES[op](v, a);
    if (!ok) return false;
  }
  return true;
}

/** Rough query complexity, Linear-style: objects 1 point, fields 0.1, connections × `first`. */
function complexityOf(query: string, first: number): number {
  const objects = (query.match(/\{/g) ?? []).length;
  const fields = (query.match(/\b[a-zA-Z_]\w*\b/g) ?? []).length;
  return Math.ceil((objects + fields * 0.1) * Math.max(1, first));
}

function gqlError(message: string, code: string, extra: Record<string, unknown> = {}) {
  return { errors: [{ message, extensions: { code, ...extra } }] };
}

/**
 * Starts a Linear sandbox.
 *
 * @example
 * ```ts ignore
 * const linear = await startLinearSandbox({ org: "acme", apiKeys: ["lin_api_x"] });
 * await linear.close();
 * ```
 */
export function startLinearSandbox(options: LinearSandboxOptions): Promise<LinearSandbox> {
  const world = demoLinear(options.org);
  const issues = [...world.issues].sort((a, b) =>
    b.createdAt.localeCompare(a.createdAt) || a.id.localeCompare(b.id)
  );
  const keys = new Set(options.apiKeys);
  const oauth = new Set(options.oauthTokens ?? []);
  const requestLimit = options.requestsPerHour ?? 1500;
  const complexityLimit = options.complexityPerHour ?? 250_000;
  const requests: LinearSandboxRequest[] = [];
  const faults = new FaultQueue<LinearSandboxFault, string>((f, query) =>
    !f.query || f.query.test(query)
  );
  let budgets = new Map<string, { requests: number; complexity: number; resetAt: number }>();

  const rootValue = {
    issues: (args: {
      filter?: Record<string, unknown>;
      first?: number | null;
      after?: string | null;
      orderBy?: string;
    }) => {
      const first = args.first ?? 50;
      if (first < 0 || first > 250) {
        throw new GraphQLError("first must be between 0 and 250", {
          extensions: { code: "INVALID_INPUT", userError: true },
        });
      }
      let list: DemoLinearIssue[] = issues;
      if (args.orderBy === "updatedAt") {
        list = [...issues].sort((a, b) =>
          b.updatedAt.localeCompare(a.updatedAt) || a.id.localeCompare(b.id)
        );
      }
      if (args.filter) list = list.filter((i) => matchesLinearFilter(i, args.filter!));
      let start = 0;
      if (args.after) {
        const at = list.findIndex((i) => i.id === args.after);
        if (at < 0) {
          throw new GraphQLError("Invalid cursor", {
            extensions: { code: "INVALID_INPUT", userError: true },
          });
        }
        start = at + 1;
      }
      const nodes = list.slice(start, start + first);
      return {
        nodes,
        pageInfo: {
          hasNextPage: start + first < list.length,
          hasPreviousPage: start > 0,
          startCursor: nodes[0]?.id ?? null,
          endCursor: nodes.at(-1)?.id ?? null,
        },
      };
    },
    issue: ({ id }: { id: string }) => {
      const found = issues.find((i) => i.id === id || i.identifier === id);
      if (!found) {
        throw new GraphQLError("Entity not found: Issue", {
          extensions: { code: "ENTITY_NOT_FOUND" },
        });
      }
      return found;
    },
    viewer: () => ({ id: "bot", name: "OmniSQL bot", email: `bot@${options.org}.example` }),
  };

  const json = (status: number, body: unknown, headers: Record<string, string> = {}) =>
    new Response(typeof body === "string" ? body : JSON.stringify(body), {
      status,
      headers: { "content-type": "application/json; charset=utf-8", ...headers },
    });

  // Data changes send Linear's signed `Issue` webhooks (connectors/sandbox/webhooks.ts).
  const changes = sandboxChanges({
    style: "linear",
    collection: "issues",
    find: (id) => issues.find((i) => i.id === id || i.identifier === id),
    apply: (issue, change) => {
      const updatedFrom = {
        title: issue.title,
        estimate: issue.estimate,
        updatedAt: issue.updatedAt,
      };
      if (typeof change.title === "string") issue.title = change.title;
      if (typeof change.estimate === "number") issue.estimate = change.estimate;
      issue.updatedAt = new Date().toISOString();
      return {
        event: "Issue",
        payload: {
          action: "update",
          data: issue,
          updatedFrom,
          url: issue.url,
          organizationId: options.org,
        },
      };
    },
  });

  const handler = async (req: Request): Promise<Response> => {
    const url = new URL(req.url);
    if (url.pathname.startsWith("/_sandbox/")) {
      const changed = await changes(req.method, url.pathname, await req.json().catch(() => null));
      if (changed) return json(changed.status, changed.body);
    }
    if (url.pathname !== "/graphql") {
      return json(404, gqlError(`Cannot ${req.method} ${url.pathname}`, "NOT_FOUND"));
    }
    if (req.method !== "POST") {
      return json(405, gqlError("GraphQL only supports POST here", "BAD_REQUEST"));
    }
    let payload: { query?: unknown; variables?: unknown; operationName?: unknown };
    try {
      payload = await req.json();
    } catch {
      return json(
        400,
        gqlError(
          "POST body missing, invalid Content-Type, or JSON object has no keys.",
          "BAD_USER_INPUT",
        ),
      );
    }
    const query = typeof payload?.query === "string" ? payload.query : "";
    const variables = (payload?.variables ?? {}) as Record<string, unknown>;
    const authorization = req.headers.get("authorization");
    requests.push({ query, variables, authorization });

    const faulted = await faultAnswer(faults.take(query), {
      errorBody: (status) =>
        gqlError(
          `Injected fault (HTTP ${status})`,
          status === 401
            ? "AUTHENTICATION_ERROR"
            : status === 403
            ? "FORBIDDEN"
            : status === 429
            ? "RATELIMITED"
            : "INTERNAL_SERVER_ERROR",
        ),
    });
    if (faulted) return faulted;

    const key = authorization?.startsWith("Bearer ")
      ? (oauth.has(authorization.slice(7)) ? authorization : null)
      : authorization && keys.has(authorization)
      ? authorization
      : null;
    if (!key) {
      return json(
        401,
        gqlError("Authentication required, not authenticated", "AUTHENTICATION_ERROR", {
          type: "authentication error",
          userPresentableMessage: "You need to authenticate to access this operation.",
        }),
      );
    }

    const now = Date.now();
    let budget = budgets.get(key);
    if (!budget || budget.resetAt <= now) {
      budget = { requests: 0, complexity: 0, resetAt: now + 3_600_000 };
      budgets.set(key, budget);
    }
    const first = typeof variables.first === "number" ? variables.first : 50;
    const complexity = complexityOf(query, first);
    const rateHeaders = () => ({
      "x-ratelimit-requests-limit": String(requestLimit),
      "x-ratelimit-requests-remaining": String(Math.max(0, requestLimit - budget!.requests)),
      "x-ratelimit-requests-reset": String(budget!.resetAt),
      "x-ratelimit-complexity-limit": String(complexityLimit),
      "x-ratelimit-complexity-remaining": String(
        Math.max(0, complexityLimit - budget!.complexity),
      ),
      "x-ratelimit-complexity-reset": String(budget!.resetAt),
      "x-complexity": String(complexity),
    });
    if (budget.requests >= requestLimit || budget.complexity + complexity > complexityLimit) {
      return json(
        400,
        gqlError("Rate limit exceeded", "RATELIMITED", {
          type: "ratelimited",
          userPresentableMessage: "Too many requests. Please try again later.",
        }),
        rateHeaders(),
      );
    }
    budget.requests++;
    budget.complexity += complexity;

    const result = await graphql({
      schema,
      source: query,
      rootValue,
      variableValues: variables,
      operationName: typeof payload.operationName === "string" ? payload.operationName : undefined,
    });
    if (result.errors?.length) {
      // Validation and input errors: HTTP 400 with GraphQL's error list, as Linear answers.
      const errors = result.errors.map((e) => ({
        message: e.message,
        ...(e.locations ? { locations: e.locations } : {}),
        extensions: { code: "GRAPHQL_VALIDATION_FAILED", ...e.extensions },
      }));
      return json(result.data ? 200 : 400, { errors, data: result.data ?? null }, rateHeaders());
    }
    return json(200, { data: result.data }, rateHeaders());
  };

  const server = serveSandbox(handler, { port: options.port, latencyMs: options.latencyMs });
  return Promise.resolve(
    sandboxHandle(server, requests, faults, () => {
      budgets = new Map();
    }),
  );
}
