import { verifyHmacHex } from "../crypto/hmac.ts";
import type { WebhookScheme } from "./scheme.ts";

const PREFIX = "sha256=";

/**
 * The signature half of a scheme whose `header` carries `sha256=<hex HMAC-SHA256 of the raw
 * body>` (the WebSub form GitHub and Jira both send).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { hmacHex } from "../crypto/hmac.ts";
 * import { hubSignature } from "./_hub_signature.ts";
 * const { verify } = hubSignature("X-Hub-Signature");
 * const body = new TextEncoder().encode("{}");
 * const headers = new Headers({ "x-hub-signature": `sha256=${await hmacHex("s", body)}` });
 * assert.ok(await verify(headers, body, "s"));
 * assert.ok(!await verify(new Headers({ "x-hub-signature": "sha1=00" }), body, "s"));
 * ```
 */
export function hubSignature(header: string): Pick<WebhookScheme, "signatureHeader" | "verify"> {
  return {
    signatureHeader: header,
    verify(headers, body, secret) {
      const value = headers.get(header) ?? "";
      if (!value.startsWith(PREFIX)) return Promise.resolve(false);
      return verifyHmacHex(secret, body, value.slice(PREFIX.length));
    },
  };
}
