import { Counter, type Registry } from "prom-client";

/** What a counter is called, what it counts, and the labels it is split by. */
export interface CounterSpec<L extends string> {
  name: string;
  help: string;
  labelNames: readonly L[];
}

/**
 * A counter kept in `registry`, or in no registry at all when there is none: a component built
 * without metrics (a test, a CLI) counts into nothing rather than into prom-client's global
 * registry, where a second instance would collide on the name.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { Registry } from "prom-client";
 * import { counterIn } from "./counter.ts";
 * const registry = new Registry();
 * const counter = counterIn(registry, {
 *   name: "demo_total",
 *   help: "Demo events, by outcome.",
 *   labelNames: ["outcome"],
 * });
 * counter.inc({ outcome: "ok" });
 * assert.match(await registry.getSingleMetricAsString("demo_total"), /outcome="ok"} 1/);
 * ```
 */
export function counterIn<L extends string>(
  registry: Registry | undefined,
  spec: CounterSpec<L>,
): Counter<L> {
  return new Counter({ ...spec, registers: registry ? [registry] : [] });
}
