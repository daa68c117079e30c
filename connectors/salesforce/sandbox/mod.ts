/**
 * A Salesforce org on localhost: a real HTTP server speaking the parts of the REST API the
 * connector uses — `POST /services/oauth2/token` (client credentials and refresh token),
 * `GET /services/data/vNN.0/query?q=SOQL` with a SOQL subset evaluated over the demo world,
 * `nextRecordsUrl` batches, `Sforce-Limit-Info`, error arrays, access tokens that expire (so the
 * `INVALID_SESSION_ID` refresh is exercised) and injected faults.
 *
 * @module
 */
import { demoSalesforce } from "../../demo/world.ts";
import { faultAnswer, FaultQueue, type SandboxFault, serveSandbox } from "../../sandbox/mod.ts";
import {
  fieldValue,
  matches,
  type ObjectSchema,
  parseSoql,
  SoqlError,
  sortRecords,
} from "./_soql_eval.ts";

/** Options of {@link startSalesforceSandbox}. */
export interface SalesforceSandboxOptions {
  /** @default 0 */
  port?: number;
  /** Demo organisation: `acme` or `globex`. */
  org: string;
  /** The connected app's consumer key and secret. */
  clientId: string;
  clientSecret: string;
  /** Refresh tokens the org accepts. @default [] */
  refreshTokens?: string[];
  /** Access token lifetime. @default 7_200_000 (two hours) */
  sessionTtlMs?: number;
  /** Largest batch answered, whatever the client asks. @default 2000 */
  maxBatchSize?: number;
  /** API requests per rolling 24 h. @default 100000 */
  dailyApiLimit?: number;
  /** The app's latency: no answer leaves sooner after its request arrived (`ServeOptions.latencyMs`). @default 0 */
  latencyMs?: number;
}

/** A fault the next matching requests get. */
export interface SalesforceSandboxFault extends SandboxFault {
  /** Only requests whose path (with query) matches. @default every API request (not tokens) */
  path?: RegExp;
}

/** A recorded API request (token requests are counted apart). */
export interface SalesforceSandboxRequest {
  method: string;
  path: string;
  /** The SOQL, for a query. */
  soql?: string;
}

/** A running sandbox. */
export interface SalesforceSandbox {
  url: string;
  requests: SalesforceSandboxRequest[];
  /** Token requests received. */
  tokenRequests: number;
  inject(fault: SalesforceSandboxFault): void;
  /** Invalidates every access token issued so far. */
  expireSessions(): void;
  /** Clears requests, faults, usage and sessions. */
  reset(): void;
  close(): Promise<void>;
}

/** The objects the sandbox serves. */
export const SANDBOX_SCHEMA: Record<string, ObjectSchema> = {
  User: {
    fields: { Id: "id", Name: "string", Email: "string", Department: "string" },
    relations: {},
  },
  Account: {
    fields: {
      Id: "id",
      Name: "string",
      Industry: "string",
      AnnualRevenue: "number",
      Type: "string",
      OwnerId: "id",
      CreatedDate: "datetime",
    },
    relations: { Owner: "User" },
  },
  Opportunity: {
    fields: {
      Id: "id",
      AccountId: "id",
      Name: "string",
      Amount: "number",
      StageName: "string",
      CloseDate: "date",
      IsClosed: "boolean",
      IsWon: "boolean",
      Probability: "number",
      OwnerId: "id",
      CreatedDate: "datetime",
      Jira_Issue_Key__c: "string",
    },
    relations: { Owner: "User", Account: "Account" },
  },
};

const sfError = (message: string, errorCode: string) => [{ message, errorCode }];

/**
 * Starts a Salesforce sandbox.
 *
 * @example
 * ```ts ignore
 * const sf = await startSalesforceSandbox({ org: "acme", clientId: "id", clientSecret: "s" });
 * await sf.close();
 * ```
 */
