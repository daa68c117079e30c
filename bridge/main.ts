/**
 * `deno task redis-http`: the Redis-over-HTTP bridge alone, configured by env (see
 * `redisHttpOptionsFromEnv`): `REDIS_URL` (default `redis://127.0.0.1:6379`), `REDIS_HTTP_TOKEN`
 * (required), `PORT` (default 8079), `REDIS_HTTP_HOSTNAME`. Point `UPSTASH_REDIS_REST_URL*` at it
 * with the same token.
 *
 * @module
 */
import { redisHttpOptionsFromEnv, startRedisHttp } from "./redis_http.ts";

const bridge = await startRedisHttp(redisHttpOptionsFromEnv(Deno.env.toObject()));
console.log(
  JSON.stringify({ level: "info", msg: "listening", role: "redis-http", url: bridge.url }),
);
for (const signal of ["SIGINT", "SIGTERM"] as const) {
  Deno.addSignalListener(signal, async () => {
    await bridge.close();
    Deno.exit(0);
  });
}
