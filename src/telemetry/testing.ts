/**
 * Test helper: captures the spans OmniSQL emits, in memory, by registering a global tracer
 * provider with parent links carried by `AsyncLocalStorage`. It must run without `OTEL_DENO`
 * (Deno then refuses any other global provider).
 *
 * @module
 */
import { context, trace } from "@opentelemetry/api";
import { AsyncLocalStorageContextManager } from "@opentelemetry/context-async-hooks";
import {
  InMemorySpanExporter,
  type ReadableSpan,
  SimpleSpanProcessor,
  TracerProvider,
} from "@opentelemetry/sdk-trace";

/** Spans captured so far, and how to stop capturing. */
export interface SpanCapture {
  /** Every finished span so far. */
  spans(): ReadableSpan[];
  /** Unregisters the provider and the context manager. */
  stop(): Promise<void>;
}

/**
 * Starts capturing spans.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { captureSpans } from "./testing.ts";
 * import { tracer } from "./tracing.ts";
 * const capture = captureSpans();
 * tracer().startSpan("x").end();
 * assert.ok(capture.spans().some((s) => s.name === "x"));
 * await capture.stop();
 * ```
 */
export function captureSpans(): SpanCapture {
  const exporter = new InMemorySpanExporter();
  const provider = new TracerProvider({
    spanProcessors: [new SimpleSpanProcessor({ exporter })],
  });
  const contextManager = new AsyncLocalStorageContextManager().enable();
  context.setGlobalContextManager(contextManager);
  trace.setGlobalTracerProvider(provider);
  return {
    spans: () => exporter.getFinishedSpans(),
    async stop() {
      await provider.shutdown();
      trace.disable();
      context.disable();
    },
  };
}
