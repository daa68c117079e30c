/**
 * Reading connection credentials for the CLI without putting them on the command line's output:
 * from a JSON file (or `-` for stdin) and/or repeated `--credential key=value`.
 *
 * @module
 */
import { CliError } from "./context.ts";

/** Collects repeated `--credential key=value` options. */
export function collectPair(value: string, previous: string[] = []): string[] {
  return [...previous, value];
}

/** The credentials named by `--credentials-file` and `--credential`; `undefined` when neither. */
export async function readCredentials(
  file: string | undefined,
  pairs: string[] | undefined,
): Promise<Record<string, string> | undefined> {
  if (!file && !pairs?.length) return undefined;
  const out: Record<string, string> = {};
  if (file) {
    let text: string;
    try {
      text = file === "-"
        ? await new Response(Deno.stdin.readable).text()
        : await Deno.readTextFile(file);
    } catch (err) {
      throw new CliError(`cannot read ${file}: ${(err as Error).message}`);
    }
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      throw new CliError(`${file} is not a JSON object of strings`);
    }
    if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) {
      throw new CliError(`${file} is not a JSON object of strings`);
    }
    for (const [k, v] of Object.entries(parsed)) {
      if (typeof v !== "string") throw new CliError(`credential ${k} in ${file} is not a string`);
      out[k] = v;
    }
  }
  for (const pair of pairs ?? []) {
    const at = pair.indexOf("=");
    if (at <= 0) throw new CliError(`--credential takes key=value (got a value without "=")`);
    out[pair.slice(0, at)] = pair.slice(at + 1);
  }
  return out;
}
