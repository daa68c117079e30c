/**
 * Normalises SQL text for a cache key: whitespace runs collapse to one space and unquoted text is
 * lower-cased, while string literals and quoted identifiers stay exactly as written (their case
 * is meaningful); a trailing semicolon is dropped.
 */
export function normalizeSql(sql: string): string {
  let out = "";
  let i = 0;
  while (i < sql.length) {
    const ch = sql[i];
    if (ch === "'" || ch === '"') {
      let j = i + 1;
      for (; j < sql.length; j++) {
        if (sql[j] === ch) {
          if (sql[j + 1] === ch) j++; // doubled quote inside
          else break;
        }
      }
      out += sql.slice(i, j + 1);
      i = j + 1;
    } else if (/\s/.test(ch)) {
      while (i < sql.length && /\s/.test(sql[i])) i++;
      out += " ";
    } else {
      out += ch.toLowerCase();
      i++;
    }
  }
  return out.trim().replace(/\s*;$/, "");
}
