/**
 * Receiving a webhook in the tenant's zone: the connection's secret verifies the app's signature
 * over the raw body (the signature is the only authentication); a delivery id seen before within
 * the window, or an event the app dated outside it, is acknowledged and ignored; a valid event
 * moves the invalidation watermark of the tables it changes, so the source-cache entries and
 * every result-cache answer built from them stop being served. Verified deliveries go on the
 * tenant's audit log; rejected ones only on the process log and metrics (an unauthenticated
 * caller must not be able to grow the audit log).
 *
 * @module
 */
import type { Counter, Registry } from "prom-client";
import type { Catalog } from "../catalog/store.ts";
import type { AuditAppender } from "../catalog/zone_audit.ts";
import type { ClaimStore } from "../cache/claims.ts";
import type { Invalidations } from "../cache/invalidations.ts";
import { sha256Hex } from "../crypto/sha256.ts";
import { OmniError } from "../errors.ts";
import { counterIn, type CounterSpec } from "../telemetry/counter.ts";
import { processLog } from "../telemetry/log.ts";
import { githubWebhooks } from "./github.ts";
import { jiraWebhooks } from "./jira.ts";
import { linearWebhooks } from "./linear.ts";
import type { WebhookScheme } from "./scheme.ts";
import { webhookEndpoint } from "./secrets.ts";

/** The apps whose webhooks OmniSQL verifies, by connector id. */
export const WEBHOOK_SCHEMES: Readonly<Record<string, WebhookScheme>> = {
  github: githubWebhooks,
  linear: linearWebhooks,
  jira: jiraWebhooks,
};

/** Options of {@link WebhookReceiver}. */
export interface WebhookReceiverOptions {
  catalog: Catalog;
  /** The zone this receiver serves; other zones' tenants are refused. */
  zone: string;
  /** The zone's invalidation watermarks. */
  invalidations: Invalidations;
  /** The zone's set-once store for delivery ids. */
  claims: ClaimStore;
  /** Where verified deliveries are recorded. @default the catalog's audit log */
  appendAudit?: AuditAppender;
  /** Replay window: delivery ids are remembered, and dated events accepted, this long. @default 300000 */
  windowMs?: number;
  /** Registers `omnisql_webhooks_total` here. @default not exported */
  registry?: Registry;
  /** @default WEBHOOK_SCHEMES */
  schemes?: Readonly<Record<string, WebhookScheme>>;
}

/** What a delivery did. */
export interface WebhookOutcome {
  status: "applied" | "ignored";
  /** Why it was ignored. */
  reason?: "replayed" | "outside_window";
  delivery_id: string;
  event: string;
  /** `schema.table` of each table invalidated. */
  invalidated: string[];
}

/** One delivery as it arrived. */
export interface WebhookArrival {
  tenantId: string;
  connection: string;
  headers: Headers;
  body: Uint8Array;
  traceId: string;
  /**
   * Called once the delivery verifies, before it is applied: a flood guard spent only by
   * verified deliveries, so unsigned floods cannot lock the app's real webhooks out.
   */
  admit?: () => Promise<void>;
}

const REFUSED = "the webhook's signature does not verify for this endpoint";

const DELIVERIES: CounterSpec<"connector" | "outcome"> = {
  name: "omnisql_webhooks_total",
  help: "Webhook deliveries, by connector and outcome (applied, replayed, outside_window; " +
    'rejected ones under connector "unknown").',
  labelNames: ["connector", "outcome"],
};

/**
 * Verifies and applies webhook deliveries for one zone.
 *
 * @example
 * ```ts ignore
 * const receiver = new WebhookReceiver({ catalog, zone: "us", invalidations, claims });
 * const outcome = await receiver.receive({ tenantId: "acme", connection: "github", headers, body, traceId });
 * ```
 */
export class WebhookReceiver {
  readonly #options: WebhookReceiverOptions;
  readonly #windowMs: number;
  readonly #schemes: Readonly<Record<string, WebhookScheme>>;
  readonly #counter: Counter<"connector" | "outcome">;

