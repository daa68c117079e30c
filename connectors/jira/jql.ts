/**
 * JQL for the `jira.issues` table: pushdown negotiation (which SQL predicates JQL can express,
 * exactly or as a superset DuckDB narrows) and rendering with escaping no value can escape.
 * Pure: no I/O. What needs the site's dictionaries (known statuses, custom field ids) is applied
 * by {@link applyKnownStatuses} and {@link renderJql} once the scan has them.
 *
 * @module
 */
import type { Predicate, Scalar, ScanOffer } from "../sdk/mod.ts";

/**
 * Quotes a string for JQL: double quotes, with `\`, `"`, and control characters escaped, so the
 * value can never end the string or start another clause.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { quoteJql } from "./jql.ts";
 * assert.ok(quoteJql('x" OR project = SECRET') === '"x\\" OR project = SECRET"');
 * assert.ok(quoteJql("a\nb") === '"a\\nb"');
 * ```
 */
export function quoteJql(value: string): string {
  let out = '"';
  for (let i = 0; i < value.length; i++) {
    const ch = value[i];
    const c = value.charCodeAt(i);
    if (ch === "\\") out += "\\\\";
    else if (ch === '"') out += '\\"';
    else if (ch === "\n") out += "\\n";
    else if (ch === "\r") out += "\\r";
    else if (ch === "\t") out += "\\t";
    else if (c < 0x20 || (c >= 0x7f && c <= 0x9f) || c === 0x2028 || c === 0x2029) {
      out += "\\u" + c.toString(16).padStart(4, "0");
    } else if (c >= 0xd800 && c <= 0xdbff && i + 1 < value.length) {
      const low = value.charCodeAt(i + 1);
      if (low >= 0xdc00 && low <= 0xdfff) {
        out += ch + value[++i]; // a well-formed surrogate pair (emoji): keep as is
      } else out += "\\u" + c.toString(16);
    } else if (c >= 0xd800 && c <= 0xdfff) out += "\\u" + c.toString(16); // lone surrogate
    else out += ch;
  }
  return out + '"';
}

/** The connection settings planning reads. */
export interface JqlConfig {
  /** Project keys the connection spans; every query is bounded by them. */
  projects: string[];
  /** Project key → team. */
  projectTeams: Record<string, string>;
}

/** One JQL clause the plan decided to send, before rendering. */
export type JqlClause =
  | {
    kind: "values";
    field: "status" | "key" | "assignee" | "statusCategory";
    values: string[];
    negate: boolean;
  }
  | {
    kind: "compare";
    field: "created" | "updated" | "storyPoints";
    op: "=" | "!=" | "<" | "<=" | ">" | ">=";
    value: string | number;
  }
  | { kind: "numbers"; field: "storyPoints"; values: number[]; negate: boolean }
  | { kind: "empty"; field: "assignee" | "branch" | "storyPoints"; empty: boolean }
  | { kind: "phrase"; field: "branch"; value: string };

/** The structured JQL query a plan carries to its scan. */
export interface JqlQuery {
  /** Projects left after project/team predicates; always a subset of the configured ones. */
  projects: string[];
  clauses: JqlClause[];
  orderBy: { field: "created" | "updated"; direction: "ASC" | "DESC" }[];
  /** True when no issue can match: the scan makes no call. */
  none: boolean;
}

/** The outcome of negotiating an offer. */
export interface JqlPushdown {
  query: JqlQuery;
  pushed: Predicate[];
  residual: Predicate[];
  /** Set when the source returns at most this many rows, already in the offered order. */
  limit?: number;
  /** Page size to ask for. */
  maxResults: number;
}

/** Status category keys and their Jira ids (stable across sites and languages). */
export const STATUS_CATEGORY_IDS: Record<string, string> = {
  undefined: "1",
  new: "2",
  done: "3",
  indeterminate: "4",
};

const ACCOUNT_ID = /^[A-Za-z0-9:_-]{1,128}$/;
const ISSUE_KEY = /^([A-Z][A-Z0-9_]*)-[1-9][0-9]*$/;
const DAY_MS = 86_400_000;
/** Lucene's English stop words: a phrase made only of these matches nothing in Jira. */
const STOP_WORDS = new Set(
  "a an and are as at be but by for if in into is it no not of on or such that the their then there these they this to was will with"
    .split(" "),
);

