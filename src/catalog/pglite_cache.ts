/**
 * PGlite data directories that take seconds of wasm to make (initdb alone is about 7 s of CPU on
 * this machine), made once per machine and kept as gzipped tarballs in `.omnisql/cache/`: a
 * database opened from one starts in about a quarter of that. Each is keyed by its recipe (a
 * name that changes whenever what it holds changes, e.g. the migrations' hash) and by PGlite's
 * own version, so an upgrade makes a fresh one. Nothing depends on the cache: when it cannot be
 * read or written, each start makes its own.
 *
 * @module
 */
import { sha256Hex } from "../crypto/sha256.ts";

const CACHE_DIR = new URL("../../.omnisql/cache/", import.meta.url);

/** PGlite's resolved package: its path names its version. */
const PGLITE_PACKAGE = import.meta.resolve("@electric-sql/pglite");

async function cacheFile(recipe: string): Promise<URL> {
  const key = (await sha256Hex(`${PGLITE_PACKAGE}\n${recipe}`)).slice(0, 24);
  return new URL(`pglite-${key}.tar.gz`, CACHE_DIR);
}

/**
 * The data directory (a tarball `dumpDataDir` made) that `make` returns for `recipe`, read from
 * the machine's cache when an earlier call made it.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { cachedDataDir, forgetDataDir } from "./pglite_cache.ts";
 * const recipe = `example ${crypto.randomUUID()}`;
 * let made = 0;
 * const make = () => Promise.resolve(new Uint8Array([++made]));
 * assert.deepEqual(await cachedDataDir(recipe, make), new Uint8Array([1]));
 * assert.deepEqual(await cachedDataDir(recipe, make), new Uint8Array([1]));
 * await forgetDataDir(recipe);
 * assert.deepEqual(await cachedDataDir(recipe, make), new Uint8Array([2]));
 * await forgetDataDir(recipe);
 * ```
 */
export async function cachedDataDir(
  recipe: string,
  make: () => Promise<Uint8Array>,
): Promise<Uint8Array<ArrayBuffer>> {
  const file = await cacheFile(recipe);
  try {
    return await Deno.readFile(file);
  } catch {
    // Not made yet, or not readable here: make it.
  }
  const made = new Uint8Array(await make());
  try {
    await Deno.mkdir(CACHE_DIR, { recursive: true });
    // Written aside, then renamed: processes starting together may race here.
    const tmp = new URL(`${file.pathname}.${crypto.randomUUID()}.tmp`, file);
    await Deno.writeFile(tmp, made);
    await Deno.rename(tmp, file);
  } catch {
    // A read-only tree: every start makes its own.
  }
  return made;
}

/**
 * Drops `recipe`'s cached data directory (one PGlite could not open is made afresh next time).
 *
 * @example
 * ```ts
 * import { forgetDataDir } from "./pglite_cache.ts";
 * await forgetDataDir("a recipe never made");
 * ```
 */
export async function forgetDataDir(recipe: string): Promise<void> {
  await Deno.remove(await cacheFile(recipe)).catch(() => {});
}
