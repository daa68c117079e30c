/**
 * The engine surface a user may call. DuckDB runs the user's SQL over the fetched tables, and
 * besides the SQL functions a query needs it exposes its settings (`current_setting`,
 * `duckdb_settings()`), its catalog and environment (`duckdb_*`, `pragma_*`, `getenv`,
 * `current_database`), files (`read_*`, `glob`), variables, sequences and logs. Only the
 * functions on the reviewed list below may be called, checked on the parsed AST at every
 * nesting level (select list, WHERE, ORDER BY, window specs, subqueries, CTEs, set operations);
 * a name is matched without its qualifier, so `x.current_setting()`, `main.getenv(…)` and a
 * quoted `"current_setting"(…)` are the same refused function. Table functions in FROM are refused
 * by the analysis of the FROM clause.
 *
 * To add a function: it must read only its arguments (no settings, catalog, files, environment,
 * state or logs), and its cost must be bounded by the size of its inputs.
 *
 * @module
 */
import { OmniError } from "../errors.ts";
import { asArray, asNode, identText } from "./_ast.ts";

/** Syntax the parser reads as a call: `NOT (…)`, `ARRAY(SELECT …)`, `EXISTS (…)`, `= ANY (…)`, `ROLLUP (…)`. */
const SYNTAX = [
  "not",
  "array",
  "exists",
  "any",
  "all",
  "some",
  "rollup",
  "cube",
  "grouping",
  "grouping_id",
];

const SCALAR = [
  // Conditionals and comparison.
  "coalesce",
  "ifnull",
  "nullif",
  "greatest",
  "least",
  "typeof",
  // Text.
  "lower",
  "upper",
  "lcase",
  "ucase",
  "length",
  "len",
  "char_length",
  "character_length",
  "octet_length",
  "bit_length",
  "strlen",
  "concat",
  "concat_ws",
  "substr",
  "substring",
  "left",
  "right",
  "trim",
  "ltrim",
  "rtrim",
  "repeat",
  "replace",
  "translate",
  "reverse",
  "position",
  "strpos",
  "instr",
  "contains",
  "starts_with",
  "ends_with",
  "prefix",
  "suffix",
  "split_part",
  "string_split",
  "str_split",
  "string_to_array",
  "regexp_matches",
  "regexp_full_match",
  "regexp_extract",
  "regexp_extract_all",
  "regexp_replace",
  "regexp_split_to_array",
  "regexp_escape",
  "ascii",
  "chr",
  "unicode",
  "ord",
  "format",
  "printf",
  "strip_accents",
  "nfc_normalize",
  "levenshtein",
  "damerau_levenshtein",
  "hamming",
  "jaccard",
  "jaro_similarity",
  "jaro_winkler_similarity",
  "mismatches",
  "url_encode",
  "url_decode",
  "md5",
  "sha1",
  "sha256",
  "hash",
  "base64",
  "to_base64",
  "from_base64",
  "hex",
  "to_hex",
  "unhex",
  "from_hex",
  "uuid",
  "gen_random_uuid",
  "uuidv4",
  // Numbers.
  "abs",
  "sign",
  "ceil",
  "ceiling",
  "floor",
  "round",
  "round_even",
  "trunc",
  "mod",
  "fmod",
  "pow",
  "power",
  "sqrt",
  "cbrt",
  "exp",
  "ln",
  "log",
  "log10",
  "log2",
  "pi",
  "degrees",
  "radians",
  "sin",
  "cos",
  "tan",
  "asin",
  "acos",
  "atan",
  "atan2",
  "cot",
  "gcd",
  "lcm",
  "isnan",
  "isinf",
  "isfinite",
  "random",
  "even",
  "factorial",
  "add",
  "subtract",
  "multiply",
  "divide",
  "fdiv",
  "xor",
  "bit_count",
  // Dates and times.
  "now",
  "current_date",
  "current_time",
  "current_timestamp",
  "localtime",
  "localtimestamp",
  "get_current_timestamp",
  "age",
  "date_part",
  "datepart",
  "date_trunc",
  "datetrunc",
  "date_diff",
  "datediff",
  "date_sub",
  "datesub",
  "date_add",
  "time_bucket",
  "strftime",
  "strptime",
  "try_strptime",
  "to_timestamp",
  "epoch",
  "epoch_ms",
  "epoch_us",
  "epoch_ns",
  "make_date",
  "make_time",
  "make_timestamp",
  "last_day",
  "dayname",
  "monthname",
  "year",
  "quarter",
  "month",
  "week",
  "weekofyear",
  "yearweek",
  "day",
  "dayofmonth",
  "dayofweek",
  "dayofyear",
  "weekday",
  "isodow",
  "isoyear",
  "hour",
  "minute",
  "second",
  "millisecond",
  "microsecond",
  "century",
  "decade",
  "millennium",
  "era",
  "to_days",
  "to_hours",
  "to_minutes",
  "to_seconds",
  "to_milliseconds",
  "to_weeks",
  "to_months",
  "to_years",
  "timezone",
  // Lists, structs, maps (values only).
  "row",
  "list_value",
  "list_pack",
  "array_value",
  "array_length",
  "cardinality",
  "list_contains",
  "list_has",
  "array_contains",
  "array_has",
  "list_has_any",
  "list_has_all",
  "array_has_any",
  "array_has_all",
  "list_extract",
  "list_element",
  "array_extract",
  "list_slice",
  "array_slice",
  "list_concat",
  "list_cat",
  "array_concat",
  "array_cat",
  "list_distinct",
  "array_distinct",
  "list_unique",
  "array_unique",
  "list_sort",
  "array_sort",
  "list_reverse_sort",
  "array_reverse_sort",
  "list_position",
  "list_indexof",
  "array_position",
  "array_indexof",
  "list_append",
  "array_append",
  "list_prepend",
  "array_prepend",
  "list_aggregate",
  "array_to_string",
  "list_sum",
  "list_min",
  "list_max",
  "list_avg",
  "list_count",
  "flatten",
  "unnest",
  "struct_pack",
  "struct_extract",
  "map",
  "map_extract",
  "map_keys",
  "map_values",
  "element_at",
];