/**
 * Negotiates pushdown for an offer: every predicate is either pushed (the JQL applies it exactly
 * or as a superset) or handed back as residual. The query is always bounded by the configured
 * projects.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { planJql, renderJql } from "./jql.ts";
 * const p = planJql(
 *   { predicates: [{ column: "status", op: "!=", value: "Done" }], columns: ["issue_key"] },
 *   { projects: ["MOB", "WEB"], projectTeams: {} },
 * );
 * assert.ok(renderJql(p.query, {}) === 'project in ("MOB", "WEB") AND status != "Done"');
 * ```
 */
export function planJql(offer: ScanOffer, config: JqlConfig): JqlPushdown {
  const query: JqlQuery = { projects: [...config.projects], clauses: [], orderBy: [], none: false };
  const pushed: Predicate[] = [];
  const residual: Predicate[] = [];
  const restrictProjects = (keep: (project: string) => boolean) => {
    query.projects = query.projects.filter(keep);
  };

  for (const p of offer.predicates) {
    const ok = take(p, query, config, restrictProjects);
    (ok ? pushed : residual).push(p);
  }
  if (query.projects.length === 0) query.none = true;

  const pushableOrder =
    offer.orderBy?.every((k) => k.column === "created" || k.column === "updated") ??
      true;
  if (offer.orderBy && pushableOrder) {
    query.orderBy = offer.orderBy.map((k) => ({
      field: k.column as "created" | "updated",
      direction: k.direction === "desc" ? "DESC" : "ASC",
    }));
  }
  let limit: number | undefined;
  let maxResults = 100;
  if (offer.limit !== undefined && residual.length === 0 && pushableOrder) {
    limit = Math.max(0, Math.floor(offer.limit));
    maxResults = Math.max(1, Math.min(limit, 100));
    if (limit === 0) query.none = true;
  }
  return { query, pushed, residual, limit, maxResults };
}

/** Takes one predicate into the query; false when JQL cannot express it (residual). */
function take(
  p: Predicate,
  query: JqlQuery,
  config: JqlConfig,
  restrictProjects: (keep: (project: string) => boolean) => void,
): boolean {
  switch (p.column) {
    case "project":
    case "team": {
      const of = (project: string): string | null =>
        p.column === "project" ? project : config.projectTeams[project] ?? null;
      const test = exactTest(p);
      if (!test) return false;
      restrictProjects((project) => test(of(project)));
      return true;
    }
    case "status":
    case "status_category": {
      const field = p.column === "status" ? "status" : "statusCategory";
      let values: string[] | null;
      let negate: boolean;
      if (p.op === "=" || p.op === "!=") {
        if (typeof p.value !== "string") return stringlessNull(p, query);
        values = [p.value];
        negate = p.op === "!=";
      } else if (p.op === "in" || p.op === "not in") {
        values = stringValues(p.values);
        if (!values) return false;
        negate = p.op === "not in";
        if (negate && values.length < p.values.length) query.none = true; // NOT IN (…, NULL)
      } else return false;
      if (field === "statusCategory") {
        // The column only ever holds Jira's category keys: other values match nothing.
        values = values.filter((v) => Object.hasOwn(STATUS_CATEGORY_IDS, v));
        if (values.length === 0) {
          if (!negate) query.none = true;
          return true;
        }
      }
      query.clauses.push({ kind: "values", field, values, negate });
      return true;
    }
    case "issue_key": {
      // Jira matches keys case-insensitively and also by old keys of moved issues: a superset.
      // A value that is not a key of a configured project cannot equal any returned issue_key.
      const values = p.op === "=" ? [p.value] : p.op === "in" ? p.values : null;
      if (!values) return false;
      const keys = values.filter((v): v is string =>
        typeof v === "string" && ISSUE_KEY.test(v) && query.projects.includes(v.split("-")[0])
      );
      if (keys.length === 0) query.none = true;
      else query.clauses.push({ kind: "values", field: "key", values: keys, negate: false });
      return true;
    }
    case "assignee_account_id": {
      if (p.op === "is null" || p.op === "is not null") {
        query.clauses.push({ kind: "empty", field: "assignee", empty: p.op === "is null" });
        return true;
      }
      const values = p.op === "=" ? [p.value] : p.op === "in" ? p.values : null;
      if (!values) return false;
      // Only values that look like account ids; anything else stays with DuckDB.
      if (!values.every((v) => v === null || (typeof v === "string" && ACCOUNT_ID.test(v)))) {
        return false;
      }
      const ids = values.filter((v): v is string => v !== null);
      if (ids.length === 0) query.none = true;
      else query.clauses.push({ kind: "values", field: "assignee", values: ids, negate: false });
      return true;
    }
    case "assignee":
      if (p.op === "is null" || p.op === "is not null") {
        query.clauses.push({ kind: "empty", field: "assignee", empty: p.op === "is null" });
        return true;
      }
      return false;
    case "assignee_email":
      // Email may be hidden by the user's privacy settings: only IS NOT NULL has a superset.
      if (p.op === "is not null") {
        query.clauses.push({ kind: "empty", field: "assignee", empty: false });
        return true;
      }
      return false;
    case "created":
    case "updated":
      return takeTime(p, p.column, query);
    case "story_points":
      return takeNumber(p, query);
    case "branch_name": {
      if (p.op === "is null" || p.op === "is not null") {
        query.clauses.push({ kind: "empty", field: "branch", empty: p.op === "is null" });
        return true;
      }
      if (p.op === "=" && typeof p.value === "string" && phraseIsSuperset(p.value)) {
        query.clauses.push({ kind: "phrase", field: "branch", value: p.value });
        return true;
      }
      return false;
    }
    default:
      return false;
  }
}

