/**
 * Summarises a V8 `.cpuprofile` (from `deno run --cpu-prof`): the frames with the most self
 * time, and self time per file, so the report can name the biggest cost.
 *
 * ```sh
 * deno run -A --cpu-prof --cpu-prof-dir=/tmp/prof test/bench/main.ts --quick --only cached
 * deno run -A test/bench/cpu_profile.ts /tmp/prof
 * ```
 *
 * @module
 */

/** One line of the summary. */
export interface ProfileLine {
  name: string;
  selfPct: number;
}

/** The summary of one profile. */
export interface ProfileSummary {
  file: string;
  totalMs: number;
  frames: ProfileLine[];
  files: ProfileLine[];
}

interface CpuNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
}

/** Summarises the newest `.cpuprofile` in `path` (a file or a directory). */
export async function summariseProfile(path: string, top = 15): Promise<ProfileSummary> {
  let file = path;
  if ((await Deno.stat(path)).isDirectory) {
    const found: { name: string; mtime: number }[] = [];
    for await (const e of Deno.readDir(path)) {
      if (!e.name.endsWith(".cpuprofile")) continue;
      const s = await Deno.stat(`${path}/${e.name}`);
      found.push({ name: `${path}/${e.name}`, mtime: s.mtime?.getTime() ?? 0 });
    }
    if (!found.length) throw new Error(`no .cpuprofile in ${path}`);
    file = found.sort((a, b) => b.mtime - a.mtime)[0].name;
  }
  const profile = JSON.parse(await Deno.readTextFile(file)) as {
    nodes: CpuNode[];
    startTime: number;
    endTime: number;
  };
  const hits = profile.nodes.reduce((n, node) => n + (node.hitCount ?? 0), 0) || 1;
  const byFrame = new Map<string, number>();
  const byFile = new Map<string, number>();
  for (const node of profile.nodes) {
    const h = node.hitCount ?? 0;
    if (!h) continue;
    const { functionName, url, lineNumber } = node.callFrame;
    const short = shorten(url);
    const frame = `${functionName || "(anonymous)"} ${short ? `${short}:${lineNumber + 1}` : ""}`
      .trim();
    byFrame.set(frame, (byFrame.get(frame) ?? 0) + h);
    const f = short || `(${functionName})`;
    byFile.set(f, (byFile.get(f) ?? 0) + h);
  }
  const rank = (m: Map<string, number>) =>
    [...m].sort((a, b) => b[1] - a[1]).slice(0, top)
      .map(([name, h]) => ({ name, selfPct: Math.round((h / hits) * 1000) / 10 }));
  return {
    file,
    totalMs: Math.round((profile.endTime - profile.startTime) / 1000),
    frames: rank(byFrame),
    files: rank(byFile),
  };
}

/** Markdown of a summary. */
export function profileMarkdown(s: ProfileSummary): string {
  const table = (title: string, lines: ProfileLine[]) =>
    [
      `| ${title} | self % |`,
      "| --- | ---: |",
      ...lines.map((l) => `| \`${l.name}\` | ${l.selfPct} |`),
    ]
      .join("\n");
  return [
    `Profile \`${s.file.split("/").pop()}\` (${s.totalMs} ms of wall time sampled).`,
    "",
    table("frame (self time)", s.frames),
    "",
    table("file (self time)", s.files),
    "",
  ].join("\n");
}

function shorten(url: string): string {
  if (!url) return "";
  const i = url.indexOf("/node_modules/.deno/");
  if (i >= 0) return url.slice(i + "/node_modules/.deno/".length).replace(/\/node_modules\//, ":");
  const j = url.indexOf("/work/main/");
  return j >= 0 ? url.slice(j + "/work/main/".length) : url.replace(/^.*\//, "");
}

if (import.meta.main) {
  const path = Deno.args[0];
  if (!path) {
    console.error("usage: cpu_profile.ts <file.cpuprofile | directory>");
    Deno.exit(2);
  }
  console.log(profileMarkdown(await summariseProfile(path)));
}
