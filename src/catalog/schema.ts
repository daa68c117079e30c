/**
 * The catalog's Drizzle schema: the single source of truth for the catalog tables. Row types are
 * derived from it (`$inferSelect` / `$inferInsert`) and the migrations in `migrations/` are
 * generated from it with `deno task db:generate`.
 *
 * @module
 */
import {
  bigint,
  bigserial,
  boolean,
  index,
  integer,
  jsonb,
  pgTable,
  primaryKey,
  smallint,
  text,
  timestamp,
  uniqueIndex,
} from "drizzle-orm/pg-core";

/** Per-tenant defaults stored in `tenants.settings`. */
export interface TenantSettings {
  /** Default `max_staleness_ms` of a query when the request does not set one. */
  maxStalenessMs?: number;
  /** Default time-to-live of cached results and source pages, in milliseconds. */
  ttlMs?: number;
  /** Longest deadline a query may ask for (`metadata.timeout_ms` is capped to it). @default 30000 */
  maxTimeoutMs?: number;
  /** Rows a query answers at most; more set `truncated`. @default 10000 */
  maxRows?: number;
  /** Budgets as `{tokens, windowMs}` per level; win over `rateLimits` where both are set. */
  budgets?: {
    user?: { tokens: number; windowMs: number };
    tenant?: { tokens: number; windowMs: number };
    /** The tenant's quota per connection, counted in app calls. */
    source?: { tokens: number; windowMs: number };
  };
  /** Rate-limit budgets: requests per window. */
  rateLimits?: {
    /** Requests per user per window. */
    userPerMinute?: number;
    /** Requests per tenant per window. */
    tenantPerMinute?: number;
    /** Calls per source (connector) per window. */
    sourcePerMinute?: Record<string, number>;
  };
}

/** One column of a catalog table, as stored in `catalog_tables.columns`. */
export interface CatalogColumn {
  name: string;
  type: string;
  description: string;
}

/**
 * Tenants, with their residency zone.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { tenants } from "./schema.ts";
 * const row: typeof tenants.$inferInsert = { id: "acme", name: "Acme", zone: "us" };
 * assert.ok(row.zone === "us");
 * ```
 */
export const tenants = pgTable("tenants", {
  id: text("id").primaryKey(),
  name: text("name").notNull(),
  /** Residency zone, e.g. `us` or `eu`. */
  zone: text("zone").notNull(),
  /** When true, the tenant's queries never use shared caches. */
  directOnly: boolean("direct_only").notNull().default(false),
  settings: jsonb("settings").$type<TenantSettings>().notNull().default({}),
  createdAt: timestamp("created_at", { withTimezone: true }).notNull().defaultNow(),
});

/**
 * Tenants' data keys, wrapped with the master key (envelope encryption). Deleting a tenant's
 * rows makes everything encrypted with them unreadable (crypto-shredding). Not a foreign key of
 * `tenants`, so that shredding and off-boarding stay independent.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { tenantKeys } from "./schema.ts";
 * const row: typeof tenantKeys.$inferInsert = { tenantId: "acme", version: 1, wrappedKey: "…" };
 * assert.ok(row.version === 1);
 * ```
 */
export const tenantKeys = pgTable("tenant_keys", {
  tenantId: text("tenant_id").notNull(),
  version: integer("version").notNull(),
  /** The data key wrapped by the master key, base64. */
  wrappedKey: text("wrapped_key").notNull(),
  createdAt: timestamp("created_at", { withTimezone: true }).notNull().defaultNow(),
  retiredAt: timestamp("retired_at", { withTimezone: true }),
}, (t) => [primaryKey({ columns: [t.tenantId, t.version] })]);

/**
 * Users of a tenant, with the attributes policies read (`user.role`, `user.team_id`, …).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { users } from "./schema.ts";
 * const row: typeof users.$inferInsert = { tenantId: "acme", email: "dev@acme", role: "developer" };
 * assert.ok(row.role === "developer");
 * ```
 */
export const users = pgTable("users", {
  tenantId: text("tenant_id").notNull().references(() => tenants.id, { onDelete: "cascade" }),
  email: text("email").notNull(),
  role: text("role").notNull(),
  teamId: text("team_id"),
  attributes: jsonb("attributes").$type<Record<string, unknown>>().notNull().default({}),
}, (t) => [primaryKey({ columns: [t.tenantId, t.email] })]);

