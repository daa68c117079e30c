import assert from "node:assert/strict";
import { Hono } from "hono";
import { DevIssuer } from "../../src/auth/dev_issuer.ts";
import type { Catalog } from "../../src/catalog/store.ts";
import { type AppEnv, renderErrors } from "../../src/http/mod.ts";
import { webConsole } from "./mod.ts";

// The catalog is never reached: every request below is refused before a handler runs.
const catalog = {} as Catalog;

async function consoleApp() {
  const devIssuer = await DevIssuer.fromSecret("test", "https://issuer.test", "omnisql");
  const app = new Hono<AppEnv>();
  app.onError(renderErrors);
  app.route("/", webConsole({ catalog, devIssuer }));
  return app;
}

Deno.test("the dev issuer refuses a rebound Host and a cross-site text/plain POST", async () => {
  const app = await consoleApp();
  const body = JSON.stringify({ tenant: "acme", user: "admin@acme" });
  const rebound = await app.request("http://evil.example:8000/dev/token", {
    method: "POST",
    headers: { host: "evil.example:8000", "content-type": "application/json" },
    body,
  });
  assert.equal(rebound.status, 403);
  const plain = await app.request("http://127.0.0.1:8000/dev/token", {
    method: "POST",
    headers: { host: "127.0.0.1:8000", "content-type": "text/plain" },
    body,
  });
  assert.equal(plain.status, 400);
  const users = await app.request("http://evil.example/dev/users", {
    headers: { host: "evil.example" },
  });
  assert.equal(users.status, 403);
});