/** An exact per-value test for a text column that is never NULL in Jira's data, or null. */
function exactTest(p: Predicate): ((v: string | null) => boolean) | null {
  switch (p.op) {
    case "=":
    case "!=":
      if (p.value !== null && typeof p.value !== "string") return null;
      return (v) => v !== null && p.value !== null && (v === p.value) === (p.op === "=");
    case "in":
    case "not in": {
      if (!p.values.every((v) => v === null || typeof v === "string")) return null;
      const hasNull = p.values.includes(null);
      return p.op === "in"
        ? (v) => v !== null && p.values.includes(v)
        : (v) => v !== null && !hasNull && !p.values.includes(v);
    }
    case "is null":
      return (v) => v === null;
    case "is not null":
      return (v) => v !== null;
    default:
      return null;
  }
}

/** `col = NULL` / `col != NULL` match nothing; other non-string values stay residual. */
function stringlessNull(p: Predicate, query: JqlQuery): boolean {
  if ("value" in p && p.value === null) {
    query.none = true;
    return true;
  }
  return false;
}

function stringValues(values: Scalar[]): string[] | null {
  if (!values.every((v) => v === null || typeof v === "string")) return null;
  return values.filter((v): v is string => v !== null);
}

function takeTime(p: Predicate, field: "created" | "updated", query: JqlQuery): boolean {
  if (p.op === "is null" || p.op === "is not null") {
    if (p.op === "is null") query.none = true; // Jira always sets created and updated
    return true;
  }
  if (!("value" in p) || p.op === "!=") return false;
  if (p.value === null) return stringlessNull(p, query);
  const ms = parseTimestamp(p.value);
  if (ms === undefined) return false;
  // JQL dates are minute precision in the user's time zone (UTC-12…UTC+14): widen by a day on
  // each side so the pushed bound is a superset whatever the zone; DuckDB narrows.
  if (p.op === ">" || p.op === ">=" || p.op === "=") {
    query.clauses.push({ kind: "compare", field, op: ">=", value: jqlMinute(ms - DAY_MS) });
  }
  if (p.op === "<" || p.op === "<=" || p.op === "=") {
    query.clauses.push({ kind: "compare", field, op: "<=", value: jqlMinute(ms + DAY_MS) });
  }
  return true;
}

