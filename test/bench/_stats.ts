/**
 * Summaries the report prints: a median with its min–max over repeated runs, and latency
 * percentiles over one run's samples.
 *
 * @module
 */

/** A figure over repeated runs. */
export interface Spread {
  median: number;
  min: number;
  max: number;
  runs: number;
}

/** The median, min and max of repeated measurements (rounded to 0.1). */
export function spread(values: readonly number[]): Spread {
  if (values.length === 0) return { median: NaN, min: NaN, max: NaN, runs: 0 };
  const sorted = [...values].sort((a, b) => a - b);
  return {
    median: round(percentile(sorted, 50)),
    min: round(sorted[0]),
    max: round(sorted[sorted.length - 1]),
    runs: values.length,
  };
}

/** The p-th percentile of ascending `sorted` values (nearest rank). */
export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return NaN;
  const rank = Math.ceil((p / 100) * sorted.length) - 1;
  return sorted[Math.min(sorted.length - 1, Math.max(0, rank))];
}

/** Rounds to one decimal. */
export function round(x: number): number {
  return Math.round(x * 10) / 10;
}

/** `median (min–max)` with a unit. */
export function fmt(s: Spread, unit = ""): string {
  if (s.runs === 0 || Number.isNaN(s.median)) return "n/a";
  const u = unit ? ` ${unit}` : "";
  return s.runs === 1 || s.min === s.max
    ? `${num(s.median)}${u}`
    : `${num(s.median)}${u} (${num(s.min)}–${num(s.max)})`;
}

/** A number for humans: thousands separated, at most one decimal. */
export function num(x: number): string {
  if (!Number.isFinite(x)) return "n/a";
  return Math.abs(x) >= 100
    ? Math.round(x).toLocaleString("en-US")
    : (Math.round(x * 10) / 10).toString();
}
