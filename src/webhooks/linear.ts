/**
 * Linear's webhooks: `Linear-Signature: <hex HMAC-SHA256 of the raw body>`, the delivery id in
 * `Linear-Delivery`, the entity type in `Linear-Event` (and the body's `type`), and the send
 * time in the body's `webhookTimestamp` (epoch ms), which Linear asks receivers to check.
 *
 * @module
 */
import { verifyHmacHex } from "../crypto/hmac.ts";
import type { WebhookScheme } from "./scheme.ts";

/** Entity types whose changes show in `linear.issues` (labels and states are issue columns). */
const ISSUE_TYPES = new Set(["Issue", "IssueLabel", "WorkflowState", "Cycle", "Project"]);

/**
 * Linear's scheme.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { linearWebhooks } from "./linear.ts";
 * const headers = new Headers({ "linear-delivery": "d-1", "linear-event": "Issue" });
 * const d = linearWebhooks.read(headers, { type: "Issue", webhookTimestamp: 1700000000000 });
 * assert.equal(d?.sentAt, 1700000000000);
 * ```
 */
export const linearWebhooks: WebhookScheme = {
  connector: "linear",
  signatureHeader: "Linear-Signature",
  verify(headers, body, secret) {
    return verifyHmacHex(secret, body, headers.get("linear-signature") ?? "");
  },
  read(headers, body) {
    const id = headers.get("linear-delivery");
    const event = headers.get("linear-event") ?? (typeof body.type === "string" ? body.type : "");
    if (!id || !event) return undefined;
    const sentAt = typeof body.webhookTimestamp === "number" ? body.webhookTimestamp : undefined;
    return { id, event, sentAt, tables: ISSUE_TYPES.has(event) ? ["issues"] : [] };
  },
};
