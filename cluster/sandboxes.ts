/**
 * The cluster's stand-ins for the outside world, as one process: the demo apps' sandboxes
 * (GitHub, Jira, Linear, Salesforce) on fixed ports from `SANDBOX_BASE_PORT`, answering after
 * `SANDBOX_LATENCY_MS` (default 0, as fast as they can; a real API is slower), and the identity
 * provider's public keys (the dev issuer's, from `DEV_ISSUER_SECRET`) at
 * `http://127.0.0.1:<IDP_PORT>/.well-known/jwks.json`, where the edges and zones point
 * `OIDC_JWKS_URL` as they would at a real provider. Prints one JSON line with the sandboxes'
 * URLs once they listen.
 *
 * @module
 */
import { startDemoSandboxes } from "../connectors/demo/sandboxes.ts";
import { DevIssuer } from "../src/auth/dev_issuer.ts";
import { loadConfig } from "../src/config.ts";

const env = Deno.env.toObject();
const config = loadConfig(env);
const base = Number(env.SANDBOX_BASE_PORT);
const idpPort = Number(env.IDP_PORT);
if (!Number.isInteger(base) || !Number.isInteger(idpPort)) {
  throw new Error("sandboxes: set SANDBOX_BASE_PORT and IDP_PORT");
}
const sandboxes = await startDemoSandboxes({
  latencyMs: Number(env.SANDBOX_LATENCY_MS ?? 0),
  ports: {
    github: base,
    jiraAcme: base + 1,
    jiraGlobex: base + 2,
    linearAcme: base + 3,
    linearGlobex: base + 4,
    salesforceAcme: base + 5,
    salesforceGlobex: base + 6,
  },
});
const issuer = await DevIssuer.fromSecret(
  config.devIssuerSecret,
  config.oidcIssuer,
  config.oidcAudience,
);
const jwks = issuer.jwks();
const idp = Deno.serve({ port: idpPort, hostname: "127.0.0.1", onListen: () => {} }, (req) => {
  const path = new URL(req.url).pathname;
  if (path === "/.well-known/jwks.json") return Response.json(jwks);
  if (path === "/healthz") return Response.json({ ok: true, role: "idp" });
  return Response.json({ error: "not found" }, { status: 404 });
});
console.log(JSON.stringify({ role: "sandboxes", urls: sandboxes.urls }));

for (const signal of ["SIGINT", "SIGTERM"] as const) {
  Deno.addSignalListener(signal, async () => {
    await idp.shutdown();
    await sandboxes.close();
    Deno.exit(0);
  });
}
