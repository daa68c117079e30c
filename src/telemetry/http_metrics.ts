/**
 * The HTTP side of metrics: a middleware counting and timing queries, and the `GET /metrics`
 * route serving the app's registry in the Prometheus text format.
 *
 * @module
 */
import type { Handler, MiddlewareHandler } from "hono";
import { OmniError, toOmniError } from "../errors.ts";
import type { TelemetryEnv } from "./env.ts";
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
export function recordQueries(options: RecordQueriesOptions): MiddlewareHandler<TelemetryEnv> {
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

/** Options of {@link metricsRoute}. */
export interface MetricsRouteOptions {
  /**
   * The scrape token (`OMNISQL_METRICS_TOKEN`): with it, `/metrics` answers only requests that
   * carry `Authorization: Bearer <token>` (401 otherwise). @default open (the local stack only)
   */
  token?: string;
}

/**
 * `GET /metrics`: the app's metrics in the Prometheus text exposition format, behind the scrape
 * token when one is configured.
 *
 * @example
 * ```ts ignore
 * app.get("/metrics", metricsRoute(metrics, { token: config.metricsToken }));
 * ```
 */
export function metricsRoute(
  metrics: Metrics,
  options: MetricsRouteOptions = {},
): Handler<TelemetryEnv> {
  const expected = options.token ? new TextEncoder().encode(`Bearer ${options.token}`) : undefined;
  return async function metricsHandler(c) {
    if (
      expected &&
      !sameBytes(new TextEncoder().encode(c.req.header("authorization") ?? ""), expected)
    ) {
      throw new OmniError("UNAUTHENTICATED", "/metrics needs the scrape token (Bearer)");
    }
    return c.body(await metrics.render(), 200, { "content-type": metrics.contentType });
  };
}

/** Compares in time independent of where the bytes differ. */
function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  let diff = a.length ^ b.length;
  for (let i = 0; i < b.length; i++) diff |= (a[i] ?? 0) ^ b[i];
  return diff === 0;
}
