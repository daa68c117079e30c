/**
 * The web console in headless Chromium (Debian's `chromium`, driven by playwright-core): sign
 * in as a demo user, run a join from a template, see its rows, plan and timing; a QA user sees
 * masked values. Skipped, saying why, where Chromium is not installed (CI installs it).
 */
import assert from "node:assert/strict";
import { chromium, type Page } from "playwright-core";
import { startTestStack } from "./_stack.ts";

const CHROMIUM = "/usr/bin/chromium";
const installed = await Deno.stat(CHROMIUM).then(() => true, () => false);
if (!installed) {
  console.warn(`browser_test: skipped, ${CHROMIUM} is missing (apt-get install -y chromium)`);
}

async function signInAs(page: Page, email: string) {
  await page.locator("#dev-user option").first().waitFor({ state: "attached" });
  const options = page.locator("#dev-user option");
  const labels = await options.allInnerTexts();
  const i = labels.findIndex((l) => l.startsWith(`${email} `));
  const value = i >= 0 ? await options.nth(i).getAttribute("value") : null;
  assert.ok(value, `demo user ${email} offered`);
  await page.selectOption("#dev-user", value);
  await page.click("#sign-in-dev");
  await page.locator("#who").filter({ hasText: email }).waitFor();
}

async function runTemplate(page: Page, title: string) {
  await page.click(`#templates button:text-is("${title}")`);
  const answered = page.waitForResponse((r) => r.url().endsWith("/v1/query"));
  await page.click("#run");
  const response = await answered;
  const body = await response.json();
  assert.ok(response.ok(), `no error: ${JSON.stringify(body)}`);
  // Wait for this answer's own trace chip: an earlier answer's rows may still be on the page.
  await page.locator("#status .chip b", { hasText: body.trace_id }).waitFor();
}

/** The values of one column of the results table. */
async function column(page: Page, name: string): Promise<string[]> {
  const headers = await page.locator("#tab-results thead th").allInnerTexts();
  const i = headers.indexOf(name);
  assert.ok(i >= 0, `column ${name} in ${headers.join(", ")}`);
  return await page.locator(`#tab-results tbody tr td:nth-child(${i + 1})`).allInnerTexts();
}

Deno.test({
  name: "the console runs a template join, shows rows, plan and timing, and masks for QA",
  ignore: !installed,
  sanitizeResources: false,
  sanitizeOps: false,
  async fn(t) {
    const stack = await startTestStack();
    const browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
      ],
    });
    const dir = await Deno.makeTempDir({ prefix: "omnisql-console-" });
    try {
      const page = await browser.newPage({ viewport: { width: 1360, height: 900 } });
      await page.goto(stack.edgeUrl);

      await t.step("a developer runs the security-audit join from its template", async () => {
        await signInAs(page, "dev@acme");
        await page.locator("#catalog-tree details[data-table='github.pull_requests']").waitFor();
        await runTemplate(page, "Security audit: merged PRs with open tickets");
        const keys = await column(page, "issue_key");
        assert.ok(keys.length > 0, "the join returned rows");
        assert.ok(keys.every((k) => /^[A-Z]+-\d+$/.test(k)), keys.join(","));
        const chips = await page.locator("#status").innerText();
        assert.match(chips, /freshness \d+ ms/);
        assert.match(chips, /zone us/);

        await page.click("#tabs button[data-tab='plan']");
        const plan = await page.locator("#tab-plan").innerText();
        assert.match(plan, /github\.pull_requests/);
        assert.match(plan, /jira\.issues/);
        await page.click("#tabs button[data-tab='timing']");
        const timing = await page.locator("#tab-timing").innerText();
        for (const phase of ["planning", "security", "DuckDB", "jira.issues"]) {
          assert.ok(timing.includes(phase), `${phase} in the waterfall`);
        }
        await page.click("#tabs button[data-tab='results']");
        await page.screenshot({ path: `${dir}/console-join.png`, fullPage: true });
      });

      let devAuthors: string[] = [];
      await t.step("an error shows its code and advice", async () => {
        await page.fill("#sql", "SELECT nope FROM github.pull_requests");
        const answered = page.waitForResponse((r) => r.url().endsWith("/v1/query"));
        await page.click("#run");
        await answered;
        await page.locator("#error .code").waitFor();
        assert.equal(await page.locator("#error .code").innerText(), "PLAN_FAILED");
        assert.match(await page.locator("#error .advice").first().innerText(), /catalog/);
        await runTemplate(page, "PRs with authors' emails (masked for QA)");
        devAuthors = (await column(page, "author")).filter((a) => a !== "null");
        assert.ok(devAuthors.length > 0);
      });

      await t.step("a QA user of the same team sees authors hidden", async () => {
        await page.click("#sign-out");
        await signInAs(page, "qa@acme");
        await runTemplate(page, "PRs with authors' emails (masked for QA)");
        const authors = await column(page, "author");
        assert.ok(authors.length > 0, "QA sees the team's rows");
        for (const author of authors) {
          assert.ok(!devAuthors.includes(author), `QA sees author ${author} unmasked`);
        }
        // The policy redacts authors for QA; the console shows what the API answered.
        assert.ok(authors.every((a) => a === "[HIDDEN]"), authors.join(","));
        await page.screenshot({ path: `${dir}/console-qa.png`, fullPage: true });
      });
      console.log(`browser_test: screenshots in ${dir}`);
    } finally {
      await browser.close();
      await stack.close();
    }
  },
});
