import assert from "node:assert/strict";
import { SourceClient } from "./http.ts";
import { failure, FAKE_CONNECTION, FAKE_CONNECTOR } from "./_testing.ts";
import { Limiter } from "./pool.ts";
import { type PageRequest, type PageStyle, paginate } from "./paginate.ts";

/** An app answering from `answer(url, body)`, recording each request. */
function app(answer: (url: URL, body: Record<string, unknown> | undefined) => Response) {
  const requests: { url: URL; body?: Record<string, unknown> }[] = [];
  const fetch = ((input: URL | RequestInfo, init?: RequestInit) => {
    const url = new URL(String(input));
    const body = typeof init?.body === "string" ? JSON.parse(init.body) : undefined;
    requests.push({ url, body });
    return Promise.resolve(answer(url, body));
  }) as typeof globalThis.fetch;
  return { http: new SourceClient(FAKE_CONNECTOR, FAKE_CONNECTION, { fetch }), requests };
}

async function collect(
  http: SourceClient,
  style: PageStyle,
  first: PageRequest,
  limiter?: Limiter,
): Promise<unknown[]> {
  const out: unknown[] = [];
  const options = limiter ? { limiter, parallel: true } : {};
  for await (const page of paginate(http, style, first, options)) out.push(...page.items);
  return out;
}

const ITEMS = [1, 2, 3, 4, 5];
const slice = (from: number, size: number) => ITEMS.slice(from, from + size);

Deno.test("paginate(): link style follows rel=next to the end", async () => {
  const { http, requests } = app((url) => {
    const page = Number(url.searchParams.get("page") ?? 1);
    const next = page < 3 ? `<http://app.invalid/l?page=${page + 1}>; rel="next"` : "";
    return Response.json(slice((page - 1) * 2, 2), { headers: next ? { link: next } : {} });
  });
  assert.deepEqual(await collect(http, { style: "link", items: "." }, { url: "/l" }), ITEMS);
  assert.equal(requests.length, 3);
});

Deno.test("paginate(): link style with numbered pages fetches pages 2..last at once, in order", async () => {
  const { http, requests } = app((url) => {
    const page = Number(url.searchParams.get("page") ?? 1);
    const link = page === 1
      ? '<http://app.invalid/l?page=2>; rel="next", <http://app.invalid/l?page=3>; rel="last"'
      : "";
    return Response.json(slice((page - 1) * 2, 2), { headers: link ? { link } : {} });
  });
  // A limiter of 1 would deadlock if a parallel page held a slot while waiting for another.
  const items = await collect(http, { style: "link", items: "." }, { url: "/l" }, new Limiter(1));
  assert.deepEqual(items, ITEMS);
  assert.deepEqual(requests.map((r) => r.url.searchParams.get("page")), [null, "2", "3"]);
});

Deno.test("paginate(): page style stops at a short page", async () => {
  const { http, requests } = app((url) => {
    const page = Number(url.searchParams.get("p"));
    return Response.json({ data: slice((page - 1) * 2, 2) });
  });
  const style: PageStyle = { style: "page", items: "data", param: "p", size: 2 };
  assert.deepEqual(await collect(http, style, { url: "/x", query: { p: 1 } }), ITEMS);
  assert.equal(requests.length, 3);
});

Deno.test("paginate(): offset style advances by the records received", async () => {
  const { http } = app((url) => Response.json(slice(Number(url.searchParams.get("o") ?? 0), 2)));
  const style: PageStyle = { style: "offset", items: ".", param: "o", size: 2 };
  assert.deepEqual(await collect(http, style, { url: "/x" }), ITEMS);
});

Deno.test("paginate(): cursor style sends the answer's cursor back", async () => {
  const { http } = app((url) => {
    const at = Number(url.searchParams.get("cursor") ?? 0);
    return Response.json({ items: slice(at, 2), meta: { next: at + 2 < 5 ? String(at + 2) : "" } });
  });
  const style: PageStyle = { style: "cursor", items: "items", param: "cursor", next: "meta.next" };
  assert.deepEqual(await collect(http, style, { url: "/x" }), ITEMS);
});

