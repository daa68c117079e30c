/**
 * RFC 8288 `Link` headers, as GitHub and many REST APIs page with them.
 *
 * @module
 */

/**
 * Parses an RFC 8288 `Link` header into rel → URL.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { parseLinkHeader } from "./link_header.ts";
 * const links = parseLinkHeader('<https://x/p?page=2>; rel="next", <https://x/p?page=5>; rel="last"');
 * assert.deepEqual(links, { next: "https://x/p?page=2", last: "https://x/p?page=5" });
 * ```
 */
export function parseLinkHeader(header: string | null): Record<string, string> {
  const links: Record<string, string> = {};
  if (!header) return links;
  for (const part of header.split(",")) {
    const match = part.match(/<([^>]*)>\s*;\s*rel="?([^";]+)"?/);
    if (match) { for (const rel of match[2].trim().split(/\s+/)) links[rel] = match[1]; }
  }
  return links;
}
