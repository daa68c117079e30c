// The OmniSQL console: plain browser JavaScript talking to the public API (/v1/*) with the
// signed-in user's bearer token, kept in sessionStorage only.
"use strict";

const CONFIG = globalThis.OMNISQL ?? { templates: [], devIssuer: false };
const $ = (id) => document.getElementById(id);
const TOKEN_KEY = "omnisql.token";

// What a user can do about each error code.
const ADVICE = {
  UNAUTHENTICATED: "Your token is missing, expired or not for this service. Sign in again.",
  INVALID_REQUEST:
    "Send one read-only statement (SELECT, WITH … SELECT or EXPLAIN) and valid options.",
  PLAN_FAILED:
    "Check the table and column names against the catalog on the left; the message says where.",
  ENTITLEMENT_DENIED: "Your role may not read this table or column. Ask a tenant admin for access.",
  RATE_LIMIT_EXHAUSTED:
    "A budget is spent. Wait for the retry time, or allow cached data with max staleness.",
  STALE_DATA:
    "No fresh fetch was possible and the cache is older than you allow. Raise max staleness or retry.",
  SOURCE_TIMEOUT:
    "An app answered too slowly. Narrow the query (filters, LIMIT) or raise the timeout.",
  SOURCE_ERROR:
    "An app failed or refused the connection's credentials. Retry later, or ask an admin to test the connection.",
  REGION_UNAVAILABLE:
    "Your tenant's residency zone cannot serve now; no other zone will. Retry shortly.",
  NOT_FOUND: "That route does not exist.",
  INTERNAL: "Something broke on our side. Quote the trace id when you report it.",
};

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === "class") node.className = v;
    else if (k.startsWith("on")) node.addEventListener(k.slice(2), v);
    else node.setAttribute(k, v);
  }
  for (const child of children.flat()) {
    if (child !== null && child !== undefined) {
      node.append(child instanceof Node ? child : String(child));
    }
  }
  return node;
}

async function api(path, init = {}) {
  const token = sessionStorage.getItem(TOKEN_KEY);
  const res = await fetch(path, {
    ...init,
    headers: {
      "content-type": "application/json",
      ...(token ? { authorization: `Bearer ${token}` } : {}),
      ...(init.headers ?? {}),
    },
  });
  let body = null;
  try {
    body = await res.json();
  } catch {
    body = { error: { code: "INTERNAL", message: `unreadable answer (HTTP ${res.status})` } };
  }
  return { ok: res.ok, status: res.status, body };
}

// ---- sign in ----

async function signIn(token) {
  sessionStorage.setItem(TOKEN_KEY, token.trim());
  const me = await api("/v1/whoami");
  if (!me.ok) {
    sessionStorage.removeItem(TOKEN_KEY);
    const err = $("sign-in-error");
    err.textContent = `${me.body?.error?.code ?? me.status}: ${me.body?.error?.message ?? ""}`;
    err.hidden = false;
    return;
  }
  $("sign-in-error").hidden = true;
  showWorkspace(me.body);
}

function showSignIn() {
  // Nothing the previous user saw stays on the page.
  for (const id of ["status", "error", "tabs"]) $(id).hidden = true;
  for (const t of ["results", "plan", "timing"]) $(`tab-${t}`).replaceChildren();
  $("catalog-tree").replaceChildren();
  $("usage-table").replaceChildren();
  $("usage").hidden = true;
  $("workspace").hidden = true;
  $("identity").hidden = true;
  $("sign-in").hidden = false;
  if (CONFIG.devIssuer) loadDemoUsers();
}

async function loadDemoUsers() {
  const res = await fetch("/dev/users");
  if (!res.ok) return;
  const users = await res.json();
  const select = $("dev-user");
  // The list may arrive after the user has picked someone: keep their pick.
  const picked = select.value;
  select.replaceChildren(
    ...users.map((u) =>
      el(
        "option",
        { value: JSON.stringify({ tenant: u.tenant, user: u.email }) },
        `${u.email} — ${u.role}${u.team_id ? `, team ${u.team_id}` : ""}`,
      )
    ),
  );
  if ([...select.options].some((o) => o.value === picked)) select.value = picked;
  $("dev-sign-in").hidden = false;
}

