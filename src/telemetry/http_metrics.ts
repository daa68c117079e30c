/**
 * The HTTP side of metrics: the `GET /metrics` route serving the app's registry in the
 * Prometheus text format. (Queries are counted and timed by the query pipeline, whichever door
 * they come in by.)
 *
 * @module
 */
import type { Handler } from "hono";
import { OmniError } from "../errors.ts";
import type { TelemetryEnv } from "./env.ts";
import type { Metrics } from "./metrics.ts";

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
