/**
 * GitHub's webhooks: `X-Hub-Signature-256: sha256=<hex HMAC-SHA256 of the raw body>`, the
 * delivery id in `X-GitHub-Delivery` (kept across redeliveries), the event in `X-GitHub-Event`.
 * GitHub dates nothing in the headers, so replays are caught by the delivery id alone.
 *
 * @module
 */
import { hubSignature } from "./_hub_signature.ts";
import type { WebhookScheme } from "./scheme.ts";

/** Events that change pull requests (their fields, reviews, merges). */
const PULL_REQUEST_EVENTS = new Set([
  "pull_request",
  "pull_request_review",
  "pull_request_review_comment",
  "pull_request_review_thread",
]);

/**
 * GitHub's scheme.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { githubWebhooks } from "./github.ts";
 * const headers = new Headers({ "x-github-delivery": "d-1", "x-github-event": "pull_request" });
 * assert.deepEqual(githubWebhooks.read(headers, {})?.tables, ["pull_requests"]);
 * ```
 */
export const githubWebhooks: WebhookScheme = {
  connector: "github",
  ...hubSignature("X-Hub-Signature-256"),
  read(headers) {
    const id = headers.get("x-github-delivery");
    const event = headers.get("x-github-event");
    if (!id || !event) return undefined;
    return { id, event, tables: PULL_REQUEST_EVENTS.has(event) ? ["pull_requests"] : [] };
  },
};
