/**
 * Sending signed notifications to a tenant's URLs (job ends, cost alerts): JSON, signed with the
 * tenant's secret ({@link signatureHeaders}), one delivery id across retries
 * (`X-OmniSQL-Delivery`), retried with growing delays on network errors, timeouts, 5xx, 408 and
 * 429; a 2xx delivers, any other answer gives up. The URL is checked again before every attempt
 * ({@link NotifyTargets}: https, public addresses only, pinned), since DNS may have changed since
 * it was accepted. Logs and metrics name the host only: a URL's path or query may hold a token.
 *
 * @module
 */
import type { Counter, Registry } from "prom-client";
import type { Catalog } from "../catalog/store.ts";
import type { AuditAppender } from "../catalog/zone_audit.ts";
import { loggableError, OmniError } from "../errors.ts";
import { counterIn, type CounterSpec } from "../telemetry/counter.ts";
import { processLog } from "../telemetry/log.ts";
import { postPinned } from "./post.ts";
import { signatureHeaders } from "./signature.ts";
import type { NotifyTargets } from "./target.ts";
import { signingSecret } from "./tenant_settings.ts";

/** Options of {@link Notifier}. */
export interface NotifierOptions {
  catalog: Catalog;
  /** The deployment's URL rules. */
  targets: NotifyTargets;
  /** Waits before each retry, ms; their count is the number of retries. @default [1000, 5000, 30000, 120000] */
  retryDelaysMs?: readonly number[];
  /** Longest wait for one attempt, ms. @default 10000 */
  timeoutMs?: number;
  /** Registers `omnisql_notifications_total` here. @default not exported */
  registry?: Registry;
  /** Where the final outcome of each notification is recorded. @default the catalog's audit log */
  appendAudit?: AuditAppender;
  /** The zone recorded in audit rows. @default "none" */
  zone?: string;
  /** Extra CA certificates (PEM) receivers' TLS may chain to. @default the system's roots only */
  caCerts?: string[];
}

/** One notification. */
export interface Notification {
  tenantId: string;
  url: string;
  /** `job.finished` or `cost.alert`. */
  event: string;
  payload: Record<string, unknown>;
  /** Correlates logs and the audit row. */
  traceId: string;
}

/** How a notification ended. */
export interface NotifyResult {
  delivered: boolean;
  attempts: number;
  /** The last HTTP status, when there was an answer. */
  status?: number;
  /** Why it was not delivered. */
  reason?: string;
}

const NOTIFICATIONS: CounterSpec<"event" | "outcome"> = {
  name: "omnisql_notifications_total",
  help: "Signed notifications sent to tenants, by event and outcome (delivered, failed, refused).",
  labelNames: ["event", "outcome"],
};

/**
 * Delivers notifications in the background.
 *
 * @example
 * ```ts ignore
 * const notifier = new Notifier({ catalog, targets: new NotifyTargets() });
 * void notifier.send({ tenantId: "acme", url, event: "job.finished", payload, traceId });
 * ```
 */
export class Notifier {
  readonly #options: NotifierOptions;
  readonly #delays: readonly number[];
  readonly #timeoutMs: number;
  readonly #counter: Counter<"event" | "outcome">;
  readonly #inflight = new Set<Promise<NotifyResult>>();

  constructor(options: NotifierOptions) {
    this.#options = options;
    this.#delays = options.retryDelaysMs ?? [1000, 5000, 30_000, 120_000];
    this.#timeoutMs = options.timeoutMs ?? 10_000;
    this.#counter = counterIn(options.registry, NOTIFICATIONS);
  }

  /** Checks a URL against the deployment's rules now (`INVALID_REQUEST` with `details.reason`). */
  async check(url: string): Promise<void> {
    await this.#options.targets.check(url);
  }

  /** Sends one notification, retrying; resolves with how it ended (never rejects). */
  send(notification: Notification): Promise<NotifyResult> {
    const run = this.#deliver(notification).catch((err): NotifyResult => ({
      delivered: false,
      attempts: 0,
      reason: String(err),
    }));
    this.#inflight.add(run);
    run.finally(() => this.#inflight.delete(run));
    return run;
  }

  /** Waits for every notification under way (shutdown, tests). */
  async settled(): Promise<void> {
    await Promise.all([...this.#inflight]);
  }

  async #deliver(n: Notification): Promise<NotifyResult> {
    const deliveryId = crypto.randomUUID();
    const body = JSON.stringify(n.payload);
    let host = "?";
    try {
      host = new URL(n.url).host;
    } catch {
      // refused below
    }
    let result: NotifyResult = { delivered: false, attempts: 0 };
    for (let attempt = 0; attempt <= this.#delays.length; attempt++) {
      if (attempt > 0) await new Promise((r) => setTimeout(r, this.#delays[attempt - 1]));
      result = { delivered: false, attempts: attempt + 1 };
      let target;
      try {
        target = await this.#options.targets.check(n.url);
      } catch (err) {
        const reason = err instanceof OmniError ? String(err.details?.reason) : "bad_url";
        result = { ...result, reason: `refused: ${reason}` };
        break;
      }
      try {
        const secret = await signingSecret(this.#options.catalog, n.tenantId);
        const headers = {
          "Content-Type": "application/json",
          "X-OmniSQL-Event": n.event,
          "X-OmniSQL-Delivery": deliveryId,
          ...await signatureHeaders(secret, body),
        };
        const status = await postPinned(
          target,
          body,
          headers,
          AbortSignal.timeout(this.#timeoutMs),
          this.#options.caCerts,
        );
        result = { ...result, status };
        if (status >= 200 && status < 300) {
          result.delivered = true;
          break;
        }
        result.reason = `answered ${status}`;
        if (status < 500 && status !== 408 && status !== 429) break;
      } catch (err) {
        result.reason = err instanceof Error ? err.name : "network error";
      }
    }
    const outcome = result.delivered
      ? "delivered"
      : result.reason?.startsWith("refused")
      ? "refused"
      : "failed";
    this.#counter.inc({ event: n.event, outcome });
    processLog[result.delivered ? "info" : "warn"]("notification " + outcome, {
      tenant: n.tenantId,
      event: n.event,
      host,
      attempts: result.attempts,
      status: result.status ?? null,
      reason: result.reason ?? null,
      delivery_id: deliveryId,
      trace_id: n.traceId,
    });
    await this.#audit(n, host, outcome).catch((err) =>
      processLog.error("notification audit failed", {
        error: loggableError(err),
        trace_id: n.traceId,
      })
    );
    return result;
  }

  async #audit(n: Notification, host: string, outcome: string): Promise<void> {
    const append = this.#options.appendAudit ??
      ((record) => this.#options.catalog.appendAudit(record));
    await append({
      tenantId: n.tenantId,
      userEmail: "notifier",
      zone: this.#options.zone ?? "none",
      traceId: n.traceId,
      sql: `notify ${n.event} to ${host}: ${outcome}`,
      tables: [],
      rows: null,
      status: 200,
      errorCode: null,
      kind: "admin",
    });
  }
}
