/**
 * What every admin command gets: the configuration, the catalog (opened on first use), and
 * output helpers that honour `--json`.
 *
 * @module
 */
import type { Command } from "commander";
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

/**
 * The catalog, once it is known to hold `tenant` (else a `CliError` naming it), for commands
 * that act on one tenant.
 *
 * @example
 * ```ts ignore
 * const catalog = await tenantCatalog(ctx, o.tenant);
 * ```
 */
export async function tenantCatalog(ctx: CliContext, tenant: string): Promise<Catalog> {
  const catalog = await ctx.catalog();
  if (!await catalog.getTenant(tenant)) throw new CliError(`no tenant ${tenant}`);
  return catalog;
}

/**
 * Prints rows: as JSON with `--json`, else one tab-separated line per row.
 *
 * @example
 * ```ts ignore
 * outRows(ctx, o.json, users, (u) => [u.email, u.role]);
 * ```
 */
export function outRows<T>(
  ctx: CliContext,
  json: boolean | undefined,
  rows: T[],
  fields: (row: T) => unknown[],
): void {
  ctx.out(json, rows, () => rows.map((row) => fields(row).join("\t")).join("\n"));
}

/** What {@link tenantList} lists: a description, how to load a tenant's rows, a row's fields. */
export interface TenantListOptions<T> {
  /** The `list` command's description. */
  description: string;
  /** The tenant's rows. */
  load: (catalog: Catalog, tenant: string) => Promise<T[]>;
  /** A row's fields, in the order the human form prints them. */
  fields: (row: T) => unknown[];
}

/**
 * Adds `list --tenant T [--json]` to a noun's command: the tenant's rows, one line each.
 *
 * @example
 * ```ts ignore
 * tenantList(users, ctx, {
 *   description: "list a tenant's users",
 *   load: (catalog, tenant) => catalog.listUsers(tenant),
 *   fields: (u) => [u.email],
 * });
 * ```
 */
export function tenantList<T>(
  parent: Command,
  ctx: CliContext,
  { description, load, fields }: TenantListOptions<T>,
): void {
  parent.command("list").description(description)
    .requiredOption("--tenant <tenant>").option("--json", "JSON output")
    .action(async (o) => outRows(ctx, o.json, await load(await ctx.catalog(), o.tenant), fields));
}
