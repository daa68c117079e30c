/**
 * One authenticated Postgres connection: the simple and extended query protocols, answered from
 * three places — session statements by the session itself, catalog statements by the user's
 * catalog view, and every data statement by the request pipeline through the gateway (so it is
 * budgeted, cached, routed to the tenant's zone, secured and audited as over HTTP).
 *
 * @module
 */
import { toOmniError } from "../../errors.ts";
import { type CatalogTable, type Gateway, runQuery } from "../gateway.ts";
import type { CatalogView, CatalogViewLease, CatalogViews } from "./catalog_view.ts";
import { bindParameters, ParameterError, paramText, placeholders } from "./params.ts";
import {
  BackendBatch,
  decodeFrontend,
  type ErrorFields,
  type FieldDescription,
  readError,
  readParameterDescription,
  readRowDescription,
} from "./protocol.ts";
import { toPgError } from "./sqlstate.ts";
import { MAX_TIMEOUT_MS } from "../../query/limits.ts";
import { MAX_STALENESS_MS } from "../../query/request.ts";
import { type Route, routeOf, splitStatements } from "./statement.ts";
import { CatalogViewError } from "./view_guard.ts";
import { binaryValue, hasBinary, inferOid, OID, oidOf, textValue, typeSize } from "./types.ts";

/** What a session is built from. */
export interface PgSessionOptions {
  gateway: Gateway;
  views: CatalogViews;
  /** The user's token: every pipeline call carries it. */
  token: string;
  /** The user (e-mail) the token names. */
  user: string;
  /** The user's tenant: catalog views are never shared across tenants. */
  tenant: string;
  /** What `GET /v1/catalog` listed for the user at login. */
  tables: CatalogTable[];
  /** Start-up parameters the client sent (`application_name`, `client_encoding`, …). */
  startup: Record<string, string>;
  /** Whether the connection uses TLS (`SHOW ssl`). @default false */
  secure?: boolean;
  /** Writes bytes to the client. */
  send(bytes: Uint8Array): void;
}

/** Settings that would name another identity (`SET ROLE`, `SET SESSION AUTHORIZATION`, ours). */
const IDENTITY_SETTINGS =
  /^(role|authorization|session_authorization|omnisql\.(?!max_staleness_ms$).*)$/;
/** Settings a session holds at most (its defaults included), and a value's length at most. */
const MAX_SETTINGS = 300;
const MAX_SETTING_LENGTH = 8 * 1024;

/** An error answered to the client as an ErrorResponse. */
class PgError extends Error {
  constructor(readonly fields: ErrorFields) {
    super(fields.message);
  }
}

/** Prepared statements and portals a session holds at once, at most, and their bytes. */
const MAX_HELD = 1_000;
const MAX_HELD_BYTES = 2 * 2 ** 20;
/**
 * Portals suspended part-way (an Execute with a row limit) a session holds at once, at most:
 * each keeps its whole answer until it is read to the end or closed.
 */
const MAX_SUSPENDED = 8;
/** Statements in one simple-query message, at most: each takes its turn in the pipeline. */
const MAX_STATEMENTS_PER_QUERY = 1_000;

interface Prepared {
  /** Its text's length: what holding it costs. */
  bytes: number;
  sql: string;
  paramTypes: number[];
  route: Route;
  /** From the catalog view: parameter types, and the row description (null: no rows). */
  described?: { params: number[]; fields: FieldDescription[] | null };
  /** The answer of a statement that had to run to be described, for its next execution. */
  prefetched?: Answer;
}

interface Portal {
  /** Its parameters' length: what holding it costs. */
  bytes: number;
  statement: Prepared;
  params: (Uint8Array | null)[];
  paramFormats: number[];
  resultFormats: number[];
  answer?: Answer;
  fields?: FieldDescription[];
  /** Rows of `answer` already sent, while the portal is suspended. */
  sent?: number;
  /** Run to completion: executing it again returns no rows, as in Postgres. */
  exhausted?: boolean;
}

interface Answer {
  columns: string[];
  rows: unknown[][];
}

