/**
 * The REST bridge as tests started it before it became a component (`bridge/`): kept so that
 * tests written against this module keep working; new tests use `startRedisHttp` directly.
 *
 * @module
 */
import { type RedisHttp, startRedisHttp } from "../bridge/redis_http.ts";

export { replyText, type RespValue } from "../bridge/resp.ts";

/** A running bridge. */
export type UpstashBridge = RedisHttp;

/**
 * Starts a bridge on a free loopback port, in front of the machine's Redis.
 *
 * @example
 * ```ts ignore
 * // Not run: it needs the machine's Redis.
 * const bridge = await startUpstashBridge();
 * await bridge.close();
 * ```
 */
export function startUpstashBridge(
  options: { redisPort?: number; token?: string } = {},
): Promise<UpstashBridge> {
  return startRedisHttp({
    token: options.token ?? "bridge-token",
    redisUrl: `redis://127.0.0.1:${options.redisPort ?? 6379}`,
  });
}
