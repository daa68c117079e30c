import assert from "node:assert/strict";
import { SignJWT } from "jose";
import { ContextTokens, createUserVerifier, DevIssuer } from "./mod.ts";
import { OmniError } from "../errors.ts";

const ISS = "https://dev-issuer.test";

async function setup() {
  const issuer = await DevIssuer.fromSecret("test-secret", ISS, "omnisql");
  const verify = createUserVerifier({
    issuer: ISS,
    audience: "omnisql",
    keys: { jwks: issuer.jwks() },
  });
  return { issuer, verify };
}

async function rejects(p: Promise<unknown>, code: string, pattern: RegExp) {
  const err = await p.then(() => undefined, (e) => e);
  assert.ok(err instanceof OmniError, `expected OmniError, got ${err}`);
  assert.equal(err.code, code);
  assert.match(err.message, pattern);
}

Deno.test("dev issuer derives the same key from the same secret, so another process's tokens verify", async () => {
  const a = await DevIssuer.fromSecret("test-secret", ISS, "omnisql");
  const { verify } = await setup();
  const claims = await verify(await a.mint({ sub: "dev@acme", tenant: "acme", role: "developer" }));
  assert.equal(claims.sub, "dev@acme");
  assert.equal(claims.tenant, "acme");
  assert.equal(claims.role, "developer");
});

Deno.test("a token from an issuer with another secret is refused", async () => {
  const { verify } = await setup();
  const other = await DevIssuer.fromSecret("other-secret", ISS, "omnisql");
  await rejects(
    verify(await other.mint({ sub: "x", tenant: "acme" })),
    "UNAUTHENTICATED",
    /key|signature/,
  );
});

Deno.test("missing, garbage, expired and wrong-audience tokens are UNAUTHENTICATED", async () => {
  const { issuer, verify } = await setup();
  await rejects(verify(undefined), "UNAUTHENTICATED", /missing/);
  await rejects(verify("not.a.jwt"), "UNAUTHENTICATED", /malformed/);
  await rejects(
    verify(await issuer.mint({ sub: "x", tenant: "acme" }, { ttlSeconds: -10 })),
    "UNAUTHENTICATED",
    /expired/,
  );
  const wrongAud = await DevIssuer.fromSecret("test-secret", ISS, "someone-else");
  await rejects(
    verify(await wrongAud.mint({ sub: "x", tenant: "acme" })),
    "UNAUTHENTICATED",
    /aud/,
  );
});

Deno.test("a token without a tenant claim is refused", async () => {
  const { verify } = await setup();
  const hs = await new SignJWT({}).setProtectedHeader({ alg: "HS256" }).setSubject("x").sign(
    new Uint8Array(32),
  );
  await rejects(verify(hs), "UNAUTHENTICATED", /.+/);
});

Deno.test("context tokens are accepted only by the zone they were signed for", async () => {
  const tokens = new ContextTokens("a-long-enough-internal-secret");
  const jwt = await tokens.sign({
    user: { sub: "dev@globex", tenant: "globex" },
    zone: "eu",
    traceId: "t1",
  });
  const ctx = await tokens.verify(jwt, "eu");
  assert.equal(ctx.user.tenant, "globex");
  assert.equal(ctx.traceId, "t1");
  await rejects(tokens.verify(jwt, "us"), "UNAUTHENTICATED", /zone us/);
  const forged = new ContextTokens("another-internal-secret-value");
  await rejects(forged.verify(jwt, "eu"), "UNAUTHENTICATED", /rejected/);
});