function takeNumber(p: Predicate, query: JqlQuery): boolean {
  if (p.op === "is null" || p.op === "is not null") {
    query.clauses.push({ kind: "empty", field: "storyPoints", empty: p.op === "is null" });
    return true;
  }
  if (p.op === "in" || p.op === "not in") {
    if (!p.values.every((v) => v === null || plainNumber(v))) return false;
    const values = p.values.filter((v): v is number => v !== null);
    if (p.op === "not in" && values.length < p.values.length) query.none = true;
    if (p.op === "in" && values.length === 0) query.none = true;
    else {query.clauses.push({
        kind: "numbers",
        field: "storyPoints",
        values,
        negate: p.op === "not in",
      });}
    return true;
  }
  if (!("value" in p)) return false;
  if (p.value === null) return stringlessNull(p, query);
  if (!plainNumber(p.value)) return false;
  query.clauses.push({ kind: "compare", field: "storyPoints", op: p.op, value: p.value });
  return true;
}

function plainNumber(v: unknown): v is number {
  return typeof v === "number" && Number.isFinite(v) && !/e/i.test(String(v));
}

/**
 * Whether `field ~ "\"value\""` returns every issue whose field equals `value`. Jira's `~` is a
 * tokenised phrase search: the value's own tokens always form a phrase in it, as long as the
 * value has a searchable token, no character that Lucene's phrase syntax treats specially, and
 * fits Jira's token limits.
 */
export function phraseIsSuperset(value: string): boolean {
  if (value.length === 0 || value.length > 200) return false;
  if (!/^[A-Za-z0-9/_.\-]+$/.test(value)) return false;
  const tokens = value.toLowerCase().split(/[^a-z0-9]+/).filter(Boolean);
  return tokens.some((t) => !STOP_WORDS.has(t));
}

/** Parses an ISO-8601 timestamp (a bare one counts as UTC), or undefined. */
export function parseTimestamp(value: Scalar): number | undefined {
  if (typeof value !== "string") return undefined;
  const m = value.trim().match(
    /^(\d{4}-\d{2}-\d{2})(?:[T ](\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?))?\s*(Z|[+-]\d{2}:?\d{2})?$/i,
  );
  if (!m) return undefined;
  const zone = m[3]
    ? (m[3].toUpperCase() === "Z" ? "Z" : m[3].replace(/^([+-]\d{2})(\d{2})$/, "$1:$2"))
    : "Z";
  const ms = Date.parse(`${m[1]}T${m[2] ?? "00:00"}${zone}`);
  return Number.isNaN(ms) ? undefined : ms;
}

/** `yyyy-MM-dd HH:mm` (UTC) of an instant, floored to the minute. */
function jqlMinute(ms: number): string {
  return new Date(ms).toISOString().slice(0, 16).replace("T", " ");
}

/**
 * Applies the site's status names: `=`/`IN` keep values Jira knows (case-insensitively, a
 * superset of SQL's exact match) and make the query match nothing when none is left;
 * `!=`/`NOT IN` keep only values equal to a status name exactly (others exclude nothing in SQL).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { applyKnownStatuses } from "./jql.ts";
 * const q = applyKnownStatuses({ projects: ["MOB"], orderBy: [], none: false,
 *   clauses: [{ kind: "values", field: "status", values: ["Nope"], negate: false }] }, ["Done"]);
 * assert.ok(q.none);
 * ```
 */
export function applyKnownStatuses(query: JqlQuery, statuses: string[]): JqlQuery {
  const exact = new Set(statuses);
  const lower = new Set(statuses.map((s) => s.toLowerCase()));
  return filterValues(
    query,
    "status",
    (v, negate) => negate ? exact.has(v) : lower.has(v.toLowerCase()),
  );
}

/**
 * Drops one value Jira reported as unknown for a field (`The value 'X' does not exist for the
 * field 'status'.`): no issue can carry it, so `=`/`IN` lose it and `!=`/`NOT IN` lose nothing.
 */
export function dropUnknownValue(
  query: JqlQuery,
  field: "status" | "key" | "assignee" | "statusCategory",
  value: string,
): JqlQuery {
  return filterValues(query, field, (v) => v !== value && v.toLowerCase() !== value.toLowerCase());
}

/**
 * Drops issue keys of projects the query cannot reach (a key is `PROJECT-N`): no such issue can
 * match, and asking Jira about them would only say which exist — a row rule narrowing the
 * projects must not be probed through the keys of the others.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { keysWithinProjects } from "./jql.ts";
 * const q = keysWithinProjects({
 *   projects: ["MOB"],
 *   clauses: [{ kind: "values", field: "key", values: ["WEB-1", "MOB-2"], negate: false }],
 *   orderBy: [],
 *   none: false,
 * });
 * assert.deepEqual(q.clauses, [{ kind: "values", field: "key", values: ["MOB-2"], negate: false }]);
 * ```
 */