/** The settings a session reports and `SHOW` answers; `SET` changes them for the session. */
function defaultSettings(options: PgSessionOptions, searchPath: string): Map<string, string> {
  return new Map([
    ["server_version", "18.6"],
    ["server_version_num", "180006"],
    ["server_encoding", "UTF8"],
    ["client_encoding", "UTF8"],
    ["application_name", options.startup.application_name ?? ""],
    ["datestyle", "ISO, MDY"],
    ["intervalstyle", "postgres"],
    ["timezone", "UTC"],
    ["integer_datetimes", "on"],
    ["standard_conforming_strings", "on"],
    ["is_superuser", "off"],
    ["session_authorization", options.user],
    ["default_transaction_read_only", "on"],
    ["transaction_read_only", "on"],
    ["in_hot_standby", "off"],
    ["search_path", searchPath],
    ["transaction_isolation", "read committed"],
    ["default_transaction_isolation", "read committed"],
    ["max_identifier_length", "63"],
    ["statement_timeout", "0"],
    ["lc_collate", "C"],
    ["lc_ctype", "C"],
    ["ssl", options.secure ? "on" : "off"],
  ]);
}

/** Settings clients learn from ParameterStatus messages (Postgres' GUC_REPORT set). */
const REPORTED = [
  "server_version",
  "server_encoding",
  "client_encoding",
  "application_name",
  "datestyle",
  "intervalstyle",
  "timezone",
  "integer_datetimes",
  "standard_conforming_strings",
  "is_superuser",
  "session_authorization",
  "default_transaction_read_only",
  "in_hot_standby",
];
const REPORTED_NAME: Record<string, string> = {
  datestyle: "DateStyle",
  intervalstyle: "IntervalStyle",
  timezone: "TimeZone",
};

const encoder = new TextEncoder();

/**
 * A Postgres session over the door.
 *
 * @example
 * ```ts ignore
 * const session = new PgSession({ gateway, views, token, user, tenant, tables, startup, send });
 * session.greet(batch); // ParameterStatus messages during start-up
 * await session.receive(messageBytes);
 * ```
 */
export class PgSession {
  readonly #o: PgSessionOptions;
  readonly #settings: Map<string, string>;
  /** The tenant's apps' tables, `schema.table` lower-case. */
  readonly #appTables: ReadonlySet<string>;
  readonly #statements = new Map<string, Prepared>();
  readonly #portals = new Map<string, Portal>();
  /** The bytes of `#statements` and `#portals`. */
  #heldBytes = 0;
  #out = new BackendBatch();
  #status: "I" | "T" | "E" = "I";
  #skipToSync = false;
  #running?: AbortController;
  #lease?: Promise<CatalogViewLease>;
  #closed = false;

  constructor(options: PgSessionOptions) {
    this.#o = options;
    const schemas = [...new Set(options.tables.map((t) => t.table.split(".")[0]))].sort();
    this.#appTables = new Set(options.tables.map((t) => t.table.toLowerCase()));
    this.#settings = defaultSettings(options, schemas.join(", ") || "pg_catalog");
  }

