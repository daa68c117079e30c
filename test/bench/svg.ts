/**
 * A small hand-written SVG line chart: latency (P50 solid, P99 dashed) against concurrency, one
 * colour per load driver.
 *
 * @module
 */
import type { CachedLevel } from "./cached.ts";

const COLOURS: Record<string, string> = { wrk: "#1f77b4", deno: "#d62728" };

/** Renders the chart of scenario 1's levels. */
export function latencyChart(levels: readonly CachedLevel[], title: string): string {
  const W = 560, H = 320, L = 60, R = 130, T = 36, B = 44;
  const xs = [...new Set(levels.map((l) => l.concurrency))].sort((a, b) => a - b);
  const maxY = Math.max(1, ...levels.map((l) => l.p99.median).filter(Number.isFinite)) * 1.1;
  const x = (c: number) =>
    L + (xs.length === 1 ? 0 : (xs.indexOf(c) / (xs.length - 1)) * (W - L - R));
  const y = (ms: number) => T + (1 - ms / maxY) * (H - T - B);
  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif" font-size="11">`,
    `<rect width="${W}" height="${H}" fill="white"/>`,
    `<text x="${W / 2}" y="18" text-anchor="middle" font-size="13">${escape(title)}</text>`,
    `<line x1="${L}" y1="${H - B}" x2="${W - R}" y2="${H - B}" stroke="#333"/>`,
    `<line x1="${L}" y1="${T}" x2="${L}" y2="${H - B}" stroke="#333"/>`,
    `<text x="${(L + W - R) / 2}" y="${H - 8}" text-anchor="middle">concurrent connections</text>`,
    `<text x="14" y="${(T + H - B) / 2}" text-anchor="middle" transform="rotate(-90 14 ${
      (T + H - B) / 2
    })">latency (ms)</text>`,
  ];
  for (const c of xs) {
    parts.push(`<text x="${x(c)}" y="${H - B + 16}" text-anchor="middle">${c}</text>`);
  }
  for (let i = 0; i <= 4; i++) {
    const v = (maxY * i) / 4;
    parts.push(
      `<line x1="${L}" y1="${y(v)}" x2="${W - R}" y2="${y(v)}" stroke="#eee"/>`,
      `<text x="${L - 6}" y="${y(v) + 4}" text-anchor="end">${
        v < 10 ? v.toFixed(1) : Math.round(v)
      }</text>`,
    );
  }
  const drivers = [...new Set(levels.map((l) => l.driver))];
  drivers.forEach((driver, i) => {
    const colour = COLOURS[driver] ?? "#555";
    const series = levels.filter((l) => l.driver === driver);
    for (const [key, dash] of [["p50", ""], ["p99", ' stroke-dasharray="5 4"']] as const) {
      const points = series.filter((l) => Number.isFinite(l[key].median))
        .map((l) => `${x(l.concurrency).toFixed(1)},${y(l[key].median).toFixed(1)}`).join(" ");
      parts.push(
        `<polyline fill="none" stroke="${colour}" stroke-width="2"${dash} points="${points}"/>`,
      );
    }
    const ly = T + 10 + i * 36;
    parts.push(
      `<line x1="${W - R + 12}" y1="${ly}" x2="${
        W - R + 36
      }" y2="${ly}" stroke="${colour}" stroke-width="2"/>`,
      `<text x="${W - R + 40}" y="${ly + 4}">${driver} P50</text>`,
      `<line x1="${W - R + 12}" y1="${ly + 16}" x2="${W - R + 36}" y2="${
        ly + 16
      }" stroke="${colour}" stroke-width="2" stroke-dasharray="5 4"/>`,
      `<text x="${W - R + 40}" y="${ly + 20}">${driver} P99</text>`,
    );
  });
  parts.push("</svg>");
  return parts.join("\n") + "\n";
}

function escape(s: string): string {
  return s.replace(/&/g, "&amp;").replace(/</g, "&lt;");
}