async function signInDemo() {
  const res = await fetch("/dev/token", {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: $("dev-user").value,
  });
  const body = await res.json();
  if (res.ok) await signIn(body.token);
}

// ---- workspace ----

function showWorkspace(me) {
  $("sign-in").hidden = true;
  $("workspace").hidden = false;
  $("identity").hidden = false;
  $("who").textContent = `${me.user} · ${
    me.role ?? "no role"
  } · tenant ${me.tenant} · zone ${me.zone}`;
  loadCatalog();
  if (me.role === "admin") loadUsage();
  if (!$("sql").value) $("sql").value = CONFIG.templates[0]?.sql ?? "";
}

async function loadCatalog() {
  const res = await api("/v1/catalog");
  const tree = $("catalog-tree");
  if (!res.ok) {
    tree.replaceChildren(
      el("p", { class: "error-text" }, res.body?.error?.message ?? "catalog unavailable"),
    );
    return;
  }
  tree.replaceChildren(
    ...res.body.tables.map((t) =>
      el(
        "details",
        { "data-table": t.table },
        el(
          "summary",
          { title: t.description },
          t.table,
          el("span", { class: "conn" }, t.connector),
        ),
        el(
          "ul",
          {},
          t.columns.map((c) =>
            el(
              "li",
              {
                title: c.description,
                "data-column": c.name,
                onclick: () => insertText(c.name),
              },
              el("span", { class: "col" }, c.name),
              el(
                "span",
                {},
                c.filterable.length
                  ? el("span", { class: "ops" }, `${c.filterable.join(" ")} `)
                  : null,
                el("span", { class: "type" }, c.type),
              ),
            )
          ),
        ),
      )
    ),
  );
}

function filterCatalog() {
  const q = $("catalog-filter").value.trim().toLowerCase();
  for (const d of $("catalog-tree").querySelectorAll("details")) {
    const table = d.dataset.table.toLowerCase();
    let any = !q || table.includes(q);
    for (const li of d.querySelectorAll("li")) {
      const hit = !q || table.includes(q) || li.dataset.column.toLowerCase().includes(q);
      li.hidden = !hit;
      any ||= hit;
    }
    d.hidden = !any;
    if (q && any) d.open = true;
  }
}

function insertText(text) {
  const sql = $("sql");
  const at = sql.selectionStart ?? sql.value.length;
  sql.value = sql.value.slice(0, at) + text + sql.value.slice(sql.selectionEnd ?? at);
  sql.focus();
  sql.selectionStart = sql.selectionEnd = at + text.length;
}

// ---- running ----

async function run(explain) {
  const sqlText = $("sql").value.trim();
  if (!sqlText) return;
  const metadata = {};
  const staleness = $("max-staleness").value;
  const timeout = $("timeout").value;
  if (staleness !== "") metadata.max_staleness_ms = Number(staleness);
  if (timeout !== "") metadata.timeout_ms = Number(timeout);
  const sql = explain && !/^\s*explain\b/i.test(sqlText) ? `EXPLAIN ${sqlText}` : sqlText;
  for (const b of [$("run"), $("explain")]) b.disabled = true;
  try {
    const res = await api("/v1/query", { method: "POST", body: JSON.stringify({ sql, metadata }) });
    if (res.status === 401) {
      showSignIn();
      return;
    }
    if (res.ok) showAnswer(res.body);
    else showError(res.body);
  } finally {
    for (const b of [$("run"), $("explain")]) b.disabled = false;
  }
}

function showError(body) {
  const e = body?.error ?? { code: "INTERNAL", message: "no error body" };
  $("status").hidden = true;
  $("tabs").hidden = true;
  for (const t of ["results", "plan", "timing"]) $(`tab-${t}`).hidden = true;
  const box = $("error");
  box.replaceChildren(
    el("div", {}, el("span", { class: "code" }, e.code), " ", e.message),
    el("p", { class: "advice" }, ADVICE[e.code] ?? ""),
    e.retry_after_ms !== undefined
      ? el("p", { class: "advice" }, `Retry in ${Math.ceil(e.retry_after_ms / 1000)} s.`)
      : null,
    e.details ? el("pre", {}, JSON.stringify(e.details, null, 2)) : null,
    body?.trace_id ? el("pre", {}, `trace_id ${body.trace_id}`) : null,
  );
  box.hidden = false;
}