  /** Adds the ParameterStatus messages of start-up to `batch`. */
  greet(batch: BackendBatch): void {
    for (const name of REPORTED) {
      batch.parameterStatus(REPORTED_NAME[name] ?? name, this.#settings.get(name) ?? "");
    }
  }

  /** Stops the running statement (a cancel request). */
  cancel(): void {
    this.#running?.abort();
  }

  /** Ends the session: stops its statement, releases its catalog view. */
  async close(): Promise<void> {
    this.#closed = true;
    this.#running?.abort();
    const lease = await this.#lease?.catch(() => undefined);
    lease?.release();
  }

  /** Handles one complete frontend message. */
  async receive(message: Uint8Array): Promise<void> {
    const msg = decodeFrontend(message);
    if (msg.type === "terminate") return await this.close();
    if (msg.type === "query") {
      await this.#simpleQuery(msg.sql);
      this.#out.readyForQuery(this.#status);
      return this.#flush();
    }
    if (msg.type === "sync") {
      this.#skipToSync = false;
      this.#release(this.#portals, "");
      this.#out.readyForQuery(this.#status);
      return this.#flush();
    }
    if (msg.type === "flush") return this.#flush();
    if (this.#skipToSync) return;
    try {
      switch (msg.type) {
        case "parse":
          this.#hold(this.#statements, msg.name, {
            bytes: msg.sql.length,
            sql: msg.sql,
            paramTypes: msg.paramTypes,
            route: routeOf(msg.sql, this.#appTables),
          });
          this.#out.message("1");
          break;
        case "bind":
          this.#bind(msg);
          break;
        case "describe":
          if (msg.target === "S") await this.#describeStatement(this.#statement(msg.name));
          else await this.#describePortal(this.#portal(msg.name));
          break;
        case "execute":
          await this.#execute(this.#portal(msg.portal), msg.maxRows);
          break;
        case "close":
          if (msg.target === "S") this.#release(this.#statements, msg.name);
          else this.#release(this.#portals, msg.name);
          this.#out.message("3");
          break;
        case "unsupported":
          throw new PgError({
            severity: "ERROR",
            code: "0A000",
            message: `protocol message '${msg.code}' is not supported (OmniSQL is read-only)`,
          });
      }
    } catch (err) {
      this.#fail(err);
      this.#skipToSync = true;
      this.#flush();
    }
  }

  /** Keeps `value` as `name` in `map`, within the session's bounds (54000 beyond them). */
  #hold<T extends { bytes: number }>(map: Map<string, T>, name: string, value: T): void {
    const old = map.get(name);
    const count = this.#statements.size + this.#portals.size + (old ? 0 : 1);
    const bytes = this.#heldBytes - (old?.bytes ?? 0) + value.bytes;
    if (count > MAX_HELD || bytes > MAX_HELD_BYTES) {
      throw new PgError({
        severity: "ERROR",
        code: "54000",
        message: `a session holds at most ${MAX_HELD} prepared statements and portals, ` +
          `${MAX_HELD_BYTES} bytes of them`,
        hint: "close statements the session no longer uses (or lower the driver's statement cache)",
      });
    }
    map.set(name, value);
    this.#heldBytes = bytes;
  }

