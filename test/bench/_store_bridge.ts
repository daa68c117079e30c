/**
 * The Upstash REST bridge as a bench's zone store, in a process of its own: each request is
 * answered `delayMs` later than the bridge would, as a store across a network would (Upstash is
 * reached over HTTPS, not loopback), so that the round trips on a query's path weigh what they
 * would in production.
 *
 * ```sh
 * deno run -A test/bench/_store_bridge.ts 18079 a-token 2   # port, bearer token, added ms
 * ```
 *
 * @module
 */
import { redisHttpHandler } from "../../bridge/redis_http.ts";
import { parseRedisUrl, RedisPool } from "../../bridge/resp.ts";

const [port, token, delay] = Deno.args;
const delayMs = Number(delay ?? 0);
const handler = redisHttpHandler(new RedisPool(parseRedisUrl("redis://127.0.0.1:6379")), { token });
Deno.serve({ port: Number(port), hostname: "127.0.0.1", onListen: () => {} }, async (req) => {
  if (delayMs > 0) await new Promise((resolve) => setTimeout(resolve, delayMs));
  return handler(req);
});
