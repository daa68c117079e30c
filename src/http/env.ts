/**
 * The per-request variables the middleware of edge and workers share.
 *
 * @module
 */
import type { UserClaims } from "../auth/user_token.ts";
import type { QueryRequest } from "../query/request.ts";
import type { Door } from "./door.ts";

/** The budget figures a response shows under `rate_limit_status`. */
export interface BudgetStatus {
  remaining: number;
  reset_ms: number;
  level?: string;
}

/** Hono environment of OmniSQL's apps. */
export interface AppEnv {
  Variables: {
    /** The request's trace id (from `x-trace-id`, the body's metadata, or generated). */
    traceId: string;
    /** The authenticated user, once `authenticate` ran. */
    user: UserClaims;
    /** The validated query request, once `queryRequest` ran. */
    query: QueryRequest;
    /** The caller's budget after this request, once `rateLimit` ran. */
    budget: BudgetStatus;
    /** Set once a component that audits the query itself (a zone's query service) has it. */
    audited: boolean;
    /** What an answer produced here without a worker (a result-cache hit) returned, for audit. */
    answerSummary: { tables: string[]; rows: number };
    /** The door the edge vouched for in a forwarded request's context (see `door.ts`). */
    door: Door;
  };
}
