/**
 * What every admin command gets: the configuration, the catalog (opened on first use), and
 * output helpers that honour `--json`.
 *
 * @module
 */
import type { Catalog } from "../catalog/store.ts";
import type { OmniConfig } from "../config.ts";

/** A failure the CLI reports with exit code 2. */
export class CliError extends Error {}

/** Shared by all commands. */
export interface CliContext {
  config: OmniConfig;
  /** The catalog; throws a clear error when none is reachable. */
  catalog(): Promise<Catalog>;
  /** The catalog when one is reachable, else undefined. */
  optionalCatalog(): Promise<Catalog | undefined>;
  /** Prints a line. */
  print(line: string): void;
  /** Prints `value` as JSON with `--json`, else the human form. */
  out(json: boolean | undefined, value: unknown, human: () => string): void;
}
