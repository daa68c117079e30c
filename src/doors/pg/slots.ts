/**
 * The Postgres door's connection slots: at most `total` connections at once, of which a tenant's
 * signed-in sessions hold at most `perTenant` and a user's at most `perUser` — so no tenant, and
 * no user, can take the door from the others. A connection still signing in holds a slot it may
 * lose: when every slot is taken, a connection still signing in is closed to make room — the
 * oldest of the peer address holding the most of them — so connections that never sign in cannot
 * lock the door, and a flood of them from one address closes its own before anyone else's (a
 * real client signs in within milliseconds, but a slow network or a password prompt is longer).
 *
 * @module
 */

/** Bounds of {@link ConnectionSlots}. */
export interface SlotLimits {
  total: number;
  perTenant: number;
  perUser: number;
}

/** One connection's slot. */
export interface Slot {
  /**
   * Marks the connection signed in as `user` of `tenant`, no longer evicted: undefined, or why
   * it may not be (the tenant or the user holds its share already; SQLSTATE 53300).
   */
  signIn(tenant: string, user: string): string | undefined;
  /** Frees the slot (the connection closed); idempotent. */
  release(): void;
}

interface Held extends Slot {
  evict(): void;
}

/** A peer's connections still signing in, oldest first. */
type Pending = Set<Held>;

/**
 * Connection slots (see the module doc).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { ConnectionSlots } from "./slots.ts";
 * const slots = new ConnectionSlots({ total: 2, perTenant: 2, perUser: 1 });
 * const closed: string[] = [];
 * const a = slots.connect(() => closed.push("a"))!;
 * assert.equal(a.signIn("acme", "dev@acme"), undefined);
 * const b = slots.connect(() => closed.push("b"))!;
 * assert.match(b.signIn("acme", "dev@acme")!, /too many connections for role "dev@acme"/);
 * // b never signed in: a third connection takes its slot.
 * assert.ok(slots.connect(() => closed.push("c"), "10.0.0.7"));
 * assert.deepEqual(closed, ["b"]);
 * ```
 */
export class ConnectionSlots {
  /** Connections still signing in, by peer address. */
  readonly #signingIn = new Map<string, Pending>();
  readonly #signedIn = new Map<string, number>();
  #open = 0;

  constructor(readonly limits: SlotLimits) {}

  /** Connections holding a slot. */
  get open(): number {
    return this.#open;
  }

  /**
   * A slot for a new connection from `peer` (`close` ends it if it is evicted), or undefined
   * when every slot is held by a signed-in session.
   */
  connect(close: () => void, peer = ""): Slot | undefined {
    if (this.#open >= this.limits.total) {
      const victim = this.#evictable();
      if (!victim) return undefined;
      victim.evict();
    }
    this.#open++;
    let released = false;
    let keys: string[] = [];
    const slot: Held = {
      signIn: (tenant, user) => {
        const tenantKey = `tenant\0${tenant}`;
        const userKey = `user\0${tenant}\0${user.toLowerCase()}`;
        if (this.#count(userKey) >= this.limits.perUser) {
          return `too many connections for role "${user}"`;
        }
        if (this.#count(tenantKey) >= this.limits.perTenant) {
          return `too many connections for tenant "${tenant}"`;
        }
        this.#settle(peer, slot);
        keys = [tenantKey, userKey];
        for (const key of keys) this.#signedIn.set(key, this.#count(key) + 1);
        return undefined;
      },
      release: () => {
        if (released) return;
        released = true;
        this.#open--;
        this.#settle(peer, slot);
        for (const key of keys) {
          const left = this.#count(key) - 1;
          if (left > 0) this.#signedIn.set(key, left);
          else this.#signedIn.delete(key);
        }
      },
      evict: () => {
        slot.release();
        close();
      },
    };
    const pending = this.#signingIn.get(peer) ?? new Set();
    pending.add(slot);
    this.#signingIn.set(peer, pending);
    return slot;
  }

  /** The oldest connection still signing in of the peer with the most of them. */
  #evictable(): Held | undefined {
    let most: Pending | undefined;
    for (const pending of this.#signingIn.values()) {
      if (!most || pending.size > most.size) most = pending;
    }
    return most?.values().next().value;
  }

  /** `slot` of `peer` no longer signs in. */
  #settle(peer: string, slot: Held): void {
    const pending = this.#signingIn.get(peer);
    if (!pending?.delete(slot)) return;
    if (pending.size === 0) this.#signingIn.delete(peer);
  }

  #count(key: string): number {
    return this.#signedIn.get(key) ?? 0;
  }
}
