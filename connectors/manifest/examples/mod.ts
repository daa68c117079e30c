/**
 * Example manifests shipped with the runtime: `statuspage.yaml`, a REST API with an API key and
 * offset pagination, proving that a new app needs no code.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { STATUSPAGE_MANIFEST } from "./mod.ts";
 * assert.ok(STATUSPAGE_MANIFEST.api.style === "rest");
 * ```
 *
 * @module
 */
import { loadManifest, type Manifest } from "../manifest.ts";

/** The status-page example, validated. */
export const STATUSPAGE_MANIFEST: Manifest = loadManifest(
  Deno.readTextFileSync(new URL("./statuspage.yaml", import.meta.url)),
  "connectors/manifest/examples/statuspage.yaml",
);