export function startSalesforceSandbox(
  options: SalesforceSandboxOptions,
): Promise<SalesforceSandbox> {
  const world = demoSalesforce(options.org);
  const users = new Map(world.users.map((u) => [u.Id, u]));
  const accounts = new Map(world.accounts.map((a) => [a.Id, a]));
  const ownerOf = (id: string) => {
    const u = users.get(id);
    return u ? { ...u } : null;
  };
  const records: Record<string, Record<string, unknown>[]> = {
    User: world.users.map((u) => ({ ...u })),
    Account: world.accounts.map((a) => ({ ...a, Owner: ownerOf(a.OwnerId) })),
    Opportunity: world.opportunities.map((o) => ({
      ...o,
      Owner: ownerOf(o.OwnerId),
      Account: accounts.has(o.AccountId)
        ? { ...accounts.get(o.AccountId), Owner: ownerOf(accounts.get(o.AccountId)!.OwnerId) }
        : null,
    })),
  };
  const ttl = options.sessionTtlMs ?? 7_200_000;
  const maxBatch = options.maxBatchSize ?? 2000;
  const dailyLimit = options.dailyApiLimit ?? 100_000;
  const refreshTokens = new Set(options.refreshTokens ?? []);
  let sessions = new Map<string, number>();
  let cursors = new Map<
    string,
    { rows: Record<string, unknown>[]; fields: string[]; object: string }
  >();
  const faults = new FaultQueue<SalesforceSandboxFault, string>((f, path) =>
    !f.path || f.path.test(path)
  );
  let used = 0;
  let seq = 0;
  let url = "";
  const state = {
    requests: [] as SalesforceSandboxRequest[],
    tokenRequests: 0,
  };

  const json = (status: number, body: unknown, headers: Record<string, string> = {}) =>
    new Response(typeof body === "string" ? body : JSON.stringify(body), {
      status,
      headers: { "content-type": "application/json;charset=UTF-8", ...headers },
    });
  const limitInfo = () => ({ "sforce-limit-info": `api-usage=${used}/${dailyLimit}` });

  const token = async (req: Request): Promise<Response> => {
    state.tokenRequests++;
    const form = new URLSearchParams(await req.text());
    const grant = form.get("grant_type");
    const clientId = form.get("client_id");
    const secret = form.get("client_secret");
    if (clientId !== options.clientId) {
      return json(400, {
        error: "invalid_client_id",
        error_description: "client identifier invalid",
      });
    }
    if (grant === "client_credentials") {
      if (secret !== options.clientSecret) {
        return json(400, {
          error: "invalid_client",
          error_description: "invalid client credentials",
        });
      }
    } else if (grant === "refresh_token") {
      if (secret !== null && secret !== options.clientSecret) {
        return json(400, {
          error: "invalid_client",
          error_description: "invalid client credentials",
        });
      }
      if (!refreshTokens.has(form.get("refresh_token") ?? "")) {
        return json(400, {
          error: "invalid_grant",
          error_description: "expired access/refresh token",
        });
      }
    } else {
      return json(400, {
        error: "unsupported_grant_type",
        error_description: "grant type not supported",
      });
    }
    const access = `00D${options.org === "acme" ? "Dn" : "Gx"}000000001!AQ${
      crypto.randomUUID().replaceAll("-", "")
    }`;
    sessions.set(access, Date.now() + ttl);
    const issuedAt = String(Date.now());
    return json(200, {
      access_token: access,
      instance_url: url,
      id: `${url}/id/00D000000000001AAA/005000000000001AAA`,
      token_type: "Bearer",
      issued_at: issuedAt,
      signature: btoa(`${issuedAt}:${access.slice(-8)}`),
      scope: "api",
    });
  };

  const page = (
    locator: string,
    rows: Record<string, unknown>[],
    fields: string[],
    object: string,
    start: number,
    batch: number,
    version: string,
  ) => {
    const slice = rows.slice(start, start + batch);
    const done = start + batch >= rows.length;
    if (!done) cursors.set(locator, { rows, fields, object });
    const body: Record<string, unknown> = {
      totalSize: rows.length,
      done,
      records: slice.map((r) => project(r, fields, object, version)),
    };
    if (!done) body.nextRecordsUrl = `/services/data/v${version}/query/${locator}-${start + batch}`;
    return body;
  };

  const project = (
    r: Record<string, unknown>,
    fields: string[],
    object: string,
    version: string,
  ): Record<string, unknown> => {
    const out: Record<string, unknown> = {
      attributes: { type: object, url: `/services/data/v${version}/sobjects/${object}/${r.Id}` },
    };
    for (const f of fields) {
      const parts = f.split(".");
      if (parts.length === 1) {
        const key = Object.keys(r).find((k) => k.toLowerCase() === f.toLowerCase()) ?? f;
        out[key] = fieldValue(r, f);
        continue;
      }
      // Relationship fields nest: {Owner: {attributes, Email}}; null when the lookup is empty.
      const rel = Object.keys(r).find((k) => k.toLowerCase() === parts[0].toLowerCase()) ??
        parts[0];
      const target = r[rel] as Record<string, unknown> | null;
      if (!target) {
        out[rel] = null;
        continue;
      }
      const relObject = SANDBOX_SCHEMA[object].relations[rel];
      const existing = (out[rel] ?? undefined) as Record<string, unknown> | undefined;
      const nested = project(target, [parts.slice(1).join(".")], relObject, version);
      out[rel] = existing ? { ...existing, ...nested } : nested;
    }
    return out;
  };

  const handler = async (req: Request): Promise<Response> => {
    const u = new URL(req.url);
    const path = u.pathname + u.search;
    if (u.pathname === "/services/oauth2/token") {
      if (req.method !== "POST") {
        return json(405, sfError("Method not allowed", "METHOD_NOT_ALLOWED"));
      }
      return await token(req);
    }
    const soql = u.searchParams.get("q") ?? undefined;
    state.requests.push({ method: req.method, path, ...(soql !== undefined ? { soql } : {}) });
    const faulted = await faultAnswer(faults.take(path), {
      headers: limitInfo(),
      errorBody: (status) =>
        sfError(
          `Injected fault (HTTP ${status})`,
          status === 401
            ? "INVALID_SESSION_ID"
            : status === 403
            ? "INSUFFICIENT_ACCESS"
            : status === 429
            ? "REQUEST_LIMIT_EXCEEDED"
            : "UNKNOWN_EXCEPTION",
        ),
    });
    if (faulted) return faulted;

    const auth = req.headers.get("authorization") ?? "";
    const access = auth.startsWith("Bearer ") ? auth.slice(7) : "";
    const expires = sessions.get(access);
    if (expires === undefined || expires <= Date.now()) {
      return json(401, sfError("Session expired or invalid", "INVALID_SESSION_ID"), {
        "www-authenticate": 'Token realm="Salesforce"',
      });
    }
    if (used >= dailyLimit) {
      return json(
        403,
        sfError("TotalRequests Limit exceeded.", "REQUEST_LIMIT_EXCEEDED"),
        limitInfo(),
      );
    }
    used++;
    if (req.method !== "GET") {
      return json(
        405,
        sfError(`HTTP Method '${req.method}' not allowed. Allowed are GET`, "METHOD_NOT_ALLOWED"),
        limitInfo(),
      );
    }
    const m = u.pathname.match(/^\/services\/data\/v(\d{2,3}\.0)\/query(?:\/([^/]+))?\/?$/);
    if (!m) {
      return json(404, sfError("The requested resource does not exist", "NOT_FOUND"), limitInfo());
    }
    const version = m[1];
    const hint = (req.headers.get("sforce-query-options") ?? "").match(/batchSize=(\d+)/);
    const asked = hint ? Math.min(2000, Math.max(200, Number(hint[1]))) : 2000;
    const batch = Math.min(asked, maxBatch);
    if (m[2]) {
      const lm = m[2].match(/^(01g[A-Za-z0-9]+)-(\d+)$/);
      const cursor = lm ? cursors.get(lm[1]) : undefined;
      if (!lm || !cursor) {
        return json(400, sfError("invalid query locator", "INVALID_QUERY_LOCATOR"), limitInfo());
      }
      return json(
        200,
        page(lm[1], cursor.rows, cursor.fields, cursor.object, Number(lm[2]), batch, version),
        limitInfo(),
      );
    }
    if (!soql) {
      return json(
        400,
        sfError("A query string has to be specified", "MALFORMED_QUERY"),
        limitInfo(),
      );
    }
    try {
      const q = parseSoql(soql, SANDBOX_SCHEMA);
      let rows = records[q.object].filter((r) => !q.where || matches(r, q.where));
      rows = sortRecords(rows, q.orderBy);
      if (q.offset) rows = rows.slice(q.offset);
      if (q.limit !== undefined) rows = rows.slice(0, q.limit);
      const locator = `01g${(++seq).toString(36).padStart(12, "0")}`;
      return json(200, page(locator, rows, q.fields, q.object, 0, batch, version), limitInfo());
    } catch (err) {
      if (err instanceof SoqlError) {
        return json(400, sfError(err.message, err.errorCode), limitInfo());
      }
      return json(400, sfError(String(err), "MALFORMED_QUERY"), limitInfo());
    }
  };

  const server = serveSandbox(handler, { port: options.port, latencyMs: options.latencyMs });
  url = server.url;
  return Promise.resolve({
    url,
    get requests() {
      return state.requests;
    },
    get tokenRequests() {
      return state.tokenRequests;
    },
    inject: (fault) => faults.inject(fault),
    expireSessions() {
      sessions = new Map();
    },
    reset() {
      state.requests = [];
      state.tokenRequests = 0;
      faults.clear();
      used = 0;
      cursors = new Map();
      sessions = new Map();
    },
    close: () => server.close(),
  });
}