/**
 * A tenant's connections to SaaS apps. `credentials_enc` holds a token of the tenant's key ring
 * (the JSON of the credentials, encrypted); plaintext credentials are never stored.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { connections } from "./schema.ts";
 * type ConnectionRow = typeof connections.$inferSelect;
 * const name: keyof ConnectionRow = "credentialsEnc";
 * assert.ok(name === "credentialsEnc");
 * ```
 */
export const connections = pgTable("connections", {
  id: text("id").primaryKey(),
  tenantId: text("tenant_id").notNull().references(() => tenants.id, { onDelete: "cascade" }),
  /** Connector id, e.g. `github`. */
  connector: text("connector").notNull(),
  /** Schema name of its tables in SQL, unique per tenant. */
  name: text("name").notNull(),
  baseUrl: text("base_url").notNull(),
  credentialsEnc: text("credentials_enc").notNull(),
  config: jsonb("config").$type<Record<string, unknown>>().notNull().default({}),
  createdAt: timestamp("created_at", { withTimezone: true }).notNull().defaultNow(),
}, (t) => [uniqueIndex("connections_tenant_name_idx").on(t.tenantId, t.name)]);

/**
 * The tables each connector exposes, versioned: the version bumps when the columns change.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { catalogTables } from "./schema.ts";
 * type CatalogTableRow = typeof catalogTables.$inferSelect;
 * const name: keyof CatalogTableRow = "columns";
 * assert.ok(name === "columns");
 * ```
 */
export const catalogTables = pgTable("catalog_tables", {
  connector: text("connector").notNull(),
  tableName: text("table_name").notNull(),
  version: integer("version").notNull().default(1),
  description: text("description").notNull(),
  columns: jsonb("columns").$type<CatalogColumn[]>().notNull(),
  updatedAt: timestamp("updated_at", { withTimezone: true }).notNull().defaultNow(),
}, (t) => [primaryKey({ columns: [t.connector, t.tableName] })]);

/**
 * Versions of each tenant's `policy.yaml`; the highest version is in force.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { policies } from "./schema.ts";
 * const row: typeof policies.$inferInsert = {
 *   tenantId: "acme", version: 1, source: "policies: []", createdBy: "admin@acme",
 * };
 * assert.ok(row.version === 1);
 * ```
 */
export const policies = pgTable("policies", {
  tenantId: text("tenant_id").notNull().references(() => tenants.id, { onDelete: "cascade" }),
  version: integer("version").notNull(),
  source: text("source").notNull(),
  createdAt: timestamp("created_at", { withTimezone: true }).notNull().defaultNow(),
  createdBy: text("created_by").notNull(),
}, (t) => [primaryKey({ columns: [t.tenantId, t.version] })]);

/**
 * One row counting the changes to the tables whose reads the query path remembers (tenants, their
 * keys, users, connections, policies). A trigger on each of them bumps it as the writing
 * transaction commits, whoever writes (an instance, the admin CLI, a hand edit in the database), so a
 * remembered read is still current while the count it was read under has not moved: one round
 * trip revalidates every read an instance remembers (`ReadCache`). The triggers are in the
 * migration that made the table (`0006_catalog_changes.sql`): Drizzle does not declare triggers.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { catalogChanges } from "./schema.ts";
 * type Changes = typeof catalogChanges.$inferSelect;
 * const row: Changes = { id: 1, version: 0 };
 * assert.equal(row.version, 0);
 * ```
 */
export const catalogChanges = pgTable("catalog_changes", {
  id: smallint("id").primaryKey(),
  version: bigint("version", { mode: "number" }).notNull(),
});

/**
 * The audit log: one row per query or admin action, hash-chained per tenant. Not a foreign key
 * of `tenants`: the audit trail outlives an off-boarded tenant.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { auditLog } from "./schema.ts";
 * type AuditRow = typeof auditLog.$inferSelect;
 * const name: keyof AuditRow = "prevHash";
 * assert.ok(name === "prevHash");
 * ```
 */
