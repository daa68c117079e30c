/**
 * Where a running local stack (`deno task start`) tells the admin CLI how to reach it: a small
 * JSON file under `.omnisql/` in the project, written at start and removed at exit. It lets the
 * CLI find a stack started on any `PORT` without being told.
 *
 * @module
 */

/** Path of the file, relative to the project root. */
export const STACK_FILE = ".omnisql/local-stack.json";

/** What a running local stack publishes. */
export interface StackInfo {
  edgeUrl: string;
  /** `DATABASE_URL` of the catalog it serves (PGlite over the Postgres protocol). */
  catalogUrl: string;
  pid: number;
}

/**
 * Writes the file.
 *
 * @example
 * ```ts ignore
 * await writeStackFile({ edgeUrl, catalogUrl, pid: Deno.pid });
 * ```
 */
export async function writeStackFile(info: StackInfo, path: string = STACK_FILE): Promise<void> {
  await Deno.mkdir(path.slice(0, path.lastIndexOf("/")), { recursive: true });
  await Deno.writeTextFile(path, JSON.stringify(info));
}

/**
 * Reads the file; undefined when there is none or it is unreadable.
 *
 * @example
 * ```ts ignore
 * const info = await readStackFile();
 * ```
 */
export async function readStackFile(path: string = STACK_FILE): Promise<StackInfo | undefined> {
  try {
    const info = JSON.parse(await Deno.readTextFile(path));
    return typeof info?.catalogUrl === "string" ? info : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Removes the file if it is still this process's.
 *
 * @example
 * ```ts ignore
 * await removeStackFile(Deno.pid);
 * ```
 */
export async function removeStackFile(pid: number, path: string = STACK_FILE): Promise<void> {
  if ((await readStackFile(path))?.pid === pid) await Deno.remove(path).catch(() => {});
}