export function keysWithinProjects(query: JqlQuery): JqlQuery {
  const projects = new Set(query.projects.map((p) => p.toUpperCase()));
  return filterValues(
    query,
    "key",
    (v) => projects.has(v.slice(0, v.lastIndexOf("-")).toUpperCase()),
  );
}

function filterValues(
  query: JqlQuery,
  field: string,
  keep: (value: string, negate: boolean) => boolean,
): JqlQuery {
  let none = query.none;
  const clauses: JqlClause[] = [];
  for (const c of query.clauses) {
    if (c.kind !== "values" || c.field !== field) {
      clauses.push(c);
      continue;
    }
    const values = c.values.filter((v) => keep(v, c.negate));
    if (values.length > 0) clauses.push({ ...c, values });
    else if (!c.negate) none = true;
  }
  return { ...query, clauses, none };
}

/** How a custom field appears in JQL: `cf[10050]`, or its quoted name when not yet known. */
function customRef(id: string | undefined, name: string): string {
  const m = id?.match(/^customfield_(\d+)$/);
  return m ? `cf[${m[1]}]` : quoteJql(name);
}

/**
 * Renders the structured query as JQL. Clauses on a custom field whose id is `null` (the site
 * has no such field) are left out: the column is then NULL for every row, and DuckDB's WHERE
 * decides.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { renderJql } from "./jql.ts";
 * const jql = renderJql({ projects: ["MOB"], none: false, orderBy: [{ field: "created", direction: "DESC" }],
 *   clauses: [{ kind: "compare", field: "storyPoints", op: ">=", value: 5 }] },
 *   { storyPoints: "customfield_10016" });
 * assert.ok(jql === 'project in ("MOB") AND cf[10016] >= 5 ORDER BY created DESC');
 * ```
 */
export function renderJql(
  query: JqlQuery,
  fields: { branch?: string | null; storyPoints?: string | null },
): string {
  const parts = [`project in (${query.projects.map(quoteJql).join(", ")})`];
  const ref = (
    f:
      | "branch"
      | "storyPoints"
      | "status"
      | "key"
      | "assignee"
      | "statusCategory"
      | "created"
      | "updated",
  ) => {
    if (f === "branch") return fields.branch === null ? null : customRef(fields.branch, "Branch");
    if (f === "storyPoints") {
      return fields.storyPoints === null
        ? null
        : customRef(fields.storyPoints, "Story point estimate");
    }
    return f;
  };
  for (const c of query.clauses) {
    const field = ref(c.field);
    if (field === null) continue;
    switch (c.kind) {
      case "values": {
        const lit = c.field === "statusCategory"
          ? (
            v: string,
          ) => (Object.hasOwn(STATUS_CATEGORY_IDS, v) ? STATUS_CATEGORY_IDS[v] : quoteJql(v))
          : quoteJql;
        parts.push(
          c.values.length === 1
            ? `${field} ${c.negate ? "!=" : "="} ${lit(c.values[0])}`
            : `${field} ${c.negate ? "not in" : "in"} (${c.values.map(lit).join(", ")})`,
        );
        break;
      }
      case "numbers":
        parts.push(
          c.values.length === 1
            ? `${field} ${c.negate ? "!=" : "="} ${c.values[0]}`
            : `${field} ${c.negate ? "not in" : "in"} (${c.values.join(", ")})`,
        );
        break;
      case "compare":
        parts.push(`${field} ${c.op} ${typeof c.value === "number" ? c.value : quoteJql(c.value)}`);
        break;
      case "empty":
        parts.push(`${field} ${c.empty ? "IS EMPTY" : "IS NOT EMPTY"}`);
        break;
      case "phrase":
        parts.push(`${field} ~ ${quoteJql(`"${c.value}"`)}`);
        break;
    }
  }
  let jql = parts.join(" AND ");
  if (query.orderBy.length) {
    jql += " ORDER BY " + query.orderBy.map((o) => `${o.field} ${o.direction}`).join(", ");
  }
  return jql;
}