  constructor(options: WebhookReceiverOptions) {
    this.#options = options;
    this.#windowMs = options.windowMs ?? 300_000;
    if (!(this.#windowMs >= 1000)) throw new RangeError("windowMs must be at least 1000");
    this.#schemes = options.schemes ?? WEBHOOK_SCHEMES;
    this.#counter = counterIn(options.registry, DELIVERIES);
  }

  /** Verifies a delivery and applies it; `UNAUTHENTICATED` when it does not verify. */
  async receive(arrival: WebhookArrival): Promise<WebhookOutcome> {
    const { catalog, zone } = this.#options;
    const tenant = await catalog.getTenant(arrival.tenantId);
    const endpoint = tenant?.zone === zone
      ? await webhookEndpoint(catalog, arrival.tenantId, arrival.connection)
      : undefined;
    const scheme = endpoint ? this.#schemes[endpoint.connector] : undefined;
    if (!endpoint || !scheme) {
      return this.#refuse(
        arrival,
        !tenant
          ? "no such tenant in this zone"
          : !endpoint
          ? "no such connection, or no webhook secret set"
          : "the connector has no webhook scheme",
      );
    }
    if (!await scheme.verify(arrival.headers, arrival.body, endpoint.secret)) {
      return this.#refuse(arrival, `bad or missing ${scheme.signatureHeader}`);
    }
    await arrival.admit?.();
    let parsed: unknown;
    try {
      parsed = JSON.parse(new TextDecoder().decode(arrival.body));
    } catch {
      throw new OmniError("INVALID_REQUEST", "the webhook body is not JSON");
    }
    const body = typeof parsed === "object" && parsed !== null && !Array.isArray(parsed)
      ? parsed as Record<string, unknown>
      : {};
    const delivery = scheme.read(arrival.headers, body);
    if (!delivery) {
      throw new OmniError(
        "INVALID_REQUEST",
        "the webhook lacks its delivery id or event name",
      );
    }
    const outcome = (status: WebhookOutcome["status"], reason?: WebhookOutcome["reason"]) => ({
      status,
      ...(reason ? { reason } : {}),
      delivery_id: delivery.id,
      event: delivery.event,
      invalidated: status === "applied" ? delivery.tables.map((t) => `${endpoint.name}.${t}`) : [],
    });
    const now = Date.now();
    let result: WebhookOutcome;
    if (delivery.sentAt !== undefined && Math.abs(now - delivery.sentAt) > this.#windowMs) {
      result = outcome("ignored", "outside_window");
    } else {
      const claimKey = await sha256Hex(
        `webhook\n${arrival.tenantId}\n${endpoint.connectionId}\n${delivery.id}`,
      );
      result = await this.#options.claims.claim(claimKey, this.#windowMs)
        ? outcome("applied")
        : outcome("ignored", "replayed");
    }
    if (result.invalidated.length > 0) {
      await this.#options.invalidations.invalidate(arrival.tenantId, result.invalidated);
    }
    this.#counter.inc({ connector: scheme.connector, outcome: result.reason ?? result.status });
    await this.#audit(arrival, result, zone);
    processLog.info("webhook received", {
      tenant: arrival.tenantId,
      connection: endpoint.name,
      event: delivery.event,
      delivery_id: delivery.id,
      outcome: result.reason ?? result.status,
      invalidated: result.invalidated,
      trace_id: arrival.traceId,
    });
    return result;
  }

  #refuse(arrival: WebhookArrival, why: string): never {
    // One label for every refusal: the connector's name would tell an unauthenticated caller who
    // can read the metrics which connections exist and have a secret. The log says which.
    this.#counter.inc({ connector: "unknown", outcome: "rejected" });
    processLog.warn("webhook refused", {
      tenant: arrival.tenantId,
      connection: arrival.connection,
      reason: why,
      trace_id: arrival.traceId,
    });
    throw new OmniError("UNAUTHENTICATED", REFUSED);
  }

  async #audit(arrival: WebhookArrival, outcome: WebhookOutcome, zone: string): Promise<void> {
    const append = this.#options.appendAudit ??
      ((record) => this.#options.catalog.appendAudit(record));
    await append({
      tenantId: arrival.tenantId,
      userEmail: `webhook:${arrival.connection}`,
      zone,
      traceId: arrival.traceId,
      sql: `webhook ${outcome.event} ${outcome.delivery_id} ${outcome.reason ?? outcome.status}`,
      tables: outcome.invalidated,
      rows: null,
      status: 200,
      errorCode: null,
      kind: "admin",
    });
  }
}
