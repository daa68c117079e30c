/**
 * Webhooks as the sandboxes send them when their data changes: each app's real delivery format —
 * GitHub (`X-GitHub-Event`, `X-GitHub-Delivery`, `X-Hub-Signature-256: sha256=<hex>`), Linear
 * (`Linear-Event`, `Linear-Delivery`, `Linear-Signature: <hex>`, `webhookTimestamp` in the
 * body) and Jira's secret-signed admin webhooks (`X-Atlassian-Webhook-Identifier`,
 * `X-Hub-Signature: sha256=<hex>`, `timestamp` and `webhookEvent` in the body) — each an
 * HMAC-SHA256 of the raw body under the subscription's secret. Every sandbox uses this one
 * module; it signs with WebCrypto itself rather than with OmniSQL's verifier, so a test of the
 * receiver is not a test of one function against itself.
 *
 * @module
 */

/** Where an app delivers its webhooks, and the secret it signs them with. */
export interface WebhookSubscription {
  url: string;
  secret: string;
  /** Events this subscription receives; empty or absent: all. */
  events?: string[];
}

/** The apps' delivery styles. */
export type WebhookStyle = "github" | "linear" | "jira";

/** One delivery's outcome. */
export interface SentWebhook {
  url: string;
  /** The receiver's status; 0 when it could not be reached. */
  status: number;
  deliveryId: string;
}

async function hmacHex(secret: string, body: string): Promise<string> {
  const enc = new TextEncoder();
  const key = await crypto.subtle.importKey(
    "raw",
    enc.encode(secret),
    { name: "HMAC", hash: "SHA-256" },
    false,
    ["sign"],
  );
  const mac = new Uint8Array(await crypto.subtle.sign("HMAC", key, enc.encode(body)));
  return Array.from(mac, (b) => b.toString(16).padStart(2, "0")).join("");
}

/**
 * The headers and raw body of one signed delivery in an app's style.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { signedDelivery } from "./webhooks.ts";
 * const d = await signedDelivery("github", "s3cret", "pull_request", { action: "closed" });
 * assert.match(d.headers["X-Hub-Signature-256"], /^sha256=[0-9a-f]{64}$/);
 * ```
 */
export async function signedDelivery(
  style: WebhookStyle,
  secret: string,
  event: string,
  payload: Record<string, unknown>,
  now = Date.now(),
): Promise<{ deliveryId: string; headers: Record<string, string>; body: string }> {
  const deliveryId = crypto.randomUUID();
  const headers: Record<string, string> = { "Content-Type": "application/json" };
  let body: string;
  if (style === "github") {
    body = JSON.stringify(payload);
    headers["User-Agent"] = "GitHub-Hookshot/sandbox";
    headers["X-GitHub-Event"] = event;
    headers["X-GitHub-Delivery"] = deliveryId;
    headers["X-Hub-Signature-256"] = `sha256=${await hmacHex(secret, body)}`;
  } else if (style === "linear") {
    body = JSON.stringify({ ...payload, type: event, webhookTimestamp: now });
    headers["User-Agent"] = "Linear-Webhook";
    headers["Linear-Event"] = event;
    headers["Linear-Delivery"] = deliveryId;
    headers["Linear-Signature"] = await hmacHex(secret, body);
  } else {
    body = JSON.stringify({ ...payload, webhookEvent: event, timestamp: now });
    headers["X-Atlassian-Webhook-Identifier"] = deliveryId;
    headers["X-Atlassian-Webhook-Flow"] = "Primary";
    headers["X-Hub-Signature"] = `sha256=${await hmacHex(secret, body)}`;
  }
  return { deliveryId, headers, body };
}

/**
 * Delivers an event to every subscription that wants it, in parallel; never throws (an app does
 * not fail a change because a receiver is down).
 *
 * @example
 * ```ts ignore
 * await sendWebhooks("github", hooks, "pull_request", { action: "closed", number: 7 });
 * ```
 */
export async function sendWebhooks(
  style: WebhookStyle,
  subscriptions: readonly WebhookSubscription[],
  event: string,
  payload: Record<string, unknown>,
): Promise<SentWebhook[]> {
  const wanted = subscriptions.filter((s) =>
    !s.events?.length || s.events.includes(event) || s.events.includes("*")
  );
  return await Promise.all(wanted.map(async (s) => {
    const d = await signedDelivery(style, s.secret, event, payload);
    try {
      const res = await fetch(s.url, {
        method: "POST",
        headers: d.headers,
        body: d.body,
        signal: AbortSignal.timeout(10_000),
      });
      await res.body?.cancel();
      return { url: s.url, status: res.status, deliveryId: d.deliveryId };
    } catch {
      return { url: s.url, status: 0, deliveryId: d.deliveryId };
    }
  }));
}

/** What a sandbox tells {@link sandboxChanges} about its records. */
export interface SandboxChangeOptions<T> {
  style: WebhookStyle;
  /** The records' name in the change path, `/_sandbox/<collection>/<id>`. */
  collection: string;
  /** The record an id names, if any. */
  find(id: string): T | undefined;
  /** Applies a change to the record; returns the webhook event it causes. */
  apply(record: T, change: Record<string, unknown>): {
    event: string;
    payload: Record<string, unknown>;
  };
}

/**
 * The data-change endpoints of a sandbox whose app registers webhooks outside its data API:
 * `POST /_sandbox/webhooks` with `{url, secret, events?}` subscribes, and
 * `POST /_sandbox/<collection>/<id>` with a change applies it and delivers the signed webhook
 * before answering. Returns `undefined` for any other request.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { sandboxChanges } from "./webhooks.ts";
 * const items = new Map([["A-1", { title: "old" }]]);
 * const changes = sandboxChanges({
 *   style: "linear",
 *   collection: "issues",
 *   find: (id) => items.get(id),
 *   apply: (item, change) => {
 *     item.title = String(change.title);
 *     return { event: "Issue", payload: { action: "update", data: item } };
 *   },
 * });
 * const res = await changes("POST", "/_sandbox/issues/A-1", { title: "new" });
 * assert.equal(res?.status, 200);
 * assert.equal(items.get("A-1")?.title, "new");
 * assert.equal(await changes("GET", "/graphql", undefined), undefined);
 * ```
 */
export function sandboxChanges<T>(
  options: SandboxChangeOptions<T>,
): (
  method: string,
  pathname: string,
  body: unknown,
) => Promise<{ status: number; body: unknown } | undefined> {
  const subscriptions: WebhookSubscription[] = [];
  const record = new RegExp(`^/_sandbox/${options.collection}/([^/]+)$`);
  return async function sandboxChange(method, pathname, body) {
    if (method !== "POST" || !pathname.startsWith("/_sandbox/")) return undefined;
    const change = typeof body === "object" && body !== null && !Array.isArray(body)
      ? body as Record<string, unknown>
      : {};
    if (pathname === "/_sandbox/webhooks") {
      if (typeof change.url !== "string" || typeof change.secret !== "string") {
        return { status: 422, body: { message: "give url and secret" } };
      }
      subscriptions.push({
        url: change.url,
        secret: change.secret,
        events: Array.isArray(change.events) ? change.events.map(String) : undefined,
      });
      return { status: 201, body: { id: subscriptions.length } };
    }
    const m = record.exec(pathname);
    const found = m ? options.find(decodeURIComponent(m[1])) : undefined;
    if (!found) return { status: 404, body: { message: "no such record" } };
    const { event, payload } = options.apply(found, change);
    const deliveries = await sendWebhooks(options.style, subscriptions, event, payload);
    return { status: 200, body: { event, deliveries } };
  };
}
