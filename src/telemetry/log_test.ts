import assert from "node:assert/strict";

const LOG_MODULE = new URL("./log.ts", import.meta.url).href;

/** Runs a script that logs with the default sink; its stdout lines, parsed. */
async function loggedLines(script: string): Promise<{ msg: string; n?: number }[]> {
  const code = `import { Logger } from "${LOG_MODULE}"; const log = new Logger(); ${script}`;
  // stdout and stderr into one pipe, so that their order can be seen.
  const { code: status, stdout } = await new Deno.Command("sh", {
    args: ["-c", `"$0" eval "$1" 2>&1`, Deno.execPath(), code],
    stdout: "piped",
  }).output();
  assert.equal(status, 7);
  // Only the JSON lines: Deno may print its own warnings (about npm packages) to stderr.
  return new TextDecoder().decode(stdout).split("\n").filter((l) => l.startsWith("{"))
    .map((l) => JSON.parse(l));
}

Deno.test("info lines written in batches all reach stdout, in order, even through Deno.exit", async () => {
  const lines = await loggedLines(
    `for (let n = 0; n < 500; n++) log.info("request", { n });
     await new Promise((r) => setTimeout(r, 5));
     log.info("last");
     Deno.exit(7);`,
  );
  assert.equal(lines.length, 501);
  assert.deepEqual(lines.slice(0, 500).map((l) => l.n), [...Array(500).keys()]);
  assert.equal(lines[500].msg, "last");
});

Deno.test("a warning is written after the info lines logged before it", async () => {
  const lines = await loggedLines(`log.info("a"); log.warn("w"); log.info("b"); Deno.exit(7);`);
  assert.deepEqual(lines.map((l) => l.msg), ["a", "w", "b"]);
});
