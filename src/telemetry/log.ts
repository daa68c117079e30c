/**
 * Structured logs: one JSON object per line, with the active trace's ids. Fields whose names
 * suggest a secret are replaced before they are written, and callers log identifiers and
 * figures — never SQL text, source rows, credentials or tokens.
 *
 * @module
 */
import { trace } from "@opentelemetry/api";

/** A log level. */
export type LogLevel = "debug" | "info" | "warn" | "error";

/** Where log lines go. @default stdout for debug/info, stderr for warn/error */
export type LogSink = (line: string, level: LogLevel) => void;

/** Options of {@link Logger}. */
export interface LoggerOptions {
  /** @default console.log / console.error by level */
  sink?: LogSink;
  /** Fields on every line, e.g. `{ role: "edge" }`. @default {} */
  fields?: Record<string, unknown>;
}

const SECRET_KEY = /authorization|token|secret|password|passwd|credential|api[_-]?key|cookie/i;

/**
 * A string field longer than this is cut: a line is for a reader and a log pipeline, and a
 * process that writes a huge one blocks on its output until it is carried away.
 */
const MAX_FIELD_CHARS = 2_000;

function bounded(value: unknown): unknown {
  if (typeof value !== "string" || value.length <= MAX_FIELD_CHARS) return value;
  return `${value.slice(0, MAX_FIELD_CHARS)}… [${value.length - MAX_FIELD_CHARS} more characters]`;
}

/**
 * Info and debug lines leave in batches: one write per turn of the event loop rather than one
 * per line (a busy server logs a line per request, and each write is a system call on the
 * thread that answers). Warnings and errors are written at once.
 */
let pending: string[] = [];
let flushTimer: ReturnType<typeof setTimeout> | undefined;

function flushLogLines(): void {
  clearTimeout(flushTimer);
  flushTimer = undefined;
  if (pending.length === 0) return;
  const lines = pending.join("\n");
  pending = [];
  // One call for the batch: console.log's cost is per call, not per line.
  console.log(lines);
}

globalThis.addEventListener("unload", flushLogLines);

const defaultSink: LogSink = (line, level) => {
  if (level === "warn" || level === "error") {
    flushLogLines(); // keeps the lines in order
    console.error(line);
    return;
  }
  pending.push(line);
  // Unref'd: a pending flush never keeps a process alive (`unload` writes what is left).
  if (flushTimer === undefined) {
    flushTimer = setTimeout(flushLogLines, 0);
    Deno.unrefTimer(flushTimer);
  }
};

/**
 * A structured JSON logger.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { Logger } from "./log.ts";
 * const lines: string[] = [];
 * const log = new Logger({ sink: (l) => lines.push(l), fields: { role: "edge" } });
 * log.info("request", { status: 200, token: "eyJ…", error: "x".repeat(10_000) });
 * assert.ok(JSON.parse(lines[0]).token === "[redacted]");
 * assert.ok(lines[0].length < 2_200); // long fields are cut
 * ```
 */
export class Logger {
  readonly #sink: LogSink;
  readonly #fields: Record<string, unknown>;

  constructor(options: LoggerOptions = {}) {
    this.#sink = options.sink ?? defaultSink;
    this.#fields = options.fields ?? {};
  }

  debug(msg: string, fields?: Record<string, unknown>): void {
    this.#write("debug", msg, fields);
  }

  info(msg: string, fields?: Record<string, unknown>): void {
    this.#write("info", msg, fields);
  }

  warn(msg: string, fields?: Record<string, unknown>): void {
    this.#write("warn", msg, fields);
  }

  error(msg: string, fields?: Record<string, unknown>): void {
    this.#write("error", msg, fields);
  }

  #write(level: LogLevel, msg: string, fields: Record<string, unknown> = {}) {
    const span = trace.getActiveSpan()?.spanContext();
    const line: Record<string, unknown> = {
      ts: new Date().toISOString(),
      level,
      msg: bounded(msg),
      ...(span ? { otel_trace_id: span.traceId, span_id: span.spanId } : {}),
    };
    for (const [key, value] of Object.entries({ ...this.#fields, ...fields })) {
      if (value !== undefined) line[key] = SECRET_KEY.test(key) ? "[redacted]" : bounded(value);
    }
    this.#sink(JSON.stringify(line), level);
  }
}

/**
 * The process's logger for parts built without one of their own.
 *
 * @example
 * ```ts ignore
 * processLog.error("audit write failed", { trace_id: traceId, error: String(err) });
 * ```
 */
export const processLog: Logger = new Logger();