export const auditLog = pgTable("audit_log", {
  id: bigserial("id", { mode: "number" }).primaryKey(),
  tenantId: text("tenant_id").notNull(),
  userEmail: text("user_email").notNull(),
  zone: text("zone").notNull(),
  traceId: text("trace_id").notNull(),
  sql: text("sql").notNull(),
  tables: jsonb("tables").$type<string[]>().notNull().default([]),
  rows: integer("rows"),
  status: integer("status").notNull(),
  errorCode: text("error_code"),
  kind: text("kind").$type<"query" | "admin">().notNull(),
  createdAt: timestamp("created_at", { withTimezone: true }).notNull().defaultNow(),
  prevHash: text("prev_hash").notNull(),
  hash: text("hash").notNull(),
  /**
   * The id a process's audit journal gave the record (none for records written directly): a
   * record replayed after a crash is recognised and not appended twice. Not part of the hash.
   */
  journalEntry: text("journal_entry"),
  /**
   * The door a query came in by (`http`, `pg`, `mcp`); none for admin actions and rows written
   * before doors were recorded. Part of the hash when set.
   */
  door: text("door"),
}, (t) => [
  index("audit_log_tenant_id_idx").on(t.tenantId, t.id),
  index("audit_log_journal_entry_idx").on(t.tenantId, t.journalEntry),
]);

/**
 * Async query jobs: a durable queue claimed with `FOR UPDATE SKIP LOCKED` by the worker of the
 * job's zone. `result_enc` holds the query's answer encrypted with the tenant's key; a row
 * expires (`expires_at`) with the tenant's TTL once finished.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { jobs } from "./schema.ts";
 * type JobRow = typeof jobs.$inferSelect;
 * const name: keyof JobRow = "resultEnc";
 * assert.ok(name === "resultEnc");
 * ```
 */
export const jobs = pgTable("jobs", {
  id: text("id").primaryKey(),
  tenantId: text("tenant_id").notNull(),
  userEmail: text("user_email").notNull(),
  zone: text("zone").notNull(),
  traceId: text("trace_id").notNull(),
  status: text("status").$type<"queued" | "running" | "succeeded" | "failed" | "cancelled">()
    .notNull(),
  /** The query request (`sql` and `metadata`) and the user's claims it runs with. */
  request: jsonb("request").$type<Record<string, unknown>>().notNull(),
  claims: jsonb("claims").$type<Record<string, unknown>>().notNull(),
  progress: jsonb("progress").$type<Record<string, number>>().notNull().default({}),
  resultEnc: text("result_enc"),
  error: jsonb("error").$type<Record<string, unknown>>(),
  attempts: integer("attempts").notNull().default(0),
  /** Which runner holds the job, and until when (a crashed runner's jobs are reclaimed). */
  lockedBy: text("locked_by"),
  leaseUntil: timestamp("lease_until", { withTimezone: true }),
  createdAt: timestamp("created_at", { withTimezone: true }).notNull().defaultNow(),
  finishedAt: timestamp("finished_at", { withTimezone: true }),
  expiresAt: timestamp("expires_at", { withTimezone: true }),
}, (t) => [index("jobs_zone_status_idx").on(t.zone, t.status, t.createdAt)]);

/**
 * The head of each tenant's audit chain, moved in the same transaction as every append: removing
 * the newest audit rows leaves a shorter chain that no longer ends at this head, so
 * `audit verify` detects it. Protected like the log (no deletes; the head only moves forward).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { auditHeads } from "./schema.ts";
 * const row: typeof auditHeads.$inferInsert = { tenantId: "acme", lastId: 1, hash: "…", rows: 1 };
 * assert.ok(row.rows === 1);
 * ```
 */
export const auditHeads = pgTable("audit_heads", {
  tenantId: text("tenant_id").primaryKey(),
  /** Id of the tenant's newest audit row. */
  lastId: bigint("last_id", { mode: "number" }).notNull(),
  /** Its hash. */
  hash: text("hash").notNull(),
  /** How many rows the chain has. */
  rows: bigint("rows", { mode: "number" }).notNull(),
});

/**
 * The secret a connection's app signs its webhooks with, encrypted with the tenant's key ring.
 * Goes with its connection.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { webhookSecrets } from "./schema.ts";
 * const row: typeof webhookSecrets.$inferInsert = { connectionId: "c1", tenantId: "acme", secretEnc: "v1…" };
 * assert.ok(row.connectionId === "c1");
 * ```
 */
export const webhookSecrets = pgTable("webhook_secrets", {
  connectionId: text("connection_id").primaryKey()
    .references(() => connections.id, { onDelete: "cascade" }),
  tenantId: text("tenant_id").notNull(),
  secretEnc: text("secret_enc").notNull(),
  updatedAt: timestamp("updated_at", { withTimezone: true }).notNull().defaultNow(),
});

