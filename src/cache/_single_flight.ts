/**
 * Single-flight: concurrent calls with the same key share one execution; the key is free again
 * once it settles.
 */
export class SingleFlight<T> {
  readonly #inFlight = new Map<string, Promise<T>>();

  /** Runs `fn` unless a call with this key is running, in which case it joins that one. */
  run(key: string, fn: () => Promise<T>): { promise: Promise<T>; joined: boolean } {
    const running = this.#inFlight.get(key);
    if (running) return { promise: running, joined: true };
    const promise = fn().finally(() => this.#inFlight.delete(key));
    this.#inFlight.set(key, promise);
    return { promise, joined: false };
  }
}
