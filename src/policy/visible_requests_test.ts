import { deepStrictEqual as assertEquals } from "node:assert/strict";
import { OPEN_GUARD, type QueryGuard } from "./guard.ts";
import { requestRedactor } from "./visible_requests.ts";

const masking = (columns: string[]): QueryGuard => ({
  ...OPEN_GUARD,
  pushdown: () => ({ unpushable: columns, columns: [], limit: true }),
});

const SOURCES = [{
  key: "github.pull_requests",
  fetched: [
    { author: "ivan-mobile", branch: "feat-login", pr_id: 101 },
    { author: "ana-web", branch: "secret-project", pr_id: 102 },
  ],
  // A row rule hid the second row; authors are masked.
  visible: [{ author: "[HIDDEN]", branch: "feat-login", pr_id: 101 }],
}];

Deno.test("a masked value and a value only hidden rows hold are templated; visible ones shown", () => {
  const redact = requestRedactor(masking(["author"]), SOURCES);
  assertEquals(redact("GET /users/ivan-mobile"), "GET /users/{author}");
  assertEquals(
    redact("branch IN ('feat-login', 'secret-project')"),
    "branch IN ('feat-login', '{branch}')",
  );
  assertEquals(
    redact("GET /repos/acme/app/pulls?state=all&per_page=100"),
    "GET /repos/acme/app/pulls?state=all&per_page=100",
  );
});

Deno.test("percent-encoded tokens are read decoded", () => {
  const redact = requestRedactor(masking(["author"]), [{
    key: "t",
    fetched: [{ author: "a b@x" }],
    visible: [{ author: "[HIDDEN]" }],
  }]);
  assertEquals(redact("GET /search?q=a%20b%40x"), "GET /search?q={author}");
});

Deno.test("lines announced up front and lines that come later are redacted alike", () => {
  const announced = "GET /users/ivan-mobile";
  const redact = requestRedactor(masking(["author"]), SOURCES, [announced]);
  assertEquals(redact(announced), "GET /users/{author}");
  assertEquals(redact("GET /users/ana-web?x=ivan-mobile"), "GET /users/{author}?x={author}");
});

Deno.test("a value a visible, unmasked column also holds is shown", () => {
  const redact = requestRedactor(masking(["author"]), [{
    key: "t",
    fetched: [{ author: "release", branch: "release" }],
    visible: [{ author: "[HIDDEN]", branch: "release" }],
  }]);
  assertEquals(redact("GET /branches/release"), "GET /branches/release");
});

Deno.test("without anything hidden every line is unchanged", () => {
  const rows = [{ author: "ivan-mobile" }];
  const redact = requestRedactor(OPEN_GUARD, [{ key: "t", fetched: rows, visible: rows }]);
  assertEquals(redact("GET /users/ivan-mobile"), "GET /users/ivan-mobile");
});
