/**
 * A tenant's `policy.yaml`: parsed and validated against the tables the tenant can query and the
 * user attributes it knows. Any bad rule rejects the whole document (`INVALID_REQUEST` naming the
 * rule), so a policy is applied entirely or not at all.
 *
 * @module
 */
import { parse as parseYaml } from "yaml";
import { connectionTables, type ConnectorDef } from "../../connectors/sdk/connector.ts";
import type { ColumnType } from "../../connectors/sdk/table.ts";
import { OmniError } from "../errors.ts";
import { namesOf } from "./_expr.ts";
import { parseRule, type Rule } from "./rule.ts";

/** User attributes every tenant has: from the verified token and the tenant's directory. */
export const BUILTIN_ATTRIBUTES: readonly string[] = ["role", "team_id", "email", "sub", "tenant"];

/** What rules may name: tables (`schema.table` → column types) and user attributes. */
export interface PolicySchema {
  tables: Map<string, Map<string, ColumnType>>;
  attributes: Set<string>;
  /** The roles of the tenant's user directory (a policy's own roles are known too). */
  roles: Set<string>;
  /** Connector id → the names of the tenant's connections to it. */
  connections: Map<string, string[]>;
  /** Table → column → data class, for the columns the connectors classify. */
  classes: Map<string, Map<string, string>>;
}

/**
 * The tables a rule's `schema.table` covers: a rule for `<connector>.<table>` covers that table
 * on every connection of the connector, whatever the connection is named (a rule follows the
 * data, so adding or renaming a connection never widens access); a rule for
 * `<connection>.<table>` covers that one connection.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { CONNECTORS } from "../../connectors/mod.ts";
 * import { policySchema, tablesCovered } from "./document.ts";
 * const schema = policySchema(CONNECTORS, { connections: [{ name: "gh2", connector: "github" }] });
 * assert.deepEqual(tablesCovered(schema, "github.pull_requests"), [
 *   "github.pull_requests",
 *   "gh2.pull_requests",
 * ]);
 * assert.deepEqual(tablesCovered(schema, "gh2.pull_requests"), ["gh2.pull_requests"]);
 * ```
 */
export function tablesCovered(schema: PolicySchema, table: string): string[] {
  const dot = table.indexOf(".");
  const [prefix, name] = [table.slice(0, dot), table.slice(dot + 1)];
  const keys = new Set([table]);
  for (const connection of schema.connections.get(prefix) ?? []) {
    const key = `${connection}.${name}`.toLowerCase();
    if (schema.tables.has(key)) keys.add(key);
  }
  return [...keys];
}

/** What a tenant adds to the connectors' tables in {@link policySchema}. */
export interface TenantSchemaParts {
  /**
   * The tenant's connections: their tables are named by connection too (with `config`, a
   * connection's own tables, e.g. an MCP server's mapped tools). @default none
   */
  connections?: readonly { name: string; connector: string; config?: Record<string, unknown> }[];
  /** User attributes of the tenant's directory. @default none */
  attributes?: Iterable<string>;
  /** Roles of the tenant's directory. @default none */
  roles?: Iterable<string>;
}

/** A validated policy. */
export interface PolicyDocument {
  rules: Rule[];
  /**
   * Roles the document declares (`roles:`) beside the directory's: those of users who sign in
   * through the tenant's identity provider without a directory entry. @default none
   */
  roles?: string[];
}

/**
 * The schema of a tenant: every connector's tables under the connector's id, and under the name
 * of each of the tenant's connections to it; the directory's attributes and roles.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { CONNECTORS } from "../../connectors/mod.ts";
 * import { policySchema } from "./document.ts";
 * const schema = policySchema(CONNECTORS, { roles: ["qa"] });
 * assert.equal(schema.tables.get("github.pull_requests")?.get("email"), "text");
 * assert.ok(schema.roles.has("qa"));
 * ```
 */
export function policySchema(
  connectors: Record<string, ConnectorDef>,
  tenant: TenantSchemaParts = {},
): PolicySchema {
  const { connections = [], attributes = [], roles = [] } = tenant;
  const tables = new Map<string, Map<string, ColumnType>>();
  const classes = new Map<string, Map<string, string>>();
  const add = (schema: string, connector: ConnectorDef, config?: Record<string, unknown>) => {
    const own = config ? connectionTables(connector, { name: schema, config }) : connector.tables;
    for (const t of own) {
      const key = `${schema}.${t.name}`.toLowerCase();
      tables.set(key, new Map(t.columns.map((c) => [c.name.toLowerCase(), c.type])));
      const classified = t.columns.filter((c) => c.classification);
      if (classified.length > 0) {
        classes.set(
          key,
          new Map(classified.map((c) => [c.name.toLowerCase(), String(c.classification)])),
        );
      }
    }
  };
  for (const c of Object.values(connectors)) add(c.id, c);
  for (const conn of connections) {
    const connector = connectors[conn.connector];
    if (connector) add(conn.name, connector, conn.config);
  }
  const attrs = new Set(BUILTIN_ATTRIBUTES);
  for (const a of attributes) attrs.add(a.toLowerCase());
  const byConnector = new Map<string, string[]>();
  for (const conn of connections) {
    if (!connectors[conn.connector]) continue;
    const names = byConnector.get(conn.connector) ?? [];
    names.push(conn.name.toLowerCase());
    byConnector.set(conn.connector, names);
  }
  return { tables, attributes: attrs, roles: new Set(roles), connections: byConnector, classes };
}

