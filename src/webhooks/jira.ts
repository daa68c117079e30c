/**
 * Jira Cloud's secret-signed (admin-registered) webhooks: `X-Hub-Signature: sha256=<hex
 * HMAC-SHA256 of the raw body>` (the WebSub `method=signature` form), the delivery id in
 * `X-Atlassian-Webhook-Identifier` (unchanged across retries), the event in the body's
 * `webhookEvent` and its time in the body's `timestamp` (epoch ms).
 *
 * @module
 */
import { hubSignature } from "./_hub_signature.ts";
import type { WebhookScheme } from "./scheme.ts";

/** Event families that change what `jira.issues` returns. */
const ISSUE_EVENTS = /^(jira:issue_|comment_|issuelink_|worklog_|attachment_|sprint_|version_)/;

/**
 * Jira's scheme.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { jiraWebhooks } from "./jira.ts";
 * const headers = new Headers({ "x-atlassian-webhook-identifier": "42" });
 * const d = jiraWebhooks.read(headers, { webhookEvent: "jira:issue_updated", timestamp: 1 });
 * assert.deepEqual(d?.tables, ["issues"]);
 * ```
 */
export const jiraWebhooks: WebhookScheme = {
  connector: "jira",
  ...hubSignature("X-Hub-Signature"),
  read(headers, body) {
    const id = headers.get("x-atlassian-webhook-identifier");
    const event = typeof body.webhookEvent === "string" ? body.webhookEvent : "";
    if (!id || !event) return undefined;
    const sentAt = typeof body.timestamp === "number" ? body.timestamp : undefined;
    return { id, event, sentAt, tables: ISSUE_EVENTS.test(event) ? ["issues"] : [] };
  },
};