function chip(label, value, cls = "") {
  return el("span", { class: `chip ${cls}` }, `${label} `, el("b", {}, value));
}

function showAnswer(body) {
  $("error").hidden = true;
  const status = $("status");
  const chips = [];
  if (body.explain) {
    chips.push(
      chip("plan of", `${body.sources.length} source${body.sources.length === 1 ? "" : "s"}`),
    );
  } else {
    chips.push(chip("rows", body.rows.length + (body.truncated ? " (truncated)" : "")));
    chips.push(chip("freshness", `${body.freshness_ms} ms`, body.stale ? "warn" : "ok"));
    chips.push(chip("cache", body.from_cache ? "hit" : "live"));
    const rl = body.rate_limit_status;
    if (rl && rl.remaining >= 0) {
      chips.push(
        chip(
          "budget left",
          `${rl.remaining}${rl.level ? ` (${rl.level})` : ""}, resets in ${
            Math.ceil(rl.reset_ms / 1000)
          } s`,
          rl.remaining < 5 ? "warn" : "",
        ),
      );
    }
    chips.push(chip("total", `${body.timing.total_ms} ms`));
  }
  chips.push(chip("zone", body.region));
  chips.push(chip("trace", body.trace_id, "mono"));
  status.replaceChildren(...chips);
  status.hidden = false;
  $("tabs").hidden = false;
  renderResults(body);
  renderPlan(body);
  renderTiming(body);
  selectTab(body.explain ? "plan" : "results");
}

function renderResults(body) {
  const box = $("tab-results");
  if (body.explain) {
    box.replaceChildren(el("p", { class: "empty" }, "EXPLAIN fetches nothing: see the plan."));
    return;
  }
  if (body.rows.length === 0) {
    box.replaceChildren(el("p", { class: "empty" }, "No rows."));
    return;
  }
  box.replaceChildren(
    el(
      "table",
      { class: "results" },
      el("thead", {}, el("tr", {}, body.columns.map((c) => el("th", {}, c)))),
      el(
        "tbody",
        {},
        body.rows.map((row) =>
          el(
            "tr",
            {},
            body.columns.map((c) => {
              const v = row[c];
              if (v === null || v === undefined) return el("td", { class: "null" }, "null");
              if (typeof v === "number") return el("td", { class: "num" }, v);
              return el("td", {}, typeof v === "object" ? JSON.stringify(v) : v);
            }),
          )
        ),
      ),
    ),
  );
}

function codes(items) {
  return items.length ? items.map((x) => el("code", {}, x)) : el("span", { class: "muted" }, "—");
}

function renderPlan(body) {
  const box = $("tab-plan");
  box.replaceChildren(
    el(
      "table",
      { class: "plan" },
      el(
        "thead",
        {},
        el(
          "tr",
          {},
          [
            "source",
            "rows · pages · calls",
            "native requests",
            "pushed to the app",
            "left to DuckDB",
            "columns",
          ]
            .map((h) => el("th", {}, h)),
        ),
      ),
      el(
        "tbody",
        {},
        body.sources.map((s) =>
          el(
            "tr",
            {},
            el(
              "td",
              {},
              el("code", {}, s.table),
              s.from_cache ? el("span", { class: "chip" }, "cached") : null,
            ),
            el("td", {}, s.rows === undefined ? "—" : `${s.rows} · ${s.pages} · ${s.calls}`),
            el("td", {}, codes(s.pushdown.native)),
            el(
              "td",
              { class: "pushed" },
              codes(
                s.pushdown.pushed.concat(
                  s.pushdown.limit !== undefined ? [`LIMIT ${s.pushdown.limit}`] : [],
                ),
              ),
            ),
            el("td", { class: "residual" }, codes(s.pushdown.residual)),
            el("td", {}, codes([(s.pushdown.columns ?? s.offered_columns ?? []).join(", ")])),
          )
        ),
      ),
    ),
  );
}

