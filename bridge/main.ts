/**
 * `deno task redis-http`: the Redis-over-HTTP bridge alone, configured by env: `REDIS_URL`
 * (default `redis://127.0.0.1:6379`), `REDIS_HTTP_TOKEN` (required), `PORT` (default 8079),
 * `REDIS_HTTP_HOSTNAME` (default 127.0.0.1; 0.0.0.0 in a container), `REDIS_HTTP_TIMEOUT_MS`,
 * `REDIS_HTTP_CONNECTIONS`. Point `UPSTASH_REDIS_REST_URL*` at it with the same token.
 *
 * @module
 */
import { startRedisHttp } from "./redis_http.ts";

const env = Deno.env.toObject();
const token = env.REDIS_HTTP_TOKEN;
if (!token) {
  console.error("redis-http: set REDIS_HTTP_TOKEN (the bearer token clients send)");
  Deno.exit(2);
}
const bridge = await startRedisHttp({
  token,
  redisUrl: env.REDIS_URL || undefined,
  port: Number(env.PORT ?? 8079),
  hostname: env.REDIS_HTTP_HOSTNAME || "127.0.0.1",
  timeoutMs: env.REDIS_HTTP_TIMEOUT_MS ? Number(env.REDIS_HTTP_TIMEOUT_MS) : undefined,
  connections: env.REDIS_HTTP_CONNECTIONS ? Number(env.REDIS_HTTP_CONNECTIONS) : undefined,
});
console.log(
  JSON.stringify({ level: "info", msg: "listening", role: "redis-http", url: bridge.url }),
);
for (const signal of ["SIGINT", "SIGTERM"] as const) {
  Deno.addSignalListener(signal, async () => {
    await bridge.close();
    Deno.exit(0);
  });
}
