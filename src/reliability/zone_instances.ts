/**
 * A zone's instances behind its one address, as the edge sees them (`ZONE_<NAME>_URLS`): a
 * `fetch` that sends each request for a zone to one of its healthy instances in turn, checks
 * their `/healthz` in the background, and fails over.
 *
 * Failover rules — when an instance fails before answering:
 *
 * - the connection was refused (nothing was delivered): the request goes to the next instance,
 *   whatever it is;
 * - the connection broke after the request was sent (the instance died mid-request): only an
 *   idempotent read is sent again — `GET`/`HEAD`/`DELETE`, and a query (`POST
 *   /internal/v1/query`, a read of the apps). A job submission is not: it may already be queued.
 *
 * A query resent this way is charged by the same rules as any other, never past them: the edge
 * spent the caller's budgets once, before forwarding, and does not spend them again; on the
 * second instance every call to an app spends the tenant's source budget in the shared store as
 * usual, and the pages the dead instance had already fetched are in the zone's shared source
 * cache, so they are not fetched (or charged) twice. An answer of any status — an error
 * included — is never resent.
 *
 * @module
 */

/** Options of {@link ZoneInstances}. */
export interface ZoneInstancesOptions {
  /** Each zone's instance base URLs. */
  zones: Record<string, string[]>;
  /** The fetch underneath. @default globalThis.fetch */
  fetch?: typeof fetch;
  /** How often each instance's `/healthz` is checked, ms. @default 1000 */
  healthIntervalMs?: number;
  /** Longest wait for one health check, ms. @default 1000 */
  healthTimeoutMs?: number;
}

/** One instance's state, for `/metrics` and logs. */
export interface InstanceState {
  zone: string;
  url: string;
  healthy: boolean;
}

interface Instance extends InstanceState {
  origin: string;
}

/** Queries (reads of the apps) may be resent after an instance died mid-request. */
const IDEMPOTENT_POSTS = new Set(["/internal/v1/query"]);
/** A cancel goes to every instance: the edge does not know which one runs the query. */
const BROADCAST_POSTS = new Set(["/internal/v1/cancel"]);

/**
 * Spreads a zone's traffic over its instances and fails over.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { ZoneInstances } from "./zone_instances.ts";
 * const seen: string[] = [];
 * const zones = new ZoneInstances({
 *   zones: { us: ["http://10.0.0.1:8001", "http://10.0.0.2:8001"] },
 *   fetch: (input) => {
 *     seen.push(new URL(String(input)).host);
 *     return Promise.resolve(new Response("{}"));
 *   },
 * });
 * await zones.fetch("http://10.0.0.1:8001/internal/v1/query", { method: "POST", body: "{}" });
 * await zones.fetch("http://10.0.0.1:8001/internal/v1/query", { method: "POST", body: "{}" });
 * assert.deepEqual(seen.sort(), ["10.0.0.1:8001", "10.0.0.2:8001"]);
 * ```
 */
export class ZoneInstances {
  readonly #byOrigin = new Map<string, Instance[]>();
  readonly #all: Instance[] = [];
  readonly #send: typeof fetch;
  readonly #intervalMs: number;
  readonly #timeoutMs: number;
  #turn = 0;
  #timer?: ReturnType<typeof setInterval>;

  constructor(options: ZoneInstancesOptions) {
    this.#send = options.fetch ?? globalThis.fetch;
    this.#intervalMs = options.healthIntervalMs ?? 1000;
    this.#timeoutMs = options.healthTimeoutMs ?? 1000;
    for (const [zone, urls] of Object.entries(options.zones)) {
      const instances = urls.map((url) => ({
        zone,
        url: url.replace(/\/+$/, ""),
        origin: new URL(url).origin,
        healthy: true,
      }));
      this.#all.push(...instances);
      for (const i of instances) this.#byOrigin.set(i.origin, instances);
    }
  }

  /** A `fetch` that routes requests for a zone's instances; other URLs pass through. */
  readonly fetch: typeof fetch = async (input, init) => {
    const url = new URL(input instanceof Request ? input.url : String(input));
    const instances = this.#byOrigin.get(url.origin);
    // A Request's body can be read once: it goes as it is, to the address it names.
    if (!instances || input instanceof Request) return await this.#send(input, init);
    const method = (init?.method ?? "GET").toUpperCase();
    if (method === "POST" && BROADCAST_POSTS.has(url.pathname) && instances.length > 1) {
      return await this.#broadcast(instances, url, init);
    }
    const resendable = method === "GET" || method === "HEAD" || method === "DELETE" ||
      (method === "POST" && IDEMPOTENT_POSTS.has(url.pathname));
    let lastError: unknown;
    for (const instance of this.#order(instances)) {
      const target = new URL(url.pathname + url.search, instance.url + "/");
      try {
        return await this.#send(target, init);
      } catch (err) {
        if (init?.signal?.aborted) throw err;
        instance.healthy = false;
        lastError = err;
        if (!notDelivered(err) && !resendable) throw err;
      }
    }
    throw lastError;
  };

  /**
   * Sends the request to every instance at once; answers with the first success (else the
   * last answer, else the first failure).
   */
  async #broadcast(instances: Instance[], url: URL, init?: RequestInit): Promise<Response> {
    const sent = await Promise.allSettled(
      instances.map((instance) =>
        this.#send(new URL(url.pathname + url.search, instance.url + "/"), init)
      ),
    );
    const answers = sent.flatMap((s) => s.status === "fulfilled" ? [s.value] : []);
    const chosen = answers.find((res) => res.ok) ?? answers.at(-1);
    await Promise.all(answers.filter((res) => res !== chosen).map((res) => res.body?.cancel()));
    if (chosen) return chosen;
    throw (sent[0] as PromiseRejectedResult).reason;
  }

  /** Every instance's state. */
  states(): InstanceState[] {
    return this.#all.map(({ zone, url, healthy }) => ({ zone, url, healthy }));
  }

  /** Starts the background health checks (and runs one now). */
  start(): void {
    if (this.#timer !== undefined) return;
    void this.check();
    this.#timer = setInterval(() => void this.check(), this.#intervalMs);
  }

  /** Stops the health checks. */
  stop(): void {
    clearInterval(this.#timer);
    this.#timer = undefined;
  }

  /** Checks every instance's `/healthz` once. */
  async check(): Promise<void> {
    await Promise.all(this.#all.map(async (instance) => {
      try {
        const res = await this.#send(`${instance.url}/healthz`, {
          signal: AbortSignal.timeout(this.#timeoutMs),
        });
        await res.body?.cancel();
        instance.healthy = res.ok;
      } catch {
        instance.healthy = false;
      }
    }));
  }

  /**
   * Healthy instances first, in turn; the others after them, as a last resort. A zone given as
   * one address (a load balancer, a Kubernetes Service) is tried twice: the second try reaches
   * another instance behind it.
   */
  #order(instances: Instance[]): Instance[] {
    if (instances.length === 1) return [instances[0], instances[0]];
    const start = this.#turn++ % instances.length;
    const rotated = [...instances.slice(start), ...instances.slice(0, start)];
    return [...rotated.filter((i) => i.healthy), ...rotated.filter((i) => !i.healthy)];
  }
}

/** Whether a fetch failed before the request reached the server (it was never delivered). */
function notDelivered(err: unknown): boolean {
  const text = `${err} ${err instanceof Error ? err.cause : ""}`;
  return /\(Connect\)|tcp connect error|Connection refused|dns error/i.test(text);
}
