/**
 * What a connection of a connector is made of — its base URL, its `config` settings and the
 * credentials it accepts — declared beside the connector, so the admin CLI can describe it
 * (`connections describe`) and the README can document it from one place.
 *
 * @module
 */

/** One setting of a connection's `config` or `credentials`. */
export interface SettingSpec {
  name: string;
  /** JSON type, as an admin writes it: `string`, `string[]`, `number`, `object`… */
  type: string;
  /** @default false */
  required?: boolean;
  description: string;
}

/** The shape of a connection of one connector. */
export interface ConnectionSchema {
  /** What the base URL is, e.g. `https://api.github.com, or https://HOST/api/v3 (Enterprise)`. */
  baseUrl: string;
  /** The keys of `config`. */
  config: SettingSpec[];
  /** The credential sets the connector accepts: any one of them (the first that is given). */
  credentials: SettingSpec[][];
  /** A complete, valid example (placeholder secrets). */
  example: {
    baseUrl: string;
    config: Record<string, unknown>;
    credentials: Record<string, string>;
  };
}

/**
 * A connection schema as text, the way `deno task admin connections describe` prints it.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { describeConnectionSchema } from "./connection_schema.ts";
 * const text = describeConnectionSchema("demo", {
 *   baseUrl: "https://demo.test",
 *   config: [{ name: "site", type: "string", required: true, description: "The site." }],
 *   credentials: [[{ name: "token", type: "string", required: true, description: "API token." }]],
 *   example: { baseUrl: "https://demo.test", config: { site: "a" }, credentials: { token: "t" } },
 * });
 * assert.match(text, /^config \(--config-file, a JSON object\):\n  site +string +required +The site\.$/m);
 * assert.match(text, /"token": "t"/);
 * ```
 */
export function describeConnectionSchema(connector: string, schema: ConnectionSchema): string {
  const rows = (specs: SettingSpec[]) => {
    if (specs.length === 0) return ["  (none)"];
    const width = Math.max(...specs.map((s) => s.name.length));
    const type = Math.max(...specs.map((s) => s.type.length));
    return specs.map((s) =>
      `  ${s.name.padEnd(width)}  ${s.type.padEnd(type)}  ${
        (s.required ? "required" : "optional").padEnd(8)
      }  ${s.description}`
    );
  };
  const credentials = schema.credentials.flatMap((set, i) => [
    ...(schema.credentials.length > 1 ? [` one of — set ${i + 1}:`] : []),
    ...rows(set),
  ]);
  const { example } = schema;
  return [
    `connector ${connector}`,
    `base URL (--base-url): ${schema.baseUrl}`,
    "config (--config-file, a JSON object):",
    ...rows(schema.config),
    "credentials (--credentials-file, a JSON object, or --credential key=value):",
    ...credentials,
    "example:",
    `  deno task admin connections add ${connector} --tenant TENANT --connector ${connector} \\`,
    `    --base-url ${example.baseUrl} --config-file config.json --credentials-file credentials.json`,
    "  config.json:",
    ...JSON.stringify(example.config, null, 2).split("\n").map((l) => `    ${l}`),
    "  credentials.json:",
    ...JSON.stringify(example.credentials, null, 2).split("\n").map((l) => `    ${l}`),
  ].join("\n");
}
