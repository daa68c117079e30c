/**
 * The process the audit crash test kills (`audit_crash_test.ts`): the local stack on the
 * Postgres catalog at `DATABASE_URL`, its audit journals under `OMNISQL_AUDIT_JOURNAL_DIR`.
 * Prints one JSON line — the edge's URL and a token — once it has replayed what a previous run
 * left and committed it.
 *
 * @module
 */
import { startLocalStack } from "../edge/local_stack.ts";
import { loadConfig } from "../src/config.ts";

const config = loadConfig({ ...Deno.env.toObject(), PORT: "0" });
const stack = await startLocalStack(config, { auditJournalDir: config.auditJournalDir });
await stack.auditSettled();
const token = await stack.devIssuer.mint({ sub: "dev@acme", tenant: "acme" });
console.log(JSON.stringify({ edgeUrl: stack.edgeUrl, token }));
Deno.addSignalListener("SIGTERM", async () => {
  await stack.close();
  Deno.exit(0);
});
