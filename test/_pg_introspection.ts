/**
 * Introspection queries real tools send to a Postgres server, replayed by `doors_pg_test.ts`
 * against the Postgres door. Each records where it was taken from. `$1`-style parameters are
 * sent with the extended protocol, as the tools' JDBC / Go drivers do.
 *
 * @module
 */

/** One recorded query. */
export interface RecordedQuery {
  tool: "psql" | "DBeaver" | "Grafana" | "Metabase";
  /** Where the text comes from. */
  source: string;
  sql: string;
  /**
   * Extended-protocol parameters; `@github_oid` and `@pull_requests_oid` stand for the oids of
   * the github schema and of github.pull_requests in the user's catalog view.
   */
  params?: (string | number)[];
  /** A value some row must hold in the answer, for the user's tables. */
  expect?: string;
}

const PSQL = "psql 15.20 (Debian 15.20-0+deb12u1), recorded with `psql -E` (ECHO_HIDDEN)";
const DBEAVER_STARTUP =
  "DBeaver 25.1.5 start-up, as recorded in datafusion-contrib/datafusion-postgres " +
  "datafusion-postgres/tests/dbeaver.rs";
const DBEAVER_NAV = "DBeaver PostgreSchema.TableCache / PostgreTableBase attribute cache lookups " +
  "(dbeaver/dbeaver plugins/org.jkiss.dbeaver.ext.postgresql), as quoted by projects testing them";
const GRAFANA = "grafana/grafana public/app/plugins/datasource/grafana-postgresql-datasource/" +
  "postgresMetaQuery.ts (getVersion, showSchemas, showTables, getSchema)";
const METABASE = "Metabase v0.55.1 sync, as recorded in datafusion-contrib/datafusion-postgres " +
  "datafusion-postgres/tests/metabase.rs";

/** TimescaleDB's own schemas, which Grafana's schema and table lists leave out. */
const TIMESCALE_SCHEMAS = [
  "_timescaledb_cache",
  "_timescaledb_catalog",
  "_timescaledb_internal",
  "_timescaledb_config",
  "timescaledb_information",
  "timescaledb_experimental",
].map((name) => `'${name}'`).join(",\n    ");

const grafanaSchemaConstraint = `
          quote_ident(table_schema) IN (
          SELECT
            CASE WHEN trim(s[i]) = '"$user"' THEN user ELSE trim(s[i]) END
          FROM
            generate_series(
              array_lower(string_to_array(current_setting('search_path'),','),1),
              array_upper(string_to_array(current_setting('search_path'),','),1)
            ) as i,
            string_to_array(current_setting('search_path'),',') s
          )`;