  #release<T extends { bytes: number }>(map: Map<string, T>, name: string): void {
    const old = map.get(name);
    if (!old) return;
    map.delete(name);
    this.#heldBytes -= old.bytes;
  }

  #flush(): void {
    if (!this.#out.empty && !this.#closed) this.#o.send(this.#out.take());
  }

  #fail(err: unknown): void {
    if (this.#status === "T") this.#status = "E";
    this.#out.error(this.#errorFields(err));
  }

  #errorFields(err: unknown): ErrorFields {
    if (err instanceof PgError || err instanceof CatalogViewError) return err.fields;
    if (err instanceof ParameterError) {
      return { severity: "ERROR", code: err.sqlstate, message: err.message };
    }
    const error = toOmniError(err);
    return toPgError(error);
  }

  #statement(name: string): Prepared {
    return named(this.#statements, name, "26000", "prepared statement");
  }

  #portal(name: string): Portal {
    return named(this.#portals, name, "34000", "portal");
  }

  // ---- the simple query protocol ----

  async #simpleQuery(sql: string): Promise<void> {
    const statements = splitStatements(sql);
    if (statements.length > MAX_STATEMENTS_PER_QUERY) {
      return this.#fail(
        new PgError({
          severity: "ERROR",
          code: "54000",
          message: `a query message holds at most ${MAX_STATEMENTS_PER_QUERY} statements, ` +
            `not ${statements.length}`,
        }),
      );
    }
    for (const statement of statements) {
      try {
        await this.#simpleStatement(statement);
      } catch (err) {
        this.#fail(err);
        return;
      }
    }
  }

  async #simpleStatement(sql: string): Promise<void> {
    return await this.#answer(routeOf(sql, this.#appTables), true, {
      catalog: async () =>
        this.#relay(
          await this.#inView((view, signal) => view.query(sql, signal)),
          ["T", "D", "C", "I", "N"],
        ),
      pipeline: async () => {
        const answer = await this.#pipeline(sql);
        const fields = this.#answerFields(sql, answer);
        this.#out.rowDescription(fields);
        this.#sendRows(answer.rows, fields);
        this.#out.commandComplete(`SELECT ${answer.rows.length}`);
      },
    });
  }

  /**
   * Answers a routed statement: empty, `SHOW` and session statements alike in both protocols
   * (`simple`: the simple one, whose `SHOW` describes its row), catalog reads and pipeline
   * queries each protocol its own way.
   */
  async #answer(
    route: Route,
    simple: boolean,
    own: { catalog(): Promise<void>; pipeline(): Promise<void> },
  ): Promise<void> {
    this.#refuseInFailedTransaction(route);
    switch (route.kind) {
      case "empty":
        this.#out.message("I");
        return;
      case "catalog":
        return await own.catalog();
      case "mixed":
        throw mixedRefusal();
      case "show":
        return await this.#show(route.name, simple);
      case "pipeline":
        return await own.pipeline();
      default:
        this.#out.commandComplete(this.#session(route));
    }
  }

  // ---- the extended query protocol ----

  #bind(msg: {
    portal: string;
    statement: string;
    paramFormats: number[];
    params: (Uint8Array | null)[];
    resultFormats: number[];
  }): void {
    const statement = this.#statement(msg.statement);
    this.#hold(this.#portals, msg.portal, {
      bytes: msg.params.reduce((n, p) => n + (p?.length ?? 0), 0),
      statement,
      params: msg.params,
      paramFormats: msg.paramFormats,
      resultFormats: msg.resultFormats,
    });
    this.#out.message("2");
  }

  /** The parameter types of a statement: declared, else as the catalog view infers them. */
  async #paramTypes(statement: Prepared, count: number): Promise<number[]> {
    if (
      statement.route.kind === "pipeline" && !statement.described &&
      statement.paramTypes.slice(0, count).some((t) => !t)
    ) {
      await this.#describeInView(statement);
    }
    return Array.from(
      { length: count },
      (_, i) => statement.paramTypes[i] || statement.described?.params[i] || OID.text,
    );
  }

  async #describeInView(statement: Prepared): Promise<void> {
    const reply = await this.#inView((view, signal) =>
      view.describe(statement.sql, statement.paramTypes, signal)
    );
    const error = reply.find(([c]) => c === "E");
    if (error) return;
    const params = reply.find(([c]) => c === "t");
    const row = reply.find(([c]) => c === "T");
    statement.described = {
      params: params ? readParameterDescription(params[1]) : [],
      fields: row ? readRowDescription(row[1]) : null,
    };
  }

  async #describeStatement(statement: Prepared): Promise<void> {
    const { route } = statement;
    if (route.kind === "mixed") throw mixedRefusal();
    if (route.kind === "catalog") {
      const reply = await this.#inView((view, signal) =>
        view.describe(statement.sql, statement.paramTypes, signal)
      );
      return this.#relay(reply, ["t", "T", "n"]);
    }
    if (route.kind === "show") {
      this.#out.parameterDescription([]);
      this.#out.rowDescription([field(route.name, OID.text, 0)]);
      return;
    }
    if (route.kind !== "pipeline") {
      this.#out.parameterDescription(statement.paramTypes);
      this.#out.message("n");
      return;
    }
    const count = maxPlaceholder(statement.sql);
    await this.#describeInView(statement);
    const params = await this.#paramTypes(statement, count);
    if (statement.described?.fields) {
      this.#out.parameterDescription(params);
      this.#out.rowDescription(statement.described.fields.map((f) => ({ ...f, format: 0 })));
      return;
    }
    if (count > 0) {
      throw new PgError({
        severity: "ERROR",
        code: "0A000",
        message: "this statement cannot be described before it runs (it is not Postgres SQL); " +
          "send it without parameters or with the simple query protocol",
      });
    }
    // Not Postgres SQL (DuckDB's dialect): the statement runs now to learn its columns.
    statement.prefetched = await this.#pipeline(statement.sql);
    this.#out.parameterDescription([]);
    this.#out.rowDescription(this.#answerFields(statement.sql, statement.prefetched));
  }

  async #describePortal(portal: Portal): Promise<void> {
    const { route } = portal.statement;
    if (route.kind === "catalog") {
      return this.#relay(await this.#catalogPortal(portal, "P"), ["T", "n"]);
    }
    if (route.kind === "show") {
      this.#out.rowDescription([field(route.name, OID.text, 0)]);
      return;
    }
    if (route.kind !== "pipeline") {
      this.#out.message("n");
      return;
    }
    this.#out.rowDescription(await this.#portalFields(portal));
  }

  /**
   * Sends a portal's rows: all that are left, or at most `maxRows` (above 0) followed by
   * PortalSuspended when more remain, for the next Execute to continue.
   */
  async #execute(portal: Portal, maxRows: number): Promise<void> {
    return await this.#answer(portal.statement.route, false, {
      catalog: async () =>
        this.#relay(await this.#catalogPortal(portal, "E"), ["D", "C", "I", "N"]),
      pipeline: async () => {
        if (portal.exhausted) {
          this.#out.commandComplete("SELECT 0");
          return;
        }
        const fields = await this.#portalFields(portal);
        const rows = portal.answer!.rows;
        const from = portal.sent ?? 0;
        const to = maxRows > 0 ? Math.min(rows.length, from + maxRows) : rows.length;
        if (to < rows.length && portal.sent === undefined) this.#admitSuspended();
        this.#sendRows(rows.slice(from, to), fields);
        if (to < rows.length) {
          portal.sent = to;
          this.#out.message("s");
          return;
        }
        this.#out.commandComplete(`SELECT ${to - from}`);
        portal.answer = undefined;
        portal.fields = undefined;
        portal.sent = undefined;
        portal.exhausted = true;
      },
    });
  }

  /** Refuses to suspend one more portal past {@link MAX_SUSPENDED} (54000). */
  #admitSuspended(): void {
    let suspended = 0;
    for (const portal of this.#portals.values()) if (portal.sent !== undefined) suspended++;
    if (suspended < MAX_SUSPENDED) return;
    throw new PgError({
      severity: "ERROR",
      code: "54000",
      message: `a session holds at most ${MAX_SUSPENDED} portals suspended part-way`,
      hint: "read a suspended portal to its end or close it before starting another",
    });
  }

  /** Runs a pipeline portal (once) and decides its row description. */
  async #portalFields(portal: Portal): Promise<FieldDescription[]> {
    if (portal.fields && portal.answer) return portal.fields;
    const statement = portal.statement;
    // Drivers that bind without describing the statement first still get Postgres' types.
    if (!statement.described) await this.#describeInView(statement);
    if (statement.prefetched) {
      portal.answer = statement.prefetched;
      statement.prefetched = undefined;
    } else {
      const count = portal.params.length;
      const types = await this.#paramTypes(statement, count);
      const values = portal.params.map((p, i) =>
        paramText(p, formatAt(portal.paramFormats, i), types[i])
      );
      portal.answer = await this.#pipeline(bindParameters(statement.sql, values, types));
    }
    const described = statement.described?.fields;
    const base = described && described.length === portal.answer.columns.length
      ? described
      : this.#answerFields(statement.sql, portal.answer);
    portal.fields = base.map((f, i) => ({
      ...f,
      format: formatAt(portal.resultFormats, i) === 1 && hasBinary(f.typeOid) ? 1 : 0,
    }));
    return portal.fields;
  }

  async #catalogPortal(portal: Portal, step: "P" | "E"): Promise<[string, Uint8Array][]> {
    const s = portal.statement;
    return await this.#inView((view, signal) =>
      view.portal(
        s.sql,
        s.paramTypes,
        portal.params,
        portal.paramFormats,
        portal.resultFormats,
        step,
        signal,
      )
    );
  }

  // ---- the three answerers ----

  /** Session statements: transaction state and settings, nothing else happens. */
  #session(route: Route): string {
    if (route.kind === "set") {
      if (IDENTITY_SETTINGS.test(route.name)) {
        // Who the session is comes from its token: accepting these would only mislead.
        throw new PgError({
          severity: "ERROR",
          code: "42501",
          message: `${route.name} cannot be set: this session acts as the user its token names, ` +
            "with that user's entitlements",
        });
      }
      const value = route.value ?? defaultSettings(this.#o, "").get(route.name) ?? "";
      if (route.name === "statement_timeout") checkStatementTimeout(value);
      if (route.name === "omnisql.max_staleness_ms") checkMaxStaleness(value);
      if (
        value.length > MAX_SETTING_LENGTH ||
        !this.#settings.has(route.name) && this.#settings.size >= MAX_SETTINGS
      ) {
        throw new PgError({
          severity: "ERROR",
          code: "54000",
          message: `a session holds at most ${MAX_SETTINGS} settings of at most ` +
            `${MAX_SETTING_LENGTH} characters each`,
        });
      }
      this.#settings.set(route.name, value);
      return "SET";
    }
    if (route.kind !== "session") return "SELECT 0";
    if (route.transaction === "begin") this.#status = "T";
    if (route.transaction === "end") {
      const failed = this.#status === "E";
      this.#status = "I";
      if (failed) return "ROLLBACK";
    }
    if (route.transaction === "fail-safe" && this.#status === "E") this.#status = "T";
    return route.tag;
  }

  async #show(name: string, describe: boolean): Promise<void> {
    const key = name === "transaction" ? "transaction_isolation" : name;
    const value = this.#settings.get(key);
    if (value === undefined) {
      const reply = await this.#inView((view, signal) =>
        view.query(`SHOW ${quoteIdent(key)}`, signal)
      );
      return this.#relay(reply, describe ? ["T", "D", "C"] : ["D", "C"]);
    }
    if (describe) this.#out.rowDescription([field(key, OID.text, 0)]);
    this.#out.dataRow([encoder.encode(value)]);
    this.#out.commandComplete("SHOW");
  }

  /** Runs a statement through the request pipeline; a cancel request aborts it. */
  async #pipeline(sql: string): Promise<Answer> {
    const controller = new AbortController();
    this.#running = controller;
    const metadata: { max_staleness_ms?: number; timeout_ms?: number } = {};
    const timeout = parseDuration(this.#settings.get("statement_timeout") ?? "0");
    if (timeout > 0) metadata.timeout_ms = timeout;
    const staleness = this.#settings.get("omnisql.max_staleness_ms");
    if (staleness !== undefined && /^\d+$/.test(staleness.trim())) {
      metadata.max_staleness_ms = Number(staleness);
    }
    try {
      const answer = await runQuery(
        this.#o.gateway,
        "pg",
        this.#o.token,
        { sql, metadata },
        controller.signal,
      );
      if ("explain" in answer) {
        const plan = JSON.stringify(answer.sources, null, 2).split("\n");
        return { columns: ["QUERY PLAN"], rows: plan.map((line) => [line]) };
      }
      return {
        columns: answer.columns,
        rows: answer.rows.map((r) => answer.columns.map((c) => r[c])),
      };
    } catch (err) {
      if (controller.signal.aborted) {
        throw new PgError({
          severity: "ERROR",
          code: "57014",
          message: "canceling statement due to user request",
        });
      }
      throw err;
    } finally {
      if (this.#running === controller) this.#running = undefined;
    }
  }

  /**
   * The row description of an answer the catalog view did not describe: a column named like a
   * column of a table the statement names takes that column's type; others are typed from
   * their values.
   */
  #answerFields(sql: string, answer: Answer): FieldDescription[] {
    const text = sql.toLowerCase();
    const named = this.#o.tables.filter((t) => text.includes(t.table.toLowerCase()));
    return answer.columns.map((name, i) => {
      const types = new Set(
        named.flatMap((t) => t.columns.filter((c) => c.name === name).map((c) => c.type)),
      );
      const oid = types.size === 1 ? oidOf([...types][0]) : inferOid(answer.rows.map((r) => r[i]));
      return field(name, oid, 0);
    });
  }

  #view(): Promise<CatalogView> {
    this.#lease ??= this.#o.views.acquire(this.#o.tenant, this.#o.tables, this.#o.user);
    return this.#lease.then((l) => l.view);
  }

  /**
   * Runs a call in the user's catalog view; a cancel request (or the session's end) stops it,
   * queued or running, with SQLSTATE 57014.
   */
  async #inView<T>(call: (view: CatalogView, signal: AbortSignal) => Promise<T>): Promise<T> {
    const controller = new AbortController();
    this.#running = controller;
    try {
      return await call(await this.#view(), controller.signal);
    } finally {
      if (this.#running === controller) this.#running = undefined;
    }
  }

  /** Relays the catalog view's messages of the given kinds; its error becomes ours. */
  #relay(reply: [string, Uint8Array][], kinds: string[]): void {
    for (const [code, bytes] of reply) {
      if (code === "E") throw new PgError(readError(bytes));
      if (kinds.includes(code)) this.#out.raw(bytes);
    }
  }

  #sendRows(rows: readonly unknown[][], fields: FieldDescription[]): void {
    for (const row of rows) {
      this.#out.dataRow(row.map((value, i) => {
        const f = fields[i];
        if (value === null || value === undefined) return null;
        if (f.format === 1) return binaryValue(value, f.typeOid) ?? null;
        const text = textValue(value, f.typeOid);
        return text === null ? null : encoder.encode(text);
      }));
    }
  }

  #refuseInFailedTransaction(route: Route): void {
    if (this.#status !== "E") return;
    if (route.kind === "session" && route.transaction) return;
    throw new PgError({
      severity: "ERROR",
      code: "25P02",
      message: "current transaction is aborted, commands ignored until end of transaction block",
    });
  }
}