function renderTiming(body) {
  const box = $("tab-timing");
  if (body.explain) {
    box.replaceChildren(el("p", { class: "empty" }, "EXPLAIN only plans."));
    return;
  }
  const t = body.timing;
  const total = Math.max(t.total_ms, t.planning_ms + t.fetch_ms + t.security_ms + t.duckdb_ms, 1);
  const bar = (label, cls, start, ms) =>
    el(
      "div",
      { class: "wf-row" },
      el("span", { class: "wf-label", title: label }, label),
      el(
        "div",
        { class: "wf-track" },
        el("div", {
          class: `wf-bar ${cls}`,
          style: `left:${(start / total) * 100}%;width:${(ms / total) * 100}%`,
        }),
      ),
      el("span", { class: "wf-ms" }, `${ms} ms`),
    );
  const fetchStart = t.planning_ms;
  const securityStart = fetchStart + t.fetch_ms;
  const duckStart = securityStart + t.security_ms;
  box.replaceChildren(
    el(
      "div",
      { class: "waterfall" },
      bar("planning", "planning", 0, t.planning_ms),
      bar("fetch (sources in parallel)", "fetch", fetchStart, t.fetch_ms),
      body.sources.map((s) =>
        bar(`  ${s.table}${s.from_cache ? " (cache)" : ""}`, "source", fetchStart, s.fetch_ms)
      ),
      bar("security (RLS/CLS)", "security", securityStart, t.security_ms),
      bar("DuckDB", "duckdb", duckStart, t.duckdb_ms),
      bar("total", "planning", 0, t.total_ms),
    ),
  );
}

// ---- API usage (admins): calls per connection per day, cost budgets ----

async function loadUsage() {
  const res = await api("/v1/usage");
  if (!res.ok) return;
  const rows = res.body.connections.map((c) => {
    const b = c.budget;
    const budget = b
      ? el(
        "div",
        { class: `budget${b.percent >= 100 ? " spent" : b.percent >= 80 ? " near" : ""}` },
        `${b.used} / ${b.calls} per ${b.period} (${b.percent}%)` +
          (b.burst_calls ? ` + burst ${b.burst_calls}` : ""),
      )
      : el("div", { class: "muted" }, "no budget");
    const days = el(
      "table",
      { class: "usage-days" },
      ...c.days.map((d) => el("tr", {}, el("td", {}, d.day), el("td", {}, String(d.calls)))),
    );
    return el(
      "div",
      { class: "usage-connection" },
      el("div", { class: "usage-head" }, el("strong", {}, c.connection), ` ${c.calls} calls`),
      budget,
      days,
    );
  });
  $("usage-table").replaceChildren(
    el("div", { class: "muted" }, `since ${res.body.since}`),
    ...rows,
  );
  $("usage").hidden = false;
}

function selectTab(name) {
  for (const b of $("tabs").querySelectorAll("button")) {
    b.classList.toggle("active", b.dataset.tab === name);
  }
  for (const t of ["results", "plan", "timing"]) $(`tab-${t}`).hidden = t !== name;
}

// ---- wiring ----

function init() {
  $("templates").replaceChildren(
    ...CONFIG.templates.map((t) =>
      el("button", {
        title: t.sql,
        onclick: () => {
          $("sql").value = t.sql;
          $("sql").focus();
        },
      }, t.title)
    ),
  );
  $("sign-in-token").addEventListener("click", () => signIn($("token").value));
  $("sign-in-dev").addEventListener("click", signInDemo);
  $("sign-out").addEventListener("click", () => {
    sessionStorage.removeItem(TOKEN_KEY);
    showSignIn();
  });
  $("run").addEventListener("click", () => run(false));
  $("explain").addEventListener("click", () => run(true));
  $("sql").addEventListener("keydown", (e) => {
    if (e.key === "Enter" && (e.ctrlKey || e.metaKey)) {
      e.preventDefault();
      run(false);
    }
  });
  $("catalog-filter").addEventListener("input", filterCatalog);
  for (const b of $("tabs").querySelectorAll("button")) {
    b.addEventListener("click", () => selectTab(b.dataset.tab));
  }
  const token = sessionStorage.getItem(TOKEN_KEY);
  if (token) signIn(token);
  else showSignIn();
}

init();
