// The audit log (admins): every mutation call, refused ones too; filter by actor,
// model, action and time (entered in the viewer's time zone, sent as UTC).

import { gql } from "../api.js";
import { chip, field, h, message, replace, table, time } from "../dom.js";
import { about } from "../events.js";
import { latest } from "../loading.js";
import { Pages } from "../paging.js";

const PAGE = 50;

const AUDIT = `query Audit($first: Int!, $after: String, $filter: AuditFilter) {
  auditLog(first: $first, after: $after, filter: $filter) {
    pageInfo { hasNextPage endCursor }
    edges { node { id createdAt actor action model target input result message requestId clientAddress } }
  }
}`;

const FIELDS = ["actor", "model", "action", "since", "until"];

/** A datetime-local value (the viewer's wall clock) as an ISO UTC instant; null when empty. */
export function localToUtc(value) {
  if (!value) return null;
  const date = new Date(value);
  return Number.isNaN(date.getTime()) ? null : date.toISOString();
}

export async function auditView(ctx) {
  const { main, query } = ctx;
  const pages = new Pages();
  const inputs = {
    actor: h("input", { type: "text", name: "actor", value: query.get("actor") || "", autocomplete: "off" }),
    model: h("input", { type: "text", name: "model", value: query.get("model") || "", autocomplete: "off" }),
    action: h("input", { type: "text", name: "action", value: query.get("action") || "", placeholder: "e.g. transitionStage", autocomplete: "off" }),
    since: h("input", { type: "datetime-local", name: "since", value: query.get("since") || "", step: 1 }),
    until: h("input", { type: "datetime-local", name: "until", value: query.get("until") || "", step: 1 }),
  };
  const zone = Intl.DateTimeFormat().resolvedOptions().timeZone;
  const form = h(
    "form",
    { class: "filters" },
    field("Actor", inputs.actor),
    field("Model", inputs.model),
    field("Action", inputs.action),
    field(`From (${zone})`, inputs.since),
    field(`Until (${zone})`, inputs.until),
    h("button", { type: "submit" }, "Filter"),
  );
  const list = h("section", { "aria-live": "polite" });
  replace(main, h("h1", {}, "Audit log"), form, list);
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    pages.reset();
    const shared = new URLSearchParams();
    for (const name of FIELDS) if (inputs[name].value.trim()) shared.set(name, inputs[name].value.trim());
    ctx.setUrl(`#/audit${shared.size ? `?${shared}` : ""}`);
    load();
  });

  const filter = () => ({
    actor: inputs.actor.value.trim() || null,
    model: inputs.model.value.trim() || null,
    action: inputs.action.value.trim() || null,
    since: localToUtc(inputs.since.value),
    until: localToUtc(inputs.until.value),
  });
  const load = latest(
    ctx.signal,
    () => gql(AUDIT, { first: PAGE, after: pages.after, filter: filter() }),
    (data) => render(data.auditLog),
    (error) => replace(list, message("error", error.message)),
  );

  function render(connection) {
    const rows = connection.edges.map(({ node }) =>
      h(
        "tr",
        { "data-entry": node.id },
        h("td", {}, time(node.createdAt)),
        h("td", {}, node.actor),
        h("th", { scope: "row" }, node.action),
        h("td", {}, node.model || "—", node.target ? h("div", { class: "muted" }, node.target) : null),
        h("td", {}, chip(node.result, node.result === "OK" ? "ok" : "bad"), node.message ? h("div", { class: "muted" }, node.message) : null),
        h("td", {}, h("details", {}, h("summary", {}, "input"), h("pre", { class: "response" }, JSON.stringify(node.input, null, 2))), h("div", { class: "muted" }, node.requestId, node.clientAddress ? ` · ${node.clientAddress}` : "")),
      ),
    );
    replace(
      list,
      rows.length ? table(["When", "Actor", "Action", "Model", "Result", "Details"], rows) : message("info", "No entries match."),
      pages.nav(connection.pageInfo, load, { back: "← Newer", forward: "Older →" }),
    );
  }

  // Changes add entries: the newest page follows them (older pages stay put).
  ctx.refreshOn(about.any, () => pages.index === 0 && load());
  await load();
}