/**
 * Charged app calls per tenant, connection and UTC day (`YYYY-MM-DD`). Not a foreign key of
 * `connections`: usage outlives a removed connection (it was billed).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { apiUsage } from "./schema.ts";
 * const row: typeof apiUsage.$inferInsert = {
 *   tenantId: "acme", connectionId: "c1", connection: "github", day: "2026-12-03", calls: 4,
 * };
 * assert.ok(row.calls === 4);
 * ```
 */
export const apiUsage = pgTable("api_usage", {
  tenantId: text("tenant_id").notNull(),
  connectionId: text("connection_id").notNull(),
  /** The connection's name when the calls were made. */
  connection: text("connection").notNull(),
  day: text("day").notNull(),
  calls: bigint("calls", { mode: "number" }).notNull().default(0),
}, (t) => [primaryKey({ columns: [t.tenantId, t.connectionId, t.day] })]);

/**
 * A connection's call budget per calendar period (UTC `month` or `day`), and the extra calls an
 * admin granted for one period (`burst_period`).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { costBudgets } from "./schema.ts";
 * const row: typeof costBudgets.$inferInsert = { connectionId: "c1", tenantId: "acme", calls: 1000 };
 * assert.ok(row.calls === 1000);
 * ```
 */
export const costBudgets = pgTable("cost_budgets", {
  connectionId: text("connection_id").primaryKey()
    .references(() => connections.id, { onDelete: "cascade" }),
  tenantId: text("tenant_id").notNull(),
  calls: bigint("calls", { mode: "number" }).notNull(),
  period: text("period").$type<"month" | "day">().notNull().default("month"),
  /** Extra calls granted for the period named in `burst_period`. */
  burstCalls: bigint("burst_calls", { mode: "number" }).notNull().default(0),
  burstPeriod: text("burst_period"),
  updatedAt: timestamp("updated_at", { withTimezone: true }).notNull().defaultNow(),
});

/**
 * Cost alerts already fired: one row per connection, period and level (80, 90, 100), so each
 * fires once per period however many processes count calls.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { costAlerts } from "./schema.ts";
 * const row: typeof costAlerts.$inferInsert = { connectionId: "c1", period: "2026-12", level: 80 };
 * assert.ok(row.level === 80);
 * ```
 */
export const costAlerts = pgTable("cost_alerts", {
  connectionId: text("connection_id").notNull(),
  period: text("period").notNull(),
  level: integer("level").notNull(),
  firedAt: timestamp("fired_at", { withTimezone: true }).notNull().defaultNow(),
}, (t) => [primaryKey({ columns: [t.connectionId, t.period, t.level] })]);

/**
 * Where a tenant is told about things (cost alerts), and the secret that signs what OmniSQL
 * sends it (alerts, job notifications), encrypted with the tenant's key ring.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { tenantNotifications } from "./schema.ts";
 * const row: typeof tenantNotifications.$inferInsert = { tenantId: "acme", secretEnc: "v1…" };
 * assert.ok(row.alertUrl === undefined);
 * ```
 */
export const tenantNotifications = pgTable("tenant_notifications", {
  tenantId: text("tenant_id").primaryKey().references(() => tenants.id, { onDelete: "cascade" }),
  alertUrl: text("alert_url"),
  secretEnc: text("secret_enc").notNull(),
  updatedAt: timestamp("updated_at", { withTimezone: true }).notNull().defaultNow(),
});

/** A tenant row. */
export type TenantRow = typeof tenants.$inferSelect;
/** A tenant to insert. */
export type NewTenantRow = typeof tenants.$inferInsert;
/** A wrapped tenant key row. */
export type TenantKeyRow = typeof tenantKeys.$inferSelect;
/** A user row. */
export type UserRow = typeof users.$inferSelect;
/** A user to insert. */
export type NewUserRow = typeof users.$inferInsert;
/** A connection row (credentials encrypted). */
export type ConnectionRow = typeof connections.$inferSelect;
/** A catalog table row. */
export type CatalogTableRow = typeof catalogTables.$inferSelect;
/** A policy version row. */
export type PolicyRow = typeof policies.$inferSelect;
/** An audit log row. */
export type AuditRow = typeof auditLog.$inferSelect;
/** An audit row to insert. */
export type NewAuditRow = typeof auditLog.$inferInsert;
/** An async job row. */
export type JobRow = typeof jobs.$inferSelect;
