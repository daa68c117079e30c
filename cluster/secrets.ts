/**
 * The secrets of a local cluster (`deno task cluster`), one set per catalog database: the master
 * key that wraps its tenants' keys, the edge → zone context secret, the audit and metrics keys,
 * the dev identity provider's signing secret and the REST bridge's token. Made on the first
 * start against a database and kept in `.omnisql/cluster/` (mode 0600, git-ignored), so a
 * restart — and the admin CLI given the same `DATABASE_URL` — uses the same ones. Variables set
 * in the environment win over the file.
 *
 * @module
 */
import { generateMasterKey } from "../src/crypto/mod.ts";
import { sha256Hex } from "../src/crypto/sha256.ts";

/** Where the files live, relative to the project root. */
export const CLUSTER_SECRETS_DIR = ".omnisql/cluster";

/** The variables a cluster's secrets set. */
export const SECRET_NAMES = [
  "OMNISQL_MASTER_KEY",
  "OMNISQL_INTERNAL_SECRET",
  "OMNISQL_AUDIT_KEY",
  "OMNISQL_METRICS_TOKEN",
  "DEV_ISSUER_SECRET",
  "REDIS_HTTP_TOKEN",
] as const;

/** A cluster's secrets, by variable name. */
export type ClusterSecrets = Record<(typeof SECRET_NAMES)[number], string>;

async function fileOf(databaseUrl: string, dir: string): Promise<string> {
  return `${dir}/${(await sha256Hex(databaseUrl)).slice(0, 16)}.json`;
}

function random(bytes = 24): string {
  return Array.from(
    crypto.getRandomValues(new Uint8Array(bytes)),
    (b) => b.toString(16).padStart(2, "0"),
  ).join("");
}

/**
 * The secrets of the cluster on `databaseUrl`, made and saved on first use.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { clusterSecrets, readClusterSecrets } from "./secrets.ts";
 * const dir = await Deno.makeTempDir();
 * const made = await clusterSecrets("postgres://db/one", dir);
 * assert.deepEqual(await readClusterSecrets("postgres://db/one", dir), made);
 * assert.equal(await readClusterSecrets("postgres://db/two", dir), undefined);
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export async function clusterSecrets(
  databaseUrl: string,
  dir: string = CLUSTER_SECRETS_DIR,
): Promise<ClusterSecrets> {
  const existing = await readClusterSecrets(databaseUrl, dir);
  if (existing) return existing;
  const secrets: ClusterSecrets = {
    OMNISQL_MASTER_KEY: generateMasterKey(),
    OMNISQL_INTERNAL_SECRET: random(),
    OMNISQL_AUDIT_KEY: random(),
    OMNISQL_METRICS_TOKEN: random(),
    DEV_ISSUER_SECRET: random(),
    REDIS_HTTP_TOKEN: random(),
  };
  await Deno.mkdir(dir, { recursive: true });
  await Deno.writeTextFile(await fileOf(databaseUrl, dir), JSON.stringify(secrets), {
    mode: 0o600,
  });
  return secrets;
}

/**
 * The saved secrets of the cluster on `databaseUrl`, if one was started on it here.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { readClusterSecrets } from "./secrets.ts";
 * assert.equal(await readClusterSecrets("postgres://nowhere/none", "/nonexistent"), undefined);
 * ```
 */
export async function readClusterSecrets(
  databaseUrl: string | undefined,
  dir: string = CLUSTER_SECRETS_DIR,
): Promise<ClusterSecrets | undefined> {
  const saved = await readSaved(databaseUrl && await fileOf(databaseUrl, dir));
  return SECRET_NAMES.every((n) => typeof saved?.[n] === "string")
    ? saved as ClusterSecrets
    : undefined;
}

/**
 * Forgets the saved secrets of the cluster on `databaseUrl` (once its database is dropped).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { clusterSecrets, forgetClusterSecrets, readClusterSecrets } from "./secrets.ts";
 * const dir = await Deno.makeTempDir();
 * await clusterSecrets("postgres://db/gone", dir);
 * await forgetClusterSecrets("postgres://db/gone", dir);
 * assert.equal(await readClusterSecrets("postgres://db/gone", dir), undefined);
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export async function forgetClusterSecrets(
  databaseUrl: string,
  dir: string = CLUSTER_SECRETS_DIR,
): Promise<void> {
  await Deno.remove(await fileOf(databaseUrl, dir)).catch(() => {});
  await saveClusterRuntime(databaseUrl, undefined, dir);
}

/** Where a running cluster's shared store is, for the admin CLI's notices. */
export type ClusterRuntime = Record<
  "UPSTASH_REDIS_REST_URL" | "UPSTASH_REDIS_REST_TOKEN" | "OMNISQL_CACHE_PREFIX",
  string
>;

async function runtimeFileOf(databaseUrl: string, dir: string): Promise<string> {
  return (await fileOf(databaseUrl, dir)).replace(/\.json$/, ".running.json");
}

/**
 * Records where the running cluster on `databaseUrl` keeps its shared state (its bridge and key
 * prefix), so that the admin CLI's key shreds and off-boardings reach its instances at once;
 * `undefined` removes the record (the cluster stopped).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { readClusterRuntime, saveClusterRuntime } from "./secrets.ts";
 * const dir = await Deno.makeTempDir();
 * const running = {
 *   UPSTASH_REDIS_REST_URL: "http://127.0.0.1:8030",
 *   UPSTASH_REDIS_REST_TOKEN: "t",
 *   OMNISQL_CACHE_PREFIX: "cluster-1",
 * };
 * await saveClusterRuntime("postgres://db/one", running, dir);
 * assert.deepEqual(await readClusterRuntime("postgres://db/one", dir), running);
 * await saveClusterRuntime("postgres://db/one", undefined, dir);
 * assert.equal(await readClusterRuntime("postgres://db/one", dir), undefined);
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export async function saveClusterRuntime(
  databaseUrl: string,
  runtime: ClusterRuntime | undefined,
  dir: string = CLUSTER_SECRETS_DIR,
): Promise<void> {
  const file = await runtimeFileOf(databaseUrl, dir);
  if (!runtime) return await Deno.remove(file).catch(() => {});
  await Deno.mkdir(dir, { recursive: true });
  await Deno.writeTextFile(file, JSON.stringify(runtime), { mode: 0o600 });
}

/** What {@link saveClusterRuntime} recorded for the cluster on `databaseUrl`, if it runs. */
export async function readClusterRuntime(
  databaseUrl: string | undefined,
  dir: string = CLUSTER_SECRETS_DIR,
): Promise<ClusterRuntime | undefined> {
  return await readSaved(databaseUrl && await runtimeFileOf(databaseUrl, dir)) as
    | ClusterRuntime
    | undefined;
}

/** The JSON object a cluster file holds, or `undefined` (no file, unreadable). */
async function readSaved(file: string | undefined): Promise<Record<string, unknown> | undefined> {
  if (!file) return undefined;
  try {
    return JSON.parse(await Deno.readTextFile(file));
  } catch {
    return undefined;
  }
}