/** The recorded queries. */
export const RECORDED: RecordedQuery[] = [
  {
    tool: "psql",
    source: `${PSQL}, \\dt`,
    sql: `SELECT n.nspname as "Schema",
  c.relname as "Name",
  CASE c.relkind WHEN 'r' THEN 'table' WHEN 'v' THEN 'view' WHEN 'm' THEN 'materialized view' WHEN 'i' THEN 'index' WHEN 'S' THEN 'sequence' WHEN 't' THEN 'TOAST table' WHEN 'f' THEN 'foreign table' WHEN 'p' THEN 'partitioned table' WHEN 'I' THEN 'partitioned index' END as "Type",
  pg_catalog.pg_get_userbyid(c.relowner) as "Owner"
FROM pg_catalog.pg_class c
     LEFT JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
     LEFT JOIN pg_catalog.pg_am am ON am.oid = c.relam
WHERE c.relkind IN ('r','p','')
      AND n.nspname <> 'pg_catalog'
      AND n.nspname !~ '^pg_toast'
      AND n.nspname <> 'information_schema'
  AND pg_catalog.pg_table_is_visible(c.oid)
ORDER BY 1,2;`,
    expect: "pull_requests",
  },
  {
    tool: "psql",
    source: `${PSQL}, \\d github.pull_requests (1/3)`,
    sql: `SELECT c.oid,
  n.nspname,
  c.relname
FROM pg_catalog.pg_class c
     LEFT JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
WHERE c.relname OPERATOR(pg_catalog.~) '^(pull_requests)$' COLLATE pg_catalog.default
  AND n.nspname OPERATOR(pg_catalog.~) '^(github)$' COLLATE pg_catalog.default
ORDER BY 2, 3;`,
    expect: "pull_requests",
  },
  {
    tool: "psql",
    source: `${PSQL}, \\d github.pull_requests (3/3, the relation's oid inlined)`,
    sql: `SELECT a.attname,
  pg_catalog.format_type(a.atttypid, a.atttypmod),
  (SELECT pg_catalog.pg_get_expr(d.adbin, d.adrelid, true)
   FROM pg_catalog.pg_attrdef d
   WHERE d.adrelid = a.attrelid AND d.adnum = a.attnum AND a.atthasdef),
  a.attnotnull,
  (SELECT c.collname FROM pg_catalog.pg_collation c, pg_catalog.pg_type t
   WHERE c.oid = a.attcollation AND t.oid = a.atttypid AND a.attcollation <> t.typcollation) AS attcollation,
  a.attidentity,
  a.attgenerated
FROM pg_catalog.pg_attribute a
WHERE a.attrelid = 'github.pull_requests'::regclass AND a.attnum > 0 AND NOT a.attisdropped
ORDER BY a.attnum;`,
    expect: "merged_at",
  },
  { tool: "DBeaver", source: DBEAVER_STARTUP, sql: "SET extra_float_digits = 3" },
  { tool: "DBeaver", source: DBEAVER_STARTUP, sql: "SELECT current_schema(),session_user" },
  {
    tool: "DBeaver",
    source: DBEAVER_STARTUP,
    sql: "SELECT n.oid,n.*,d.description FROM pg_catalog.pg_namespace n LEFT OUTER JOIN " +
      "pg_catalog.pg_description d ON d.objoid=n.oid AND d.objsubid=0 AND " +
      "d.classoid='pg_namespace'::regclass ORDER BY nspname",
    expect: "github",
  },
  { tool: "DBeaver", source: DBEAVER_STARTUP, sql: "SHOW search_path", expect: "github" },
  {
    tool: "DBeaver",
    source: DBEAVER_STARTUP,
    sql: "SELECT db.oid,db.* FROM pg_catalog.pg_database db WHERE datname='omnisql'",
    expect: "omnisql",
  },
  {
    tool: "DBeaver",
    source: DBEAVER_STARTUP,
    sql: "SELECT * FROM pg_catalog.pg_settings where name='standard_conforming_strings'",
  },
  { tool: "DBeaver", source: DBEAVER_STARTUP, sql: "SELECT version()", expect: "PostgreSQL" },
  {
    tool: "DBeaver",
    source: DBEAVER_STARTUP,
    sql: "SELECT t.oid,t.*,c.relkind,format_type(nullif(t.typbasetype, 0), t.typtypmod) as " +
      "base_type_name, d.description FROM pg_catalog.pg_type t LEFT OUTER JOIN " +
      "pg_catalog.pg_type et ON et.oid=t.typelem LEFT OUTER JOIN pg_catalog.pg_class c ON " +
      "c.oid=t.typrelid LEFT OUTER JOIN pg_catalog.pg_description d ON t.oid=d.objoid WHERE " +
      "t.typname IS NOT NULL AND (c.relkind IS NULL OR c.relkind = 'c') AND " +
      "(et.typcategory IS NULL OR et.typcategory <> 'C')",
  },
  {
    tool: "DBeaver",
    source: DBEAVER_NAV,
    sql: "SELECT c.oid,c.*,d.description,pg_catalog.pg_get_expr(c.relpartbound, c.oid) as " +
      "partition_expr,  pg_catalog.pg_get_partkeydef(c.oid) as partition_key \n" +
      "FROM pg_catalog.pg_class c\nLEFT OUTER JOIN pg_catalog.pg_description d ON " +
      "d.objoid=c.oid AND d.objsubid=0 AND d.classoid='pg_class'::regclass\n" +
      "WHERE c.relnamespace=$1 AND c.relkind not in ('i','I','c')",
    params: ["@github_oid"],
    expect: "pull_requests",
  },
  {
    tool: "DBeaver",
    source: DBEAVER_NAV,
    sql: "SELECT c.relname,a.*,pg_catalog.pg_get_expr(ad.adbin, ad.adrelid, true) as " +
      "def_value,dsc.description,dep.objid\nFROM pg_catalog.pg_attribute a\nINNER JOIN " +
      "pg_catalog.pg_class c ON (a.attrelid=c.oid)\nLEFT OUTER JOIN pg_catalog.pg_attrdef ad " +
      "ON (a.attrelid=ad.adrelid AND a.attnum = ad.adnum)\nLEFT OUTER JOIN " +
      "pg_catalog.pg_description dsc ON (c.oid=dsc.objoid AND a.attnum = dsc.objsubid)\n" +
      "LEFT OUTER JOIN pg_depend dep on dep.refobjid = a.attrelid AND dep.deptype = 'i' and " +
      "dep.refobjsubid = a.attnum and dep.classid = dep.refclassid\nWHERE NOT a.attisdropped " +
      "AND c.relkind not in ('i','I','c') AND c.oid=$1\nORDER BY a.attnum",
    params: ["@pull_requests_oid"],
    expect: "merged_at",
  },
  {
    tool: "Grafana",
    source: `${GRAFANA}: getVersion`,
    sql: "SELECT current_setting('server_version_num')::int/100 as version",
  },
  {
    tool: "Grafana",
    source: `${GRAFANA}: showSchemas`,
    sql: `SELECT schema_name AS "name"
    FROM information_schema.schemata
    WHERE schema_name NOT IN ('information_schema',
                              'pg_catalog',
                              'pg_toast',
                              ${TIMESCALE_SCHEMAS})
    ORDER BY schema_name`,
    expect: "github",
  },
  {
    tool: "Grafana",
    source: `${GRAFANA}: showTables()`,
    sql: `SELECT
    CASE WHEN ${grafanaSchemaConstraint}
      THEN quote_ident(table_name)
      ELSE quote_ident(table_schema) || '.' || quote_ident(table_name)
    END AS "table"
    FROM information_schema.tables
    WHERE quote_ident(table_schema) NOT IN ('information_schema',
                             'pg_catalog',
                             ${TIMESCALE_SCHEMAS})
    ORDER BY CASE WHEN ${grafanaSchemaConstraint} THEN 0 ELSE 1 END, 1`,
    expect: "pull_requests",
  },
  {
    tool: "Grafana",
    source: `${GRAFANA}: getSchema('github.pull_requests')`,
    sql: `SELECT quote_ident(column_name) AS "column", data_type AS "type"
    FROM information_schema.columns
    WHERE
      CASE WHEN array_length(parse_ident('github.pull_requests'),1) = 2
        THEN quote_ident(table_schema) = (parse_ident('github.pull_requests'))[1]
          AND quote_ident(table_name) = (parse_ident('github.pull_requests'))[2]
        ELSE quote_ident(table_name) = 'github.pull_requests'
          AND ${grafanaSchemaConstraint}
      END`,
    expect: "merged_at",
  },
  { tool: "Metabase", source: METABASE, sql: "SET extra_float_digits = 2" },
  { tool: "Metabase", source: METABASE, sql: "SHOW TRANSACTION ISOLATION LEVEL" },
  {
    tool: "Metabase",
    source: METABASE,
    sql: "SET SESSION CHARACTERISTICS AS TRANSACTION ISOLATION LEVEL READ UNCOMMITTED",
  },
  {
    tool: "Metabase",
    source: METABASE,
    sql:
      `SELECT nspname AS "TABLE_SCHEM", current_database() AS "TABLE_CATALOG" FROM pg_catalog.pg_namespace  WHERE nspname <> 'pg_toast' AND (nspname !~ '^pg_temp_'  OR nspname = (pg_catalog.current_schemas(true))[1]) AND (nspname !~ '^pg_toast_temp_'  OR nspname = replace((pg_catalog.current_schemas(true))[1], 'pg_temp_', 'pg_toast_temp_'))  ORDER BY "TABLE_SCHEM"`,
    expect: "github",
  },
  {
    tool: "Metabase",
    source: METABASE,
    sql: `with table_privileges as (
         select
           NULL as role,
           t.schemaname as schema,
           t.objectname as table,
           pg_catalog.has_any_column_privilege(current_user, '"' || replace(t.schemaname, '"', '""') || '"' || '.' || '"' || replace(t.objectname, '"', '""') || '"',  'update') as update,
           pg_catalog.has_any_column_privilege(current_user, '"' || replace(t.schemaname, '"', '""') || '"' || '.' || '"' || replace(t.objectname, '"', '""') || '"',  'select') as select,
           pg_catalog.has_any_column_privilege(current_user, '"' || replace(t.schemaname, '"', '""') || '"' || '.' || '"' || replace(t.objectname, '"', '""') || '"',  'insert') as insert,
           pg_catalog.has_table_privilege(     current_user, '"' || replace(t.schemaname, '"', '""') || '"' || '.' || '"' || replace(t.objectname, '"', '""') || '"',  'delete') as delete
         from (
           select schemaname, tablename as objectname from pg_catalog.pg_tables
           union
           select schemaname, viewname as objectname from pg_catalog.pg_views
           union
           select schemaname, matviewname as objectname from pg_catalog.pg_matviews
         ) t
         where t.schemaname !~ '^pg_'
           and t.schemaname <> 'information_schema'
           and pg_catalog.has_schema_privilege(current_user, t.schemaname, 'usage')
        )
        select t.*
        from table_privileges t`,
    expect: "pull_requests",
  },
  {
    tool: "Metabase",
    source: `${METABASE} (its schema filter names the user's schema instead of 'public')`,
    sql:
      `SELECT "n"."nspname" AS "schema", "c"."relname" AS "name", CASE "c"."relkind" WHEN 'r' THEN 'TABLE' WHEN 'p' THEN 'PARTITIONED TABLE' WHEN 'v' THEN 'VIEW' WHEN 'f' THEN 'FOREIGN TABLE' WHEN 'm' THEN 'MATERIALIZED VIEW' ELSE NULL END AS "type", "d"."description" AS "description", "stat"."n_live_tup" AS "estimated_row_count" FROM "pg_catalog"."pg_class" AS "c" INNER JOIN "pg_catalog"."pg_namespace" AS "n" ON "c"."relnamespace" = "n"."oid" LEFT JOIN "pg_catalog"."pg_description" AS "d" ON ("c"."oid" = "d"."objoid") AND ("d"."objsubid" = '0') AND ("d"."classoid" = 'pg_class'::regclass) LEFT JOIN "pg_stat_user_tables" AS "stat" ON ("n"."nspname" = "stat"."schemaname") AND ("c"."relname" = "stat"."relname") WHERE ("c"."relnamespace" = "n"."oid") AND ("n"."nspname" !~ '^pg_') AND ("n"."nspname" <> 'information_schema') AND c.relkind in ('r', 'p', 'v', 'f', 'm') AND ("n"."nspname" IN ('github')) ORDER BY "type" ASC, "schema" ASC, "name" ASC`,
    expect: "pull_requests",
  },
  { tool: "Metabase", source: METABASE, sql: "show timezone", expect: "UTC" },
];