Deno.test("paginate(): token style posts the page token until isLast", async () => {
  const { http, requests } = app((_url, body) => {
    const at = Number(body?.nextPageToken ?? 0);
    const last = at + 2 >= 5;
    return Response.json({
      issues: slice(at, 2),
      ...(last ? {} : { nextPageToken: String(at + 2) }),
      isLast: last,
    });
  });
  const style: PageStyle = {
    style: "token",
    items: "issues",
    field: "nextPageToken",
    next: "nextPageToken",
    last: "isLast",
  };
  const items = await collect(http, style, { method: "POST", url: "/s", body: { jql: "x" } });
  assert.deepEqual(items, ITEMS);
  assert.deepEqual(requests.map((r) => r.body), [
    { jql: "x" },
    { jql: "x", nextPageToken: "2" },
    { jql: "x", nextPageToken: "4" },
  ]);
});

Deno.test("paginate(): next_url style GETs the answer's next URL until done", async () => {
  const { http } = app((url) => {
    const at = Number(url.pathname.split("-")[1] ?? 0);
    const done = at + 2 >= 5;
    return Response.json({
      done,
      records: slice(at, 2),
      ...(done ? {} : { nextRecordsUrl: `/q/01g-${at + 2}` }),
    });
  });
  const style: PageStyle = {
    style: "next_url",
    items: "records",
    next: "nextRecordsUrl",
    done: "done",
  };
  assert.deepEqual(await collect(http, style, { url: "/q", query: { q: "SELECT" } }), ITEMS);
});

Deno.test("paginate(): graphql style pages a connection by endCursor; errors in a 200 fail", async () => {
  const { http, requests } = app((_url, body) => {
    const vars = body?.variables as { after?: string };
    const at = Number(vars.after ?? 0);
    const more = at + 2 < 5;
    return Response.json({
      data: {
        issues: { nodes: slice(at, 2), pageInfo: { hasNextPage: more, endCursor: String(at + 2) } },
      },
    });
  });
  const style: PageStyle = { style: "graphql", connection: "data.issues" };
  const first: PageRequest = {
    method: "POST",
    url: "/graphql",
    body: { query: "q", variables: { first: 2 } },
  };
  assert.deepEqual(await collect(http, style, first), ITEMS);
  assert.deepEqual(requests[1].body?.variables, { first: 2, after: "2" });

  const failing = app(() => Response.json({ errors: [{ message: "Field 'x' is unknown" }] }));
  const err = await failure(collect(failing.http, style, first));
  assert.equal(err.code, "SOURCE_ERROR");
  assert.match(err.message, /unknown/);
});

Deno.test("paginate(): one loop guard per style — the same next page twice is SOURCE_ERROR", async () => {
  const cases: [PageStyle, PageRequest, () => Response][] = [
    [
      { style: "link", items: "." },
      { url: "/l" },
      () => Response.json([1], { headers: { link: '<http://app.invalid/l?page=2>; rel="next"' } }),
    ],
    [
      { style: "cursor", items: "i", param: "c", next: "n" },
      { url: "/c" },
      () => Response.json({ i: [1], n: "same" }),
    ],
    [
      { style: "token", items: "i", field: "t", next: "t" },
      { method: "POST", url: "/t", body: {} },
      () => Response.json({ i: [1], t: "same" }),
    ],
    [
      { style: "next_url", items: "r", next: "n" },
      { url: "/n" },
      () => Response.json({ r: [1], n: "/n/2" }),
    ],
    [
      { style: "graphql", connection: "d" },
      { method: "POST", url: "/g", body: { variables: {} } },
      () =>
        Response.json({ d: { nodes: [1], pageInfo: { hasNextPage: true, endCursor: "same" } } }),
    ],
    [{ style: "page", items: ".", param: "p", size: 1 }, { url: "/p" }, () => Response.json([1])],
    [{ style: "offset", items: ".", param: "o", size: 1 }, { url: "/o" }, () => Response.json([1])],
  ];
  for (const [style, first, answer] of cases) {
    const { http, requests } = app(answer);
    const err = await failure(collect(http, style, first));
    assert.match(err.message, /pagination loops/, style.style);
    assert.ok(requests.length <= 3, `${style.style}: ${requests.length} requests`);
  }
});

Deno.test("paginate(): records missing from the answer are a malformed reply", async () => {
  const { http } = app(() => Response.json({ nope: 1 }));
  const err = await failure(
    collect(http, { style: "next_url", items: "records", next: "n" }, { url: "/q" }),
  );
  assert.match(err.message, /malformed reply \(HTTP 200\): no valid records/);
});
