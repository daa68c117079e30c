/**
 * The HTTP side of metrics: a middleware counting and timing queries, and the `GET /metrics`
 * route serving the app's registry in the Prometheus text format.
 *
 * @module
 */
import type { Handler, MiddlewareHandler } from "hono";
import { OmniError, toOmniError } from "../errors.ts";
import type { AppEnv } from "../http/env.ts";
import type { Metrics, MetricsRecorder } from "./metrics.ts";

/** Options of {@link recordQueries}. */
export interface RecordQueriesOptions {
  metrics: MetricsRecorder;
  /** The zone a tenant's queries run in (`unknown` when it cannot be told). */
  zoneOf(tenant: string): string | undefined | Promise<string | undefined>;
}

/**
 * Middleware recording each query it wraps: `omnisql_queries_total{status,tenant,zone}` (status
 * `ok` or the error code), the latency histogram, and a refusal per spent budget by level. Put
 * it before authentication so that refused callers are counted too.
 *
 * @example
 * ```ts ignore
 * app.use("/v1/query", recordQueries({ metrics, zoneOf: () => "us" }));
 * ```
 */
export function recordQueries(options: RecordQueriesOptions): MiddlewareHandler<AppEnv> {
  const { metrics } = options;
  return async function recordQueriesMiddleware(c, next) {
    const started = performance.now();
    await next();
    const seconds = (performance.now() - started) / 1000;
    const error = c.error ? toOmniError(c.error) : undefined;
    const tenant = c.get("user")?.tenant;
    let zone: string | undefined;
    try {
      zone = tenant ? await options.zoneOf(tenant) : undefined;
    } catch {
      // A catalog hiccup must not turn an answered query into an error; the label is lost.
    }
    metrics.query({
      status: error?.code ?? (c.res.status < 400 ? "ok" : String(c.res.status)),
      tenant: tenant ?? "unknown",
      zone: zone ?? "unknown",
    }, seconds);
    if (error?.code === "RATE_LIMIT_EXHAUSTED") metrics.rateLimitRefused(levelOf(error));
  };
}

function levelOf(error: OmniError): string {
  const level = error.details?.level;
  return typeof level === "string" ? level : "unknown";
}

/**
 * `GET /metrics`: the app's metrics in the Prometheus text exposition format.
 *
 * @example
 * ```ts ignore
 * app.get("/metrics", metricsRoute(metrics));
 * ```
 */
export function metricsRoute(metrics: Metrics): Handler<AppEnv> {
  return async function metricsHandler(c) {
    return c.body(await metrics.render(), 200, { "content-type": metrics.contentType });
  };
}