function field(name: string, typeOid: number, format: number): FieldDescription {
  return {
    name,
    tableOid: 0,
    columnIndex: 0,
    typeOid,
    typeSize: typeSize(typeOid),
    typeModifier: -1,
    format,
  };
}

function formatAt(formats: number[], i: number): number {
  return formats.length === 0 ? 0 : formats.length === 1 ? formats[0] : formats[i] ?? 0;
}

function maxPlaceholder(sql: string): number {
  return placeholders(sql).reduce((n, p) => Math.max(n, p.n), 0);
}

function quoteIdent(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}

/** `statement_timeout` values: `5000`, `'5s'`, `'2min'` → ms (0: none; NaN: not a duration). */
function parseDuration(value: string): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|min|h)?\s*$/i.exec(value);
  if (!m) return NaN;
  const unit = { ms: 1, s: 1000, min: 60_000, h: 3_600_000 }[(m[2] ?? "ms").toLowerCase()] ?? 1;
  return Math.round(Number(m[1]) * unit);
}

/**
 * Refuses a `statement_timeout` that is not a duration or exceeds the longest query OmniSQL runs
 * (Postgres' SQLSTATE and wording), rather than failing every later query over it.
 */
function checkStatementTimeout(value: string): void {
  const ms = parseDuration(value);
  if (Number.isNaN(ms)) {
    throw new PgError({
      severity: "ERROR",
      code: "22023",
      message: `invalid value for parameter "statement_timeout": "${value}"`,
      hint: 'Valid units for this parameter are "ms", "s", "min", and "h".',
    });
  }
  if (ms > MAX_TIMEOUT_MS) {
    throw new PgError({
      severity: "ERROR",
      code: "22023",
      message: `${ms} ms is outside the valid range for parameter "statement_timeout" ` +
        `(0 .. ${MAX_TIMEOUT_MS})`,
      hint: `OmniSQL stops every query after ${MAX_TIMEOUT_MS / 1000} s at the latest`,
    });
  }
}

/**
 * Refuses an `omnisql.max_staleness_ms` that is not a whole number of milliseconds within what a
 * query may ask for, rather than letting every later query run without it.
 */
function checkMaxStaleness(value: string): void {
  if (/^\d+$/.test(value.trim()) && Number(value) <= MAX_STALENESS_MS) return;
  throw new PgError({
    severity: "ERROR",
    code: "22023",
    message: `invalid value for parameter "omnisql.max_staleness_ms": "${value}"`,
    hint: `a whole number of milliseconds from 0 to ${MAX_STALENESS_MS} (0: fresh data)`,
  });
}

/** The entry `name` of a session's statements or portals, or the SQLSTATE Postgres sends. */
function named<T>(map: Map<string, T>, name: string, code: string, what: string): T {
  const found = map.get(name);
  if (found === undefined) {
    throw new PgError({ severity: "ERROR", code, message: `${what} "${name}" does not exist` });
  }
  return found;
}

/** The answer to a statement that reads the catalog and an app's tables together. */
function mixedRefusal(): PgError {
  return new PgError({
    severity: "ERROR",
    code: "0A000",
    message: "a statement cannot read the Postgres catalog and an app's tables together",
    hint: "query the catalog and the apps' tables in separate statements",
  });
}
