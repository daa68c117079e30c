/**
 * Telemetry: Prometheus metrics per app (`Metrics`, `metricsRoute`; queries are counted by the query pipeline),
 * OpenTelemetry traces (`traceRequest`, `tracedFetch`, `sourceTelemetry`, `withSpan`) and
 * structured JSON logs (`Logger`, `accessLog`). Parts that only record figures depend on the
 * small `MetricsRecorder` interface.
 *
 * @example
 * ```ts ignore
 * import { accessLog, Logger, Metrics, metricsRoute, traceRequest } from "./mod.ts";
 * const metrics = new Metrics();
 * app.use(traceId(), traceRequest("edge"), accessLog(new Logger()));
 * app.get("/metrics", metricsRoute(metrics));
 * ```
 *
 * @module
 */
export * from "./metrics.ts";
export * from "./http_metrics.ts";
export * from "./tracing.ts";
export * from "./source_telemetry.ts";
export * from "./log.ts";
export * from "./access_log.ts";
export * from "./job_depth.ts";
