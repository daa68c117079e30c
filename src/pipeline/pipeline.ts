/**
 * The query pipeline: one path for every `POST /v1/query`, whichever door it comes in by (the
 * edge's HTTP route, a zone's own route, the Postgres wire protocol, MCP). It is built once per
 * app from named steps (`steps.ts`) over a {@link QueryContext}; the edge and a zone differ only
 * in their last step (forward to the zone vs. execute here).
 *
 * The pipeline owns the audit: whatever the outcome, once the caller is identified it writes the
 * query's record exactly once — unless the component that answered recorded it itself (a zone,
 * for a query the edge forwarded) or the answer is a queued job (recorded when it runs). The
 * record goes to an {@link AuditJournal}: durable before the answer leaves, committed to the
 * hash chain in batches. An answer whose record cannot be made durable is withheld (500).
 *
 * @module
 */
import type { AuditJournal } from "../audit/journal.ts";
import { loggableError, OmniError, toOmniError } from "../errors.ts";
import { type MetricsRecorder, NO_METRICS } from "../telemetry/metrics.ts";
import { processLog } from "../telemetry/log.ts";
import { parseQuery } from "../sql/parse.ts";
import type { Door, QueryAnswer, QueryContext, QueryInput, Step, StepAnswer } from "./context.ts";

/** Options of {@link QueryPipeline}. */
export interface QueryPipelineOptions {
  /** The steps, in order; the last one answers. */
  steps: Step[];
  /** Where query records go (none: not audited here, e.g. a test app). */
  journal?: AuditJournal;
  /** The zone a query's record and metrics name. */
  zoneOf(ctx: QueryContext): string;
  /** @default no metrics */
  metrics?: Pick<MetricsRecorder, "query" | "rateLimitRefused">;
}

/**
 * Runs queries through the steps of one app.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { QueryPipeline } from "./pipeline.ts";
 * const pipeline = new QueryPipeline({
 *   steps: [(ctx) => void (ctx.answer = { status: 200, body: { rows: [] } })],
 *   zoneOf: () => "us",
 * });
 * const answer = await pipeline.run({ door: "pg", body: { sql: "SELECT 1" } });
 * assert.equal(answer.status, 200);
 * assert.deepEqual(JSON.parse(answer.body), { rows: [] });
 * ```
 */
export class QueryPipeline {
  readonly #options: QueryPipelineOptions;

  constructor(options: QueryPipelineOptions) {
    if (options.steps.length === 0) throw new Error("a pipeline needs at least one step");
    this.#options = options;
  }

  /** Runs one query: its answer, errors included (never throws). */
  async run(input: QueryInput): Promise<QueryAnswer> {
    const ctx: QueryContext = {
      input,
      started: performance.now(),
      traceId: input.traceId ?? crypto.randomUUID(),
      signal: input.signal ?? new AbortController().signal,
      after: [],
      ...(input.budget ? { budget: input.budget } : {}),
    };
    let answer: StepAnswer;
    let error: OmniError | undefined;
    try {
      for (const step of this.#options.steps) {
        await step(ctx);
        if (ctx.answer) break;
      }
      if (!ctx.answer) throw new Error("the pipeline ended without an answer");
      answer = ctx.answer;
      for (const after of ctx.after) await after(answer);
    } catch (err) {
      error = toOmniError(err);
      answer = { status: error.status, body: {} };
    }
    const recorded = await this.#audit(ctx, answer, error);
    if (recorded) error = recorded;
    this.#count(ctx, answer, error);
    if (error) return { ...errorAnswer(error, ctx.traceId), user: ctx.user, error };
    const body = typeof answer.body === "string" ? answer.body : JSON.stringify(answer.body);
    return {
      status: answer.status,
      body,
      headers: { "content-type": "application/json" },
      traceId: ctx.traceId,
      user: ctx.user,
    };
  }

