/**
 * The folders of `src/` form layers along a query's path, and an import only points down: a
 * folder may import its own layer and the layers below it, never one above. Shared interfaces
 * therefore live in the lowest folder that owns their noun (the guard in `policy/`, the
 * source-fetch contract in `source/`, pushdown limits in `sql/`), and the entry points' shared
 * wiring lives in `src/deployment/`, which both `edge/` and `regions/` import.
 *
 * A new folder of `src/` fails this test until it is given a layer here (and in README.md).
 */
import assert from "node:assert/strict";
import { dirname, join, normalize, relative } from "node:path";
import { fileURLToPath } from "node:url";

/** Top first. Folders in one layer are peers and may import each other. */
const LAYERS: string[][] = [
  // the admin CLI; what the production entry points assemble; the Postgres and MCP doors
  ["admin", "deployment", "doors"],
  ["http"], // the doors' routes and middleware: adapters over the pipeline
  ["pipeline"], // the query pipeline every door runs: identify, admit, budgets, cache, audit
  ["jobs"], // async queries: run through the query service
  // one query: admit, plan, fetch, secure, run, audit; webhooks that invalidate caches
  ["query", "webhooks"],
  // the guard; what wraps a source fetch (caches, budgets, costs, breakers); notifications; the
  // audit journal
  ["policy", "cache", "ratelimit", "reliability", "cost", "notify", "audit"],
  ["telemetry"], // metrics, traces, logs
  ["source"], // the source-fetch contract and the call to the app
  ["sql"], // parse, analyse, plan, offer pushdown
  ["duckdb", "catalog", "auth"], // the engine, the catalog, identities
  ["crypto"], // tenant keys
  ["."], // src/errors.ts, src/config.ts, src/deep_freeze.ts: the vocabulary everything shares
];

const ROOT = normalize(join(dirname(fileURLToPath(import.meta.url)), ".."));
const RANK = new Map(LAYERS.flatMap((layer, i) => layer.map((folder) => [folder, i] as const)));

interface Edge {
  from: string;
  to: string;
}

async function* tsFiles(dir: string): AsyncGenerator<string> {
  for await (const entry of Deno.readDir(join(ROOT, dir))) {
    const path = join(dir, entry.name);
    if (entry.isDirectory && entry.name !== "node_modules") yield* tsFiles(path);
    else if (entry.isFile && entry.name.endsWith(".ts")) yield path;
  }
}

const IMPORT =
  /(?:^|[\s;])(?:import|export)\s[^;]*?\sfrom\s*["']([^"']+)["']|import\(\s*["']([^"']+)["']\s*\)/g;

/** Every relative import of the `.ts` files below `dir`, as paths from the repository root. */
async function importsBelow(dir: string): Promise<Edge[]> {
  const edges: Edge[] = [];
  for await (const from of tsFiles(dir)) {
    // Doc examples import their own module: comments are not imports.
    const text = (await Deno.readTextFile(join(ROOT, from)))
      .replace(/\/\*[\s\S]*?\*\//g, "")
      .replace(/^\s*\/\/.*$/gm, "");
    for (const m of text.matchAll(IMPORT)) {
      const spec = m[1] ?? m[2];
      if (!spec.startsWith(".")) continue;
      edges.push({ from, to: relative(ROOT, join(ROOT, dirname(from), spec)) });
    }
  }
  return edges;
}

/** `src/sql/plan.ts` → `sql`; `src/errors.ts` → `.`; outside `src/` → null. */
function folderOf(path: string): string | null {
  const parts = path.split("/");
  if (parts[0] !== "src") return null;
  return parts.length > 2 ? parts[1] : ".";
}

Deno.test("every folder of src/ has a layer", async () => {
  const folders: string[] = [];
  for await (const entry of Deno.readDir(join(ROOT, "src"))) {
    if (entry.isDirectory) folders.push(entry.name);
  }
  assert.deepEqual(folders.filter((f) => !RANK.has(f)), []);
});

Deno.test("no folder of src/ imports a folder above it", async () => {
  const edges = await importsBelow("src");
  // The reader sees imports: a known downward one is among them.
  assert.ok(edges.some((e) => e.from === "src/query/execute.ts" && e.to === "src/sql/plan.ts"));
  const upward = edges.filter(({ from, to }) => {
    const a = folderOf(from), b = folderOf(to);
    return a !== null && b !== null && RANK.get(b)! < RANK.get(a)!;
  }).map(({ from, to }) => `${from} → ${to}`);
  assert.deepEqual(upward, []);
});

Deno.test("src/ never imports the apps, their entry points or the cross-module tests", async () => {
  const outward = (await importsBelow("src"))
    .filter(({ from, to }) => !from.endsWith("_test.ts") && /^(edge|regions|test)\//.test(to))
    .map(({ from, to }) => `${from} → ${to}`);
  assert.deepEqual(outward, []);
});

Deno.test("edge/ and regions/ import each other only in the local stack, which runs both", async () => {
  const crossed = [...await importsBelow("edge"), ...await importsBelow("regions")]
    .filter(({ from, to }) =>
      from.split("/")[0] !== to.split("/")[0] && /^(edge|regions)\//.test(to)
    )
    .filter(({ from }) => from !== "edge/local_stack.ts")
    .map(({ from, to }) => `${from} → ${to}`);
  assert.deepEqual(crossed, []);
});
