/**
 * Telemetry around each source of a query, as source-fetch middleware: a span per source
 * (table, rows, pages, calls, whether a cache answered), a client span and a request count per
 * HTTP call to the app, a source-cache hit or miss per fetch, and an error count per failed
 * fetch. It goes outermost, so a cached answer still shows as its source's span.
 *
 * @module
 */
import { SpanKind } from "@opentelemetry/api";
import { toOmniError } from "../errors.ts";
import type { SourceMiddleware } from "../source/fetch.ts";
import type { MetricsRecorder } from "./metrics.ts";
import { tracedFetch, withSpan } from "./tracing.ts";

/**
 * Builds the telemetry source middleware.
 *
 * @example
 * ```ts ignore
 * new QueryService({ ..., sourceMiddleware: [sourceTelemetry(metrics), ...others] });
 * ```
 */
export function sourceTelemetry(metrics: MetricsRecorder): SourceMiddleware {
  return (next) =>
    function fetchWithTelemetry(source, ctx) {
      const connector = source.connector.id;
      return withSpan(`source ${source.key}`, {
        kind: SpanKind.INTERNAL,
        attributes: {
          "omnisql.source": source.key,
          "omnisql.connector": connector,
          "omnisql.trace_id": ctx.traceId,
        },
      }, async (span) => {
        const fetch = tracedFetch(ctx.fetch ?? globalThis.fetch, `${connector} call`, {
          attributes: { "omnisql.connector": connector },
          onResponse: (status) => metrics.connectorRequest(connector, status),
          recordPath: false,
        });
        try {
          const fetched = await next(source, { ...ctx, fetch });
          span.setAttributes({
            "omnisql.rows": fetched.rows.length,
            "omnisql.pages": fetched.pages,
            "omnisql.calls": fetched.calls,
            "omnisql.from_cache": fetched.fromCache,
          });
          // Outermost, this sees whether any cache below answered instead of the app.
          if (fetched.fromCache) metrics.cacheHit("source");
          else metrics.cacheMiss("source");
          return fetched;
        } catch (err) {
          metrics.connectorError(connector, toOmniError(err).code);
          throw err;
        }
      });
    };
}