  /** Writes the query's record; returns the error that withholds the answer if it cannot. */
  async #audit(
    ctx: QueryContext,
    answer: StepAnswer,
    error: OmniError | undefined,
  ): Promise<OmniError | undefined> {
    const { journal } = this.#options;
    // A caller not identified (bad token, unknown tenant) has no chain to record in; a queued
    // job is recorded when it runs; a zone that answered a forwarded query has recorded it.
    if (!journal || !ctx.user || !ctx.tenant || answer.status === 202 || ctx.recorded) {
      return undefined;
    }
    const ok = !error && answer.status < 400;
    const user = ctx.user;
    const record = () =>
      journal.record({
        tenantId: user.tenant,
        userEmail: user.sub,
        zone: this.#options.zoneOf(ctx),
        traceId: ctx.traceId,
        sql: ctx.request?.sql ?? "",
        tables: ok ? answer.summary?.tables ?? [] : namedTables(ctx.request?.sql),
        rows: ok ? answer.summary?.rows ?? null : null,
        status: error?.status ?? answer.status,
        errorCode: error?.code ?? null,
        kind: "query",
        door: doorOf(ctx.input.door),
      });
    const { recordedLater } = ctx;
    if (recordedLater) {
      // The caller left, and no answer will reach it: recorded once the zone says it did not.
      void recordedLater.then((recorded) => recorded ? undefined : record()).catch((err) =>
        processLog.error("audit write failed", {
          trace_id: ctx.traceId,
          error: loggableError(err),
        })
      );
      return undefined;
    }
    try {
      await record();
      return undefined;
    } catch (err) {
      processLog.error("audit write failed", { trace_id: ctx.traceId, error: loggableError(err) });
      if (!ok) return undefined;
      return new OmniError(
        "INTERNAL",
        "the query could not be audited, so its result is withheld",
        { cause: err },
      );
    }
  }

  #count(ctx: QueryContext, answer: StepAnswer, error: OmniError | undefined): void {
    const metrics = this.#options.metrics ?? NO_METRICS;
    // A caller who left is not an error of any step: counted apart, whatever the answer said.
    const status = error && ctx.signal.aborted
      ? "cancelled"
      : error?.code ?? (answer.status < 400 ? "ok" : String(answer.status));
    metrics.query({
      status,
      tenant: ctx.user?.tenant ?? "unknown",
      zone: ctx.user ? this.#options.zoneOf(ctx) : "unknown",
    }, (performance.now() - ctx.started) / 1000);
    if (error?.code === "RATE_LIMIT_EXHAUSTED") {
      const level = error.details?.level;
      metrics.rateLimitRefused(typeof level === "string" ? level : "unknown");
    }
  }
}

/**
 * The tables a query names, schema-qualified and each once: what the record of a query that
 * failed lists (a timeout, a refusal), where no answer says which sources were read.
 */
function namedTables(sql: string | undefined): string[] {
  if (!sql) return [];
  try {
    const named = parseQuery(sql).analysis.tables.flatMap((t) =>
      t.schema ? [`${t.schema}.${t.table}`.toLowerCase()] : []
    );
    return [...new Set(named)];
  } catch {
    return []; // not SQL: the record's text says what was sent
  }
}

const DOORS: readonly Door[] = ["http", "pg", "mcp"];

function doorOf(door: string): Door {
  // The label comes from code, but a record must never carry an arbitrary string.
  return (DOORS as readonly string[]).includes(door) ? door as Door : "http";
}

/**
 * The answer of an error: its status, `{error, trace_id}` body, and `Retry-After` when it has
 * a wait. An `INTERNAL` error is logged with its cause and reveals nothing.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { OmniError } from "../errors.ts";
 * import { errorAnswer } from "./pipeline.ts";
 * const a = errorAnswer(new OmniError("RATE_LIMIT_EXHAUSTED", "spent", { retryAfterMs: 1500 }), "t");
 * assert.equal(a.status, 429);
 * assert.equal(a.headers["retry-after"], "2");
 * ```
 */
export function errorAnswer(error: OmniError, traceId: string): QueryAnswer {
  if (error.code === "INTERNAL") {
    processLog.error("unhandled error", {
      trace_id: traceId,
      error: loggableError(error.cause),
    });
  }
  const headers: Record<string, string> = { "content-type": "application/json" };
  if (error.retryAfterMs !== undefined) {
    headers["retry-after"] = String(Math.max(1, Math.ceil(error.retryAfterMs / 1000)));
  }
  return { status: error.status, body: JSON.stringify(error.toBody(traceId)), headers, traceId };
}