const AGGREGATE = [
  "count",
  "count_star",
  "count_if",
  "countif",
  "sum",
  "avg",
  "mean",
  "min",
  "max",
  "median",
  "mode",
  "quantile",
  "quantile_cont",
  "quantile_disc",
  "percentile_cont",
  "percentile_disc",
  "approx_count_distinct",
  "approx_quantile",
  "stddev",
  "stddev_pop",
  "stddev_samp",
  "variance",
  "var_pop",
  "var_samp",
  "corr",
  "covar_pop",
  "covar_samp",
  "string_agg",
  "group_concat",
  "listagg",
  "list",
  "array_agg",
  "first",
  "last",
  "any_value",
  "arbitrary",
  "arg_min",
  "arg_max",
  "argmin",
  "argmax",
  "min_by",
  "max_by",
  "bool_and",
  "bool_or",
  "bit_and",
  "bit_or",
  "bit_xor",
  "product",
  "histogram",
  "entropy",
  "skewness",
  "kurtosis",
  "mad",
  "regr_slope",
  "regr_intercept",
  "regr_r2",
  "regr_count",
  "geomean",
  "geometric_mean",
];

const WINDOW = [
  "row_number",
  "rank",
  "dense_rank",
  "percent_rank",
  "cume_dist",
  "ntile",
  "lag",
  "lead",
  "first_value",
  "last_value",
  "nth_value",
];

/**
 * The functions a user's query may call (lower-case names).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { ALLOWED_FUNCTIONS } from "./functions.ts";
 * assert.ok(ALLOWED_FUNCTIONS.has("lower"));
 * assert.ok(!ALLOWED_FUNCTIONS.has("current_setting"));
 * ```
 */
export const ALLOWED_FUNCTIONS: ReadonlySet<string> = new Set([
  ...SYNTAX,
  ...SCALAR,
  ...AGGREGATE,
  ...WINDOW,
]);

/** AST node types that call a function by name. */
const CALLS = new Set(["function", "aggr_func", "window_func"]);

/**
 * Names DuckDB calls as functions without parentheses (SQL value functions) that node-sql-parser
 * reads as plain column references: `SELECT current_catalog` names the engine's database.
 */
const PARENLESS = new Set([
  "current_catalog",
  "current_schema",
  "current_role",
  "current_user",
  "session_user",
  "user",
]);

/**
 * Throws `PLAN_FAILED` naming the first function the query calls that is not on
 * {@link ALLOWED_FUNCTIONS}, wherever in the statement it is. Walks the AST with an explicit
 * stack, so the depth of the statement cannot overflow it.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { checkFunctions } from "./functions.ts";
 * const call = (name: string) => ({
 *   type: "select",
 *   columns: [{ expr: { type: "function", name: { name: [{ type: "default", value: name }] } } }],
 * });
 * checkFunctions(call("lower"));
 * assert.throws(() => checkFunctions(call("current_setting")), /current_setting/);
 * ```
 */
export function checkFunctions(ast: unknown): void {
  const stack: unknown[] = [ast];
  while (stack.length > 0) {
    const x = stack.pop();
    if (Array.isArray(x)) {
      for (const item of x) stack.push(item);
      continue;
    }
    const node = asNode(x);
    if (!node) continue;
    if (typeof node.type === "string" && CALLS.has(node.type)) {
      const name = functionName(node);
      if (name === null || !ALLOWED_FUNCTIONS.has(name)) throw refused(name);
    }
    if (node.type === "column_ref" && !node.table && !node.db && !node.schema) {
      const name = identText(node.column);
      if (name !== null && PARENLESS.has(name)) throw refused(name);
    }
    for (const value of Object.values(node)) {
      if (value !== null && typeof value === "object") stack.push(value);
    }
  }
}

function refused(name: string | null): OmniError {
  return new OmniError(
    "PLAN_FAILED",
    `function ${name ?? "(unnamed)"} is not available in OmniSQL queries` +
      " (engine settings, catalog, files and system functions cannot be called)",
    { details: { function: name } },
  );
}

/** The called name without its qualifier, lower-cased; null when the AST shape is unknown. */
function functionName(node: Record<string, unknown>): string | null {
  if (typeof node.name === "string") return node.name.toLowerCase();
  const parts = asArray(asNode(node.name)?.name);
  if (parts.length === 0) return null;
  return identText(parts[parts.length - 1]);
}
