/**
 * What a user may see of the requests a query sent to its sources. A request can carry values
 * the user may not read: a REST detail fetch such as `GET /users/{login}` names every author, also
 * for a user who sees authors as `[HIDDEN]`; a dependent join sends the build side's keys; a row rule
 * applied after the fetch leaves the hidden rows' values in the requests that fetched them. This
 * is the one place that decides: every token of a request line (path segment, query value, quoted
 * literal) equal to a value the user may not read — a value of a masked or blocked column, or a
 * value only rows hidden by a row rule hold — is shown templated as `{column}`.
 *
 * @module
 */
import type { Row } from "../../connectors/sdk/table.ts";
import type { QueryGuard } from "./guard.ts";

/** One source of a query: its rows as fetched, and as the guard let the user see them. */
export interface GuardedRows {
  key: string;
  /** The rows as the source returned them. */
  fetched: readonly Row[];
  /** The same rows after the guard (filtered, masked). */
  visible: readonly Row[];
}

/** Turns a request line into what the user may see of it. */
export type RequestRedactor = (line: string) => string;

// Values shorter than this are not templated: they say nothing about a hidden row and are too
// common as URL fragments (`per_page=10`, `state=all`).
const MIN_SECRET_LENGTH = 3;
const DELIMITERS = /([\s/?&=,:+'"()[\]{}]+)/;

/**
 * Builds the redactor of one query's request lines from its sources' rows and the user's guard.
 * Text values are what can be hidden; numbers and booleans of hidden rows are shown (an id says
 * nothing its row does not).
 *
 * The rows are only searched for the tokens of the lines: a query has a few request lines and
 * hundreds of rows of tens of columns, and a set of every value they hold cost more than the rest
 * of a warm query. `lines` (optional) are the lines it will be asked about, searched for in one
 * pass; any other line's new tokens are searched for when it comes.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { requestRedactor } from "./visible_requests.ts";
 * import { OPEN_GUARD } from "./guard.ts";
 * const guard = { ...OPEN_GUARD, pushdown: () => ({ unpushable: ["author"], columns: [], limit: true }) };
 * const redact = requestRedactor(guard, [{
 *   key: "github.pull_requests",
 *   fetched: [{ author: "ivan-mobile" }],
 *   visible: [{ author: "[HIDDEN]" }],
 * }]);
 * assert.equal(redact("GET /users/ivan-mobile"), "GET /users/{author}");
 * assert.equal(redact("GET /repos/acme/app/pulls?state=all"), "GET /repos/acme/app/pulls?state=all");
 * ```
 */
export function requestRedactor(
  guard: QueryGuard,
  sources: GuardedRows[],
  lines: Iterable<string> = [],
): RequestRedactor {
  const hiddenColumns = sources.map(({ key }) => new Set(guard.pushdown?.(key).unpushable ?? []));
  // Nothing hidden (no row rule filtered, no column masked or blocked): every line as it is.
  if (sources.every(({ fetched, visible }, i) => visible === fetched && !hiddenColumns[i].size)) {
    return (line) => line;
  }
  /** Token → the column it is templated as, or null when it is shown. */
  const known = new Map<string, string | null>();
  const learn = (tokens: Set<string>) => {
    // Hidden: a masked or blocked column's value, or one only rows hidden by a row rule hold.
    // A value held by several columns is templated as the last one that holds it.
    const held = new Map<string, string>();
    for (const { fetched } of sources) {
      for (const row of fetched) {
        for (const column in row) {
          const value = row[column];
          if (typeof value === "string" && tokens.has(value)) held.set(value, column.toLowerCase());
        }
      }
    }
    if (held.size > 0) {
      sources.forEach(({ visible }, i) => {
        const hidden = hiddenColumns[i];
        for (const row of visible) {
          for (const column in row) {
            const value = row[column];
            if (typeof value === "string" && held.has(value) && !hidden.has(column.toLowerCase())) {
              held.delete(value);
            }
          }
        }
      });
    }
    for (const token of tokens) known.set(token, held.get(token) ?? null);
  };
  const unknownTokens = (line: string, into: Set<string>) => {
    for (const token of line.split(DELIMITERS)) {
      for (const candidate of [token, decoded(token)]) {
        if (candidate.length >= MIN_SECRET_LENGTH && !known.has(candidate)) into.add(candidate);
      }
    }
  };
  const first = new Set<string>();
  for (const line of lines) unknownTokens(line, first);
  if (first.size > 0) learn(first);
  return function redactRequest(line) {
    const missing = new Set<string>();
    unknownTokens(line, missing);
    if (missing.size > 0) learn(missing);
    return line.split(DELIMITERS).map((token) => {
      const column = known.get(token) ?? known.get(decoded(token));
      return column == null ? token : `{${column}}`;
    }).join("");
  };
}

/**
 * Whether the user may see a count of the calls made to a connection (its budget's `remaining`,
 * the app's own or the tenant's quota). The count moves with every call through the connection,
 * those of a source that conceals included, so comparing it before and after a query says how many
 * calls that query made: only a user from whom none of the connection's tables (`keys`) hides
 * anything — no row rule, no masked or blocked column, not denied — may see it.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { seesCallCounts } from "./visible_requests.ts";
 * import { OPEN_GUARD } from "./guard.ts";
 * assert.equal(seesCallCounts(OPEN_GUARD, ["github.pull_requests"]), true);
 * const ruled = { ...OPEN_GUARD, rowFilters: () => [{ column: "team_id", op: "=" as const, value: "web" }] };
 * assert.equal(seesCallCounts(ruled, ["github.pull_requests"]), false);
 * ```
 */
export function seesCallCounts(guard: QueryGuard, keys: readonly string[]): boolean {
  return keys.every((key) => {
    if (guard.rowFilters(key).length > 0) return false;
    if ((guard.pushdown?.(key).unpushable.length ?? 0) > 0) return false;
    try {
      guard.check([{ key, columns: [] }]);
      return true;
    } catch {
      return false;
    }
  });
}

/** A pushdown summary's text fields (native requests, pushed and residual predicates). */
export interface PushdownText {
  native?: string[];
  pushed?: string[];
  residual?: string[];
}

/**
 * A source's pushdown summary as the user may see it: its native requests and its pushed and
 * residual predicates (a dependent join pushes the other side's keys) through the redactor.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { visiblePushdown } from "./visible_requests.ts";
 * const shown = visiblePushdown(
 *   { native: ["GET /users/ivan"], pushed: ["login = 'ivan'"], columns: ["login"] },
 *   (line) => line.replaceAll("ivan", "{login}"),
 * );
 * assert.deepEqual(shown.native, ["GET /users/{login}"]);
 * assert.deepEqual(shown.pushed, ["login = '{login}'"]);
 * assert.deepEqual(shown.columns, ["login"]);
 * ```
 */
export function visiblePushdown<T extends PushdownText>(summary: T, redact: RequestRedactor): T {
  return {
    ...summary,
    ...(summary.native ? { native: summary.native.map(redact) } : {}),
    ...(summary.pushed ? { pushed: summary.pushed.map(redact) } : {}),
    ...(summary.residual ? { residual: summary.residual.map(redact) } : {}),
  };
}

/** One source's requests as sent, and as planned from the query alone (what EXPLAIN shows). */
export interface SourceRequests<T extends PushdownText> {
  /** The requests as reported (capped, each cut), and the predicates. */
  sent: T;
  /** Every request as sent, whole: a hidden value past a cut or a cap conceals too. */
  sentInFull?: readonly string[];
  planned: T;
  /** The guard removed some of the rows it fetched (a row rule the app could not apply). */
  rowsHidden: boolean;
  /** Its requests were built from another source's rows that conceal (a dependent join's keys). */
  fromConcealing?: boolean;
  /**
   * Served from a cache to a user from whom its table hides something: the requests of the fetch
   * that filled it, made for whoever asked then, may have carried values this user may not read.
   */
  unknownRequests?: boolean;
}

/**
 * What a user may see of one source's requests, and whether the source conceals: templating a
 * value leaves how many requests were sent, and how many values each carried (a GraphQL batch's
 * variables, a detail fetch per author, a page per hundred rows a row rule hides). Those counts
 * are about rows or values the user may not read — how many distinct authors, how many rows
 * exist — so a source whose requests carry any hidden value, whose rows a row rule filtered after
 * the fetch, whose requests come from such a source's rows, or which a cache served to a user its
 * table hides something from, shows its planned requests instead (made from the query alone), and
 * its request counts are withheld by the caller.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { visibleRequests } from "./visible_requests.ts";
 * const redact = (line: string) => line.replaceAll("ivan", "{author}");
 * const planned = { native: ["POST /graphql (emails, per 100 distinct authors)"] };
 * const shown = visibleRequests({
 *   sent: { native: ['POST /graphql variables={"l0":"ivan","l1":"ivan2"}'] },
 *   planned,
 *   rowsHidden: false,
 * }, redact);
 * assert.equal(shown.conceals, true);
 * assert.deepEqual(shown.pushdown, planned);
 * ```
 */
export function visibleRequests<T extends PushdownText>(
  source: SourceRequests<T>,
  redact: RequestRedactor,
): { pushdown: T; conceals: boolean } {
  const { sent, planned } = source;
  const lines = [
    ...sent.native ?? [],
    ...sent.pushed ?? [],
    ...sent.residual ?? [],
    ...source.sentInFull ?? [],
  ];
  const conceals = source.rowsHidden || source.fromConcealing === true ||
    source.unknownRequests === true || lines.some((line) => redact(line) !== line);
  return { pushdown: visiblePushdown(conceals ? planned : sent, redact), conceals };
}

function decoded(token: string): string {
  if (!token.includes("%")) return token;
  try {
    return decodeURIComponent(token);
  } catch {
    return token;
  }
}
