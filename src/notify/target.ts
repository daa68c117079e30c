/**
 * Checking where a notification may go, and pinning it there: an `https` URL whose host resolves
 * only to public addresses ({@link isPublicAddress}), no credentials in it. The check resolves
 * the name itself and hands back the address it approved, so the request is made to that
 * address (a second lookup could answer differently: DNS rebinding). A host the deployment
 * allow-lists (`OMNISQL_NOTIFY_ALLOW_HOSTS`; the local stack allows loopback) may use `http` and
 * any address.
 *
 * @module
 */
import { OmniError } from "../errors.ts";
import { ipVersion, isPublicAddress } from "./addresses.ts";

/** A destination that passed the rules. */
export interface NotifyTarget {
  url: URL;
  /** The address to connect to (the approved resolution); the host name for allow-listed hosts. */
  connectTo: string;
  port: number;
}

/** Why a URL was refused (`details.reason`). */
export type RefusalReason =
  | "bad_url"
  | "not_https"
  | "credentials_in_url"
  | "unresolvable"
  | "private_address";

/** Resolves a host name to addresses. @default Deno.resolveDns A and AAAA */
export type Resolver = (host: string) => Promise<string[]>;

/** Options of {@link NotifyTargets}. */
export interface NotifyTargetsOptions {
  /** Hosts (`name` or `name:port`) exempt from the rules. @default none */
  allowHosts?: readonly string[];
  /** @default Deno.resolveDns, A and AAAA records */
  resolve?: Resolver;
  /** Longest URL accepted. @default 2048 */
  maxLength?: number;
}

const dnsResolve: Resolver = async (host) => {
  const answers = await Promise.allSettled([
    Deno.resolveDns(host, "A"),
    Deno.resolveDns(host, "AAAA"),
  ]);
  return answers.flatMap((a) => a.status === "fulfilled" ? a.value : []);
};

/**
 * The notification URL rules of a deployment.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { NotifyTargets } from "./target.ts";
 * const targets = new NotifyTargets({ resolve: () => Promise.resolve(["10.0.0.7"]) });
 * await assert.rejects(targets.check("https://hooks.example.com/x"), /private/);
 * await assert.rejects(targets.check("http://hooks.example.com/x"), /https/);
 * ```
 */
export class NotifyTargets {
  readonly #allow: Set<string>;
  readonly #resolve: Resolver;
  readonly #maxLength: number;

  constructor(options: NotifyTargetsOptions = {}) {
    this.#allow = new Set((options.allowHosts ?? []).map((h) => h.trim().toLowerCase()));
    this.#resolve = options.resolve ?? dnsResolve;
    this.#maxLength = options.maxLength ?? 2048;
  }

  /** Checks a URL and resolves where to connect; `INVALID_REQUEST` with `details.reason`. */
  async check(raw: string): Promise<NotifyTarget> {
    let url: URL;
    try {
      if (raw.length > this.#maxLength) throw new Error("too long");
      url = new URL(raw);
    } catch {
      throw refused("bad_url", `not a URL of at most ${this.#maxLength} characters`);
    }
    if (url.protocol !== "https:" && url.protocol !== "http:") {
      throw refused("not_https", "the URL must be https");
    }
    if (url.username || url.password) {
      throw refused("credentials_in_url", "the URL must not carry credentials");
    }
    const host = url.hostname.toLowerCase();
    const port = Number(url.port || (url.protocol === "https:" ? 443 : 80));
    const literal = host.replace(/^\[|\]$/g, "");
    let addresses: string[];
    if (ipVersion(literal)) addresses = [literal];
    else {
      try {
        addresses = await this.#resolve(host);
      } catch {
        addresses = [];
      }
    }
    if (this.#allow.has(host) || this.#allow.has(`${host}:${port}`)) {
      // Trusted by the deployment: any scheme and address; a name DNS does not know (`localhost`
      // from the hosts file) is left to the system resolver.
      return { url, connectTo: addresses[0] ?? literal, port };
    }
    if (url.protocol !== "https:") throw refused("not_https", "the URL must be https");
    if (addresses.length === 0) throw refused("unresolvable", `${host} does not resolve`);
    // Every answer must be public: a name with one private answer could be steered to it.
    if (!addresses.every(isPublicAddress)) {
      throw refused("private_address", `${host} resolves to a private or reserved address`);
    }
    return { url, connectTo: addresses[0], port };
  }
}

function refused(reason: RefusalReason, why: string): OmniError {
  return new OmniError("INVALID_REQUEST", `metadata.notify_url refused: ${why}`, {
    details: { field: "metadata.notify_url", reason },
  });
}
