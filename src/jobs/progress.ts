/**
 * Progress of running jobs, counted by a source-fetch middleware: every source a job's query
 * starts and finishes, with the rows the user may see and its pages (unless a row rule hid some of
 * its rows). Queries are told apart by trace id; queries no job tracks pass through untouched.
 *
 * @module
 */
import type { SourceMiddleware } from "../source/fetch.ts";
import type { JobProgressCounts } from "./store.ts";

/**
 * The progress counters of the jobs a worker runs.
 *
 * @example
 * ```ts
 * import { JobProgress } from "./progress.ts";
 * const progress = new JobProgress();
 * const stop = progress.track("trace-1", (counts) => console.log(counts.sources_done));
 * stop();
 * ```
 */
export class JobProgress {
  readonly #tracked = new Map<
    string,
    { counts: JobProgressCounts; onChange: (c: JobProgressCounts) => void }
  >();

  /** Counts the sources of the query with this trace id; returns a function that stops it. */
  track(traceId: string, onChange: (counts: JobProgressCounts) => void): () => void {
    const entry = {
      counts: { sources_done: 0, sources_total: 0, pages: 0, rows: 0 },
      onChange,
    };
    this.#tracked.set(traceId, entry);
    return () => {
      if (this.#tracked.get(traceId) === entry) this.#tracked.delete(traceId);
    };
  }

  /** The middleware that counts; put it outermost so cached sources count too. */
  middleware(): SourceMiddleware {
    return (next) => async (source, ctx) => {
      const entry = this.#tracked.get(ctx.traceId);
      if (!entry) return await next(source, ctx);
      entry.counts.sources_total++;
      entry.onChange({ ...entry.counts });
      const result = await next(source, ctx);
      entry.counts.sources_done++;
      // Rows the user may see: a count before the row rules would tell how many rows exist, and
      // so would the pages it took to fetch them (counted only when the rules hid none).
      const visible = (await ctx.visibleRows?.(source.key, result.rows)) ?? 0;
      entry.counts.rows += visible;
      if (visible === result.rows.length) entry.counts.pages += result.pages;
      entry.onChange({ ...entry.counts });
      return result;
    };
  }
}
