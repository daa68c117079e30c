/**
 * What a webhook scheme is: how one app signs its deliveries, names them, dates them, and which
 * of its connector's tables an event changes.
 *
 * @module
 */

/** A delivery whose signature checked out. */
export interface WebhookDelivery {
  /** The app's delivery id: the same on its retries, so a replay is recognised. */
  id: string;
  /** The app's event name (`pull_request`, `Issue`, `jira:issue_updated`). */
  event: string;
  /** When the app says it sent the event, epoch ms, for apps that say. */
  sentAt?: number;
  /** Tables of the connector the event changes (`pull_requests`); empty: nothing cached changes. */
  tables: string[];
}

/** One app's webhook scheme. */
export interface WebhookScheme {
  /** Connector id the scheme belongs to. */
  connector: string;
  /** The header that carries the signature, for messages. */
  signatureHeader: string;
  /** Whether the signature over the raw body is the app's, for this secret. */
  verify(headers: Headers, body: Uint8Array, secret: string): Promise<boolean>;
  /**
   * Reads a verified delivery; `undefined` when the app's always-present parts (delivery id,
   * event) are missing.
   */
  read(headers: Headers, body: Record<string, unknown>): WebhookDelivery | undefined;
}
