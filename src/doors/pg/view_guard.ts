/**
 * What may run in a catalog view: one reading statement, calling no function that sleeps,
 * allocates without bound, reads the host, holds locks past the statement or runs SQL from a
 * string. Checked before a statement reaches PGlite; the view host also runs every statement
 * in a read-only transaction, as a role that may only read, always rolled back
 * (`_view_host.ts`), so this is the first of two gates, not the only one.
 *
 * @module
 */
import type { ErrorFields } from "./protocol.ts";
import { blankLiterals, splitStatements } from "./statement.ts";

/** A statement the catalog view refused or stopped, answered as its ErrorResponse. */
export class CatalogViewError extends Error {
  constructor(readonly fields: ErrorFields) {
    super(fields.message);
  }
}

/** Verbs of statements that only read. */
const READING = /^\(*\s*(select|with|values|table|show)\b/i;

/**
 * Writes that can hide inside a reading statement: data-modifying CTEs (always in parentheses)
 * and `SELECT … INTO`. The bare words are names in tools' SQL (Metabase: `… AS delete FROM`).
 */
const WRITING =
  /\binto\b|\(\s*delete\b|\(\s*update\s+(only\s+)?[\w."]+(\s*\*)?(\s+(as\s+)?\w+)?\s+set\b/i;

/**
 * Functions refused by name wherever the name appears (in literals and comments too, so no
 * quoting hides one). `U&` identifiers could spell a name in escapes, so they are refused too.
 */
const DENIED = new RegExp(
  String.raw`\b(pg_sleep\w*|pg_read_\w*|pg_ls_\w*|pg_stat_file|pg_file_\w*|lo_\w+|dblink\w*|` +
    String.raw`set_config|pg_advisory\w*|pg_try_advisory\w*|pg_terminate_backend|` +
    String.raw`pg_cancel_backend|pg_reload_conf|pg_rotate_logfile|pg_promote|pg_notify|` +
    String.raw`pg_logical_\w+|pg_switch_wal|pg_create_\w+|pg_drop_\w+|pg_backup_\w+|` +
    String.raw`pg_export_snapshot|pg_log_backend_memory_contexts|nextval|setval|` +
    // Functions that run SQL given as a string (built with concat, it escapes any name check).
    String.raw`query_to_\w+|cursor_to_\w+|table_to_\w+|schema_to_\w+|database_to_\w+|` +
    String.raw`ts_stat|ts_rewrite|` +
    // Functions that allocate what their arguments say (`format('%800000000s', '')`).
    String.raw`repeat|lpad|rpad|array_fill|format)\b|\bu&\s*["']`,
  "i",
);

/**
 * Why `sql` may not run in a catalog view, or undefined when it may.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { catalogRefusal } from "./view_guard.ts";
 * assert.equal(catalogRefusal("SELECT relname FROM pg_class"), undefined);
 * assert.equal(catalogRefusal("WITH i AS (INSERT INTO pg_description VALUES (1,1,0,'x') RETURNING 1) SELECT 1")?.code, "25006");
 * assert.equal(catalogRefusal("SELECT pg_catalog.pg_sleep(40)")?.code, "42501");
 * ```
 */
export function catalogRefusal(sql: string): ErrorFields | undefined {
  // Quoted identifiers are names, not keywords: `"update"` is a column.
  const blank = blankLiterals(sql).replace(/"(?:[^"]|"")*"/g, '""');
  const several = splitStatements(sql).length > 1;
  if (several || !READING.test(blank.trim()) || WRITING.test(blank)) {
    return {
      severity: "ERROR",
      code: "25006",
      message: "the catalog is read-only: only single SELECT, WITH, VALUES, TABLE and SHOW " +
        "statements that change nothing run on it",
    };
  }
  const denied = DENIED.exec(sql);
  if (denied) {
    return {
      severity: "ERROR",
      code: "42501",
      message: `permission denied for function ${denied[1] ?? "in a U& identifier"} ` +
        "on the catalog",
    };
  }
  return undefined;
}
