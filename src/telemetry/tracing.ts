/**
 * OpenTelemetry traces through `@opentelemetry/api` only: one trace per query across the edge's
 * request, the forward to the zone's worker (W3C `traceparent`), the worker's request, its plan,
 * each source and each call to an app, security and DuckDB. Without a registered provider every
 * call here is a no-op; with `OTEL_DENO=true` Deno exports the spans over OTLP.
 *
 * Every span carries the request's own trace id as `omnisql.trace_id`, so a trace id a caller
 * sent (or got back) finds the OTel trace.
 *
 * @module
 */
import {
  type Attributes,
  type Context,
  context,
  type Span,
  SpanKind,
  SpanStatusCode,
  trace,
  type Tracer,
} from "@opentelemetry/api";
import { W3CTraceContextPropagator } from "@opentelemetry/core";
import type { MiddlewareHandler } from "hono";
import type { TelemetryEnv } from "./env.ts";
import { OmniError } from "../errors.ts";

/** Instrumentation scope name of every OmniSQL span. */
export const TRACER_NAME = "omnisql";

// Explicit rather than the global propagator: the edge → worker hop must carry `traceparent`
// whatever (if anything) registered a global one.
const propagator = new W3CTraceContextPropagator();

const headerGetter = {
  get: (carrier: Headers, key: string) => carrier.get(key) ?? undefined,
  keys: (carrier: Headers) => [...carrier.keys()],
};
const headerSetter = {
  set: (carrier: Headers, key: string, value: string) => carrier.set(key, value),
};

/**
 * The OmniSQL tracer (a proxy: a provider registered later is still used).
 *
 * @example
 * ```ts
 * import { tracer } from "./tracing.ts";
 * tracer().startSpan("noop").end();
 * ```
 */
export function tracer(): Tracer {
  return trace.getTracer(TRACER_NAME);
}

/**
 * Runs `fn` inside an active span that records a thrown error (with its `OmniError` code) and
 * always ends.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { withSpan } from "./tracing.ts";
 * const n = await withSpan("omnisql.example", { attributes: { n: 1 } }, () => Promise.resolve(1));
 * assert.ok(n === 1);
 * ```
 */
export function withSpan<T>(
  name: string,
  options: { kind?: SpanKind; attributes?: Attributes; parent?: Context },
  fn: (span: Span) => Promise<T>,
): Promise<T> {
  const parent = options.parent ?? context.active();
  return tracer().startActiveSpan(
    name,
    { kind: options.kind ?? SpanKind.INTERNAL, attributes: options.attributes },
    parent,
    async (span) => {
      try {
        return await fn(span);
      } catch (err) {
        recordError(span, err);
        throw err;
      } finally {
        span.end();
      }
    },
  );
}

/**
 * Records a phase that has just finished as a span of the active trace: `started` is the
 * `performance.now()` reading taken when the phase began. One line after the phase, so the
 * measured code keeps its shape.
 *
 * @example
 * ```ts
 * import { phaseDone } from "./tracing.ts";
 * const started = performance.now();
 * phaseDone("omnisql.plan", started);
 * ```
 */
export function phaseDone(name: string, started: number, attributes?: Attributes): void {
  tracer().startSpan(name, { startTime: performance.timeOrigin + started, attributes }).end();
}

/** Marks a span failed, naming the error code (never the message: it may quote user input). */
export function recordError(span: Span, err: unknown): void {
  const code = err instanceof OmniError ? err.code : "INTERNAL";
  span.setAttribute("omnisql.error_code", code);
  span.setStatus({ code: SpanStatusCode.ERROR, message: code });
}

/**
 * Middleware opening the server span of a request: a child of the caller's `traceparent` when
 * one came (the edge's forward), tagged with the request's trace id and outcome.
 *
 * @example
 * ```ts ignore
 * app.use(traceId(), traceRequest("edge"));
 * ```
 */
export function traceRequest(role: string): MiddlewareHandler<TelemetryEnv> {
  return function traceRequestMiddleware(c, next) {
    const active = context.active();
    // Deno's own serve instrumentation (OTEL_DENO) may already have opened a server span.
    const parent = trace.getSpan(active)
      ? active
      : propagator.extract(active, c.req.raw.headers, headerGetter);
    return withSpan(
      `${role} ${c.req.method} ${c.req.path}`,
      {
        kind: SpanKind.SERVER,
        parent,
        attributes: {
          "omnisql.role": role,
          "http.request.method": c.req.method,
          "url.path": c.req.path,
        },
      },
      async (span) => {
        await next();
        span.setAttribute("omnisql.trace_id", c.get("traceId"));
        span.setAttribute("http.response.status_code", c.res.status);
        const user = c.get("user");
        if (user) span.setAttribute("omnisql.tenant", user.tenant);
        if (c.error) recordError(span, c.error);
      },
    );
  };
}

/** Options of {@link tracedFetch}. */
export interface TracedFetchOptions {
  /** Attributes every span gets. @default none */
  attributes?: Attributes;
  /** Told each call's status (or `network` when it failed to connect). @default none */
  onResponse?: (status: string) => void;
  /**
   * Whether the URL path is recorded. A source app's paths carry data (`/users/{login}`, issue
   * keys) a trace reader may not be entitled to, so connector calls record only method and host.
   * @default true
   */
  recordPath?: boolean;
}

/**
 * Wraps a `fetch` so that every call is a client span and carries the W3C `traceparent` of
 * that span. Only the host and (unless told not to) the path are recorded: query strings can
 * quote a user's filters.
 *
 * @example
 * ```ts ignore
 * const fetchWorker = tracedFetch(fetch, "omnisql.forward", { attributes: { "omnisql.zone": "eu" } });
 * ```
 */
export function tracedFetch(
  inner: typeof fetch,
  name: string,
  options: TracedFetchOptions = {},
): typeof fetch {
  const { attributes = {}, onResponse, recordPath = true } = options;
  return function tracedFetchCall(input, init) {
    const request = input instanceof Request ? input : undefined;
    const url = new URL(request ? request.url : String(input));
    const method = init?.method ?? request?.method ?? "GET";
    return withSpan(name, {
      kind: SpanKind.CLIENT,
      attributes: {
        ...attributes,
        "http.request.method": method,
        "server.address": url.host,
        ...(recordPath ? { "url.path": url.pathname } : {}),
      },
    }, async (span) => {
      const headers = new Headers(init?.headers ?? request?.headers);
      propagator.inject(context.active(), headers, headerSetter);
      let res: Response;
      try {
        res = await inner(input, { ...init, headers });
      } catch (err) {
        onResponse?.("network");
        throw err;
      }
      onResponse?.(String(res.status));
      span.setAttribute("http.response.status_code", res.status);
      if (res.status >= 500) span.setStatus({ code: SpanStatusCode.ERROR });
      return res;
    });
  };
}