/**
 * Parses and validates a `policy.yaml`:
 *
 * ```yaml
 * policies:
 *   - id: rls_by_team
 *     rule: "SELECT * FROM github.pull_requests WHERE team_id = user.team_id"
 *   - id: mask_email
 *     rule: "MASK email WITH 'sha256' FOR ALL EXCEPT role:admin"
 * ```
 *
 * A rule may name only roles the tenant knows: those of its user directory, or those the
 * document declares in a top-level `roles:` list (users of the identity provider with no
 * directory entry); a misspelt role would otherwise make a rule that applies to nobody.
 *
 * Throws `INVALID_REQUEST` naming the first bad rule (unknown table, column, attribute or role,
 * bad syntax, duplicate id).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { CONNECTORS } from "../../connectors/mod.ts";
 * import { parsePolicy, policySchema } from "./document.ts";
 * const doc = parsePolicy(
 *   'policies:\n  - id: m\n    rule: "MASK author WITH \'redact\' FOR role:qa"\n',
 *   policySchema(CONNECTORS, { roles: ["qa"] }),
 * );
 * assert.ok(doc.rules[0].kind === "mask");
 * ```
 */
export function parsePolicy(source: string, schema: PolicySchema): PolicyDocument {
  let raw: unknown;
  try {
    raw = parseYaml(source);
  } catch (cause) {
    throw invalid(`policy.yaml is not valid YAML: ${(cause as Error).message}`);
  }
  const list = raw === null || raw === undefined
    ? []
    : isRecord(raw) && Array.isArray(raw.policies)
    ? raw.policies
    : isRecord(raw) && (raw.policies === null || raw.policies === undefined) &&
        Object.keys(raw).every((k) => k === "policies" || k === "roles")
    ? []
    : undefined;
  if (!list) throw invalid("policy.yaml must be a mapping with a `policies:` list");
  const declared = isRecord(raw) ? raw.roles ?? [] : [];
  if (!Array.isArray(declared) || !declared.every((r) => typeof r === "string" && r.trim())) {
    throw invalid("policy.yaml: `roles:` must be a list of role names");
  }
  const roles = new Set([...schema.roles, ...declared]);
  const rules: Rule[] = [];
  const ids = new Set<string>();
  list.forEach((entry: unknown, i: number) => {
    const where = `policies[${i}]`;
    if (!isRecord(entry) || typeof entry.rule !== "string") {
      throw invalid(`${where}: each policy needs a \`rule\` string`, where);
    }
    const id = typeof entry.id === "string" && entry.id.trim() ? entry.id.trim() : where;
    if (ids.has(id)) throw invalid(`rule ${id}: duplicate id`, id);
    ids.add(id);
    let rule: Rule;
    try {
      rule = parseRule(id, entry.rule);
    } catch (err) {
      throw invalid(`rule ${id}: ${(err as Error).message}`, id);
    }
    const problem = check(rule, schema) ?? checkRoles(rule, roles);
    if (problem) throw invalid(`rule ${id}: ${problem}`, id);
    rules.push(rule);
  });
  return declared.length > 0 ? { rules, roles: declared } : { rules };
}

function checkRoles(rule: Rule, known: Set<string>): string | undefined {
  const unknown = rule.subjects.roles.find((r) => !known.has(r));
  if (unknown === undefined) return undefined;
  return `unknown role ${unknown} (roles: ${[...known].sort().join(", ") || "none"}; ` +
    "declare roles of users outside the directory in a top-level `roles:` list)";
}

function check(rule: Rule, schema: PolicySchema): string | undefined {
  const knownTables = () => [...schema.tables.keys()].sort().join(", ");
  switch (rule.kind) {
    case "rls":
    case "deny": {
      const columns = schema.tables.get(rule.table);
      if (!columns) return `unknown table ${rule.table} (tables: ${knownTables()})`;
      if (rule.kind === "deny") return undefined;
      const names = namesOf(rule.where);
      for (const c of names.columns) {
        if (!columns.has(c)) return `unknown column ${c} in ${rule.table}`;
      }
      for (const a of names.attrs) {
        if (!schema.attributes.has(a)) {
          return `unknown user attribute user.${a} (attributes: ${
            [...schema.attributes].sort().join(", ")
          })`;
        }
      }
      return undefined;
    }
    case "mask":
    case "block": {
      if ("classification" in rule.target) {
        const wanted = rule.target.classification;
        return [...schema.classes.values()].some((cols) => [...cols.values()].includes(wanted))
          ? undefined
          : `no column is classified ${wanted} (a rule must match something)`;
      }
      const { table, column } = rule.target;
      if (table) {
        const columns = schema.tables.get(table);
        if (!columns) return `unknown table ${table} (tables: ${knownTables()})`;
        return columns.has(column) ? undefined : `unknown column ${column} in ${table}`;
      }
      return [...schema.tables.values()].some((cols) => cols.has(column))
        ? undefined
        : `no table has a column ${column}`;
    }
  }
}

function invalid(message: string, rule?: string): OmniError {
  return new OmniError("INVALID_REQUEST", message, rule ? { details: { rule } } : undefined);
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}
