import assert from "node:assert/strict";
import { DevIssuer } from "./dev_issuer.ts";
import { createUserVerifier } from "./user_token.ts";
import { rememberVerifiedTokens } from "./verified_tokens.ts";

const issuer = await DevIssuer.fromSecret("s", "https://dev", "omnisql");
const verifier = createUserVerifier({
  issuer: "https://dev",
  audience: "omnisql",
  keys: { jwks: issuer.jwks() },
});

Deno.test("rememberVerifiedTokens() checks a token's signature once, until it expires", async () => {
  let checks = 0;
  let now = Date.now();
  const verify = rememberVerifiedTokens(async (token) => {
    checks++;
    return await verifier(token);
  }, { now: () => now });
  const token = await issuer.mint({ sub: "dev@acme", tenant: "acme" });
  const first = await verify(token);
  assert.equal((await verify(token)).sub, "dev@acme");
  assert.equal(checks, 1);
  assert.ok(Object.isFrozen(first), "shared claims cannot be edited by one request");
  // Past its own expiry it is checked again (and jose refuses it by the real clock only, so
  // what matters here is that the remembered answer is not used).
  now = (first.exp as number) * 1000 + 1;
  await verify(token);
  assert.equal(checks, 2);
});

Deno.test("rememberVerifiedTokens() never remembers a refusal", async () => {
  let checks = 0;
  const verify = rememberVerifiedTokens(async (token) => {
    checks++;
    return await verifier(token);
  });
  const forged = (await issuer.mint({ sub: "dev@acme", tenant: "acme" })).slice(0, -4) + "AAAA";
  await assert.rejects(verify(forged), /signature|malformed/);
  await assert.rejects(verify(forged), /signature|malformed/);
  assert.equal(checks, 2);
});
