import assert from "node:assert/strict";
import { bindParameters, ParameterError, paramText } from "./params.ts";
import { OID } from "./types.ts";

Deno.test("bindParameters() never lets a value become SQL", () => {
  const hostile = ["x' OR '1'='1", "'; DROP TABLE t; --", "\\' OR 1=1 --", "$1"];
  for (const value of hostile) {
    const sql = bindParameters("SELECT * FROM t WHERE s = $1", [value], [OID.text]);
    assert.equal(sql, `SELECT * FROM t WHERE s = '${value.replaceAll("'", "''")}'`);
  }
  assert.throws(
    () => bindParameters("SELECT * FROM t LIMIT $1", ["1 OR 1=1"], [OID.int8]),
    ParameterError,
  );
  assert.throws(() => bindParameters("SELECT $1", ["a\u0000b"], [OID.text]), ParameterError);
});

Deno.test("bindParameters() leaves $n inside strings, identifiers and comments alone", () => {
  assert.equal(
    bindParameters(`SELECT '$1', "$1", $1 /* $1 */ -- $1`, ["v"], [OID.text]),
    `SELECT '$1', "$1", 'v' /* $1 */ -- $1`,
  );
  assert.throws(() => bindParameters("SELECT $2", ["v"], [OID.text]), /no parameter \$2/);
});

Deno.test("bindParameters() writes typed literals", () => {
  assert.equal(
    bindParameters("SELECT $1, $2, $3, $4", ["t", "2.5e3", null, "-7"], [
      OID.bool,
      OID.float8,
      OID.text,
      OID.int4,
    ]),
    "SELECT TRUE, 2.5e3, NULL, -7",
  );
});

Deno.test("paramText() decodes binary parameters of the common types", () => {
  const int8 = new Uint8Array(8);
  new DataView(int8.buffer).setBigInt64(0, 9007199254740993n);
  assert.equal(paramText(int8, 1, OID.int8), "9007199254740993");
  assert.equal(paramText(new Uint8Array([1]), 1, OID.bool), "t");
  assert.throws(() => paramText(new Uint8Array(16), 1, OID.timestamptz), ParameterError);
});
