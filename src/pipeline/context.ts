/**
 * What one query carries through the pipeline (`pipeline.ts`), whatever door it came in by: the
 * verified identity, the tenant row (resolved once), the budget it spent, the validated request,
 * the trace, and — once a step answers — the answer.
 *
 * @module
 */
import type { UserClaims } from "../auth/user_token.ts";
import type { TenantRow } from "../catalog/schema.ts";
import type { QueryRequest } from "../query/request.ts";
import type { OmniError } from "../errors.ts";

/** The ways into OmniSQL, recorded with each query in the audit log. */
export type Door = "http" | "pg" | "mcp";

/** The budget figures an answer shows under `rate_limit_status`. */
export interface BudgetStatus {
  remaining: number;
  reset_ms: number;
  level?: string;
}

/** One query handed to {@link QueryPipeline.run}. */
export interface QueryInput {
  /** The door it came in by. */
  door: Door;
  /** The user's bearer token (public doors). */
  token?: string;
  /** The user's own app token for passthrough connections (`x-omnisql-passthrough-token`). */
  passthroughToken?: string;
  /**
   * An identity another component verified (the edge's signed context on a zone's internal
   * route); `token` is then ignored.
   */
  user?: UserClaims;
  /**
   * The request body `{sql, metadata?}`, or a function reading it (read only once the caller is
   * identified, so a stranger's malformed body is answered 401, not 400).
   */
  body: unknown | (() => Promise<unknown>);
  /** @default a fresh UUID (the body's `metadata.trace_id` wins) */
  traceId?: string;
  /** Aborts the query when the caller goes away. */
  signal?: AbortSignal;
  /** The caller's budget as the edge spent it (a zone's internal route): folded into the answer. */
  budget?: BudgetStatus;
  /**
   * Settles once the answer has left the process (the HTTP response is sent): work a query
   * leaves behind (cache writes) waits for it, so that it does not hold up the answer.
   * @default the answer is out when the pipeline returns
   */
  delivered?: Promise<void>;
}

/** What a step produced as the answer. */
export interface StepAnswer {
  status: number;
  /** The JSON body: an object, or already encoded (a result-cache hit). */
  body: Record<string, unknown> | string;
  /** What the audit records of an answer (tables read, rows returned). */
  summary?: { tables: string[]; rows: number | null };
}

/** The answer of {@link QueryPipeline.run}: status, encoded JSON body and headers. */
export interface QueryAnswer {
  status: number;
  /** The JSON text of the body. */
  body: string;
  headers: Record<string, string>;
  traceId: string;
  /** Who asked, once identified. */
  user?: UserClaims;
  /** The error answered, if any (for access logs). */
  error?: OmniError;
}

/** The state of one query in the pipeline. */
export interface QueryContext {
  readonly input: QueryInput;
  /** `performance.now()` when the query came in. */
  readonly started: number;
  traceId: string;
  signal: AbortSignal;
  user?: UserClaims;
  tenant?: TenantRow;
  budget?: BudgetStatus;
  request?: QueryRequest;
  /**
   * Set when the component that answered (or refused) has recorded the query itself: a zone,
   * for a query the edge forwarded.
   */
  recorded?: boolean;
  /**
   * Set when the caller left before the zone answered: whether the zone, which still answers,
   * recorded the query (the pipeline records it otherwise, once that is known).
   */
  recordedLater?: Promise<boolean>;
  /** Set by the step that answers; later steps do not run. */
  answer?: StepAnswer;
  /** Work to do once the query is answered (e.g. fill the result cache with a 200). */
  after: ((answer: StepAnswer) => Promise<void>)[];
}

/** One named step of the pipeline. */
export type Step = (ctx: QueryContext) => Promise<void> | void;
