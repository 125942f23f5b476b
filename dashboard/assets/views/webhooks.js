// Webhooks (admins): endpoints and their health; one endpoint's deliveries with attempts,
// redeliver and test send; live.

import { gql } from "../api.js";
import { chip, field, h, message, number, replace, stageLabel, table, time } from "../dom.js";
import { about } from "../events.js";
import { latest } from "../loading.js";
import { Pages } from "../paging.js";

const PAGE = 20;

const WEBHOOKS = `query Webhooks($first: Int!, $after: String) {
  webhooks(first: $first, after: $after) {
    totalCount
    pageInfo { hasNextPage endCursor }
    edges { node {
      id url events modelNames description active disabledReason failingSince
      lastSuccess: deliveries(first: 1, status: SUCCEEDED) { edges { node { completedAt } } }
      lastFailure: deliveries(first: 1, status: FAILED) { edges { node { completedAt eventType } } }
      pending: deliveries(first: 1, status: PENDING) { totalCount }
    } }
  }
}`;

const WEBHOOK = `query Webhook($id: ID!, $first: Int!, $after: String, $status: DeliveryStatus) {
  webhook(id: $id) {
    id url events modelNames stages description active disabledReason failingSince secretRotationEndsAt
    createdAt createdBy updatedAt updatedBy
    deliveries(first: $first, after: $after, status: $status) {
      totalCount
      pageInfo { hasNextPage endCursor }
      edges { node {
        id messageId eventType modelName sequence status attemptCount nextAttemptAt createdAt completedAt
        attempts { attemptedAt statusCode durationMs error responseBody }
      } }
    }
  }
}`;

const TEST = `mutation Test($input: WebhookIdInput!) {
  testWebhook(input: $input) { success statusCode durationMs error }
}`;
const REDELIVER = `mutation Redeliver($input: RedeliverInput!) {
  redeliver(input: $input) { delivery { id status } }
}`;
const ENABLE = `mutation Enable($input: WebhookIdInput!) { enableWebhook(input: $input) { webhook { id active } } }`;
const DISABLE = `mutation Disable($input: DisableWebhookInput!) { disableWebhook(input: $input) { webhook { id active } } }`;

function health(hook) {
  if (!hook.active) return chip(`disabled${hook.disabledReason ? `: ${hook.disabledReason}` : ""}`, "bad");
  if (hook.failingSince) return [chip("failing", "warn"), " since ", time(hook.failingSince)];
  return chip("healthy", "ok");
}

function webhookHref(id) {
  return `#/webhooks/${encodeURIComponent(id)}`;
}

export async function webhooksView(ctx) {
  const { main } = ctx;
  const list = h("section", { "aria-live": "polite" });
  replace(main, h("h1", {}, "Webhooks"), list);
  const pages = new Pages();
  const load = latest(ctx.signal, () => gql(WEBHOOKS, { first: PAGE, after: pages.after }), (data) => render(data.webhooks));

  function render(connection) {
    const rows = connection.edges.map(({ node }) => {
      const success = node.lastSuccess.edges[0];
      const failure = node.lastFailure.edges[0];
      return h(
        "tr",
        { "data-webhook": node.id },
        h("th", { scope: "row" }, h("a", { href: webhookHref(node.id) }, node.url), node.description && h("div", { class: "muted" }, node.description)),
        h("td", {}, node.events.map((e) => chip(e)), node.modelNames.length ? h("div", { class: "muted" }, "models: ", node.modelNames.join(", ")) : null),
        h("td", {}, health(node)),
        h("td", {}, success ? time(success.node.completedAt) : h("span", { class: "muted" }, "never")),
        h("td", {}, failure ? [time(failure.node.completedAt), h("div", { class: "muted" }, failure.node.eventType)] : h("span", { class: "muted" }, "none")),
        h("td", { class: "num" }, String(node.pending.totalCount)),
      );
    });
    replace(
      list,
      rows.length ? table(["Endpoint", "Events", "Health", "Last success", "Last given up", "Pending"], rows) : message("info", "No webhooks. Create them with the createWebhook mutation."),
      pages.nav(connection.pageInfo, load, { summary: `${connection.totalCount} in all` }),
    );
  }

  ctx.refreshOn(about.any, load);
  await load();
}

function attemptsTable(attempts) {
  if (!attempts.length) return h("p", { class: "muted" }, "No attempt yet.");
  return table(
    ["When", "Status", "Time", "Error", "Response (first 2 KB)"],
    attempts.map((a) =>
      h(
        "tr",
        {},
        h("td", {}, time(a.attemptedAt)),
        h("td", {}, a.statusCode === null ? "—" : String(a.statusCode)),
        h("td", { class: "num" }, `${number(a.durationMs)} ms`),
        h("td", {}, a.error || ""),
        h("td", {}, a.responseBody ? h("pre", { class: "response" }, a.responseBody) : ""),
      ),
    ),
  );
}

export async function webhookView(ctx) {
  const { main, params } = ctx;
  const id = params.id;
  const pages = new Pages();
  let deliveryStatus = "";
  const open = new Set(); // deliveries whose attempts are shown, kept across reloads
  const notices = h("div", { class: "form-status", "aria-live": "polite" });
  async function run(button, mutation, input, said) {
    button.disabled = true;
    try {
      const data = await gql(mutation, { input });
      replace(notices, message("ok", said(data)));
      load();
    } catch (error) {
      replace(notices, message("error", `${error.code}: ${error.message}`));
    } finally {
      button.disabled = false;
    }
  }

  const load = latest(
    ctx.signal,
    () => gql(WEBHOOK, { id, first: PAGE, after: pages.after, status: deliveryStatus || null }),
    (data) => render(data.webhook),
  );

  function render(hook) {
    const test = h("button", { type: "button" }, "Send a test event");
    test.addEventListener("click", () =>
      run(test, TEST, { id }, (d) => {
        const r = d.testWebhook;
        const code = r.statusCode === null ? "no response" : `HTTP ${r.statusCode}`;
        return `${r.success ? "Delivered" : "Failed"}: ${code} in ${number(r.durationMs)} ms${r.error ? ` (${r.error})` : ""}`;
      }),
    );
    const toggle = h("button", { type: "button", class: "quiet" }, hook.active ? "Disable" : "Enable");
    toggle.addEventListener("click", () =>
      hook.active
        ? run(toggle, DISABLE, { id, reason: "disabled from the dashboard" }, () => "Disabled: new events skip it.")
        : run(toggle, ENABLE, { id }, () => "Enabled: held deliveries resume."),
    );
    const statusFilter = h("select", { name: "status" }, h("option", { value: "" }, "any"), ["PENDING", "SUCCEEDED", "FAILED"].map((s) => h("option", { value: s, selected: s === deliveryStatus }, s.toLowerCase())));
    statusFilter.addEventListener("change", () => {
      deliveryStatus = statusFilter.value;
      pages.reset();
      load();
    });
    const deliveries = hook.deliveries.edges.map(({ node }) => {
      const redeliver = h("button", { type: "button", class: "quiet", "data-action": "redeliver" }, "Redeliver");
      redeliver.addEventListener("click", () => run(redeliver, REDELIVER, { deliveryId: node.id }, () => `Delivery ${node.messageId} queued again (same webhook-id).`));
      const details = h(
        "details",
        { open: open.has(node.id) },
        h("summary", {}, `${node.attemptCount} attempt${node.attemptCount === 1 ? "" : "s"}`),
        attemptsTable(node.attempts),
      );
      details.addEventListener("toggle", () => (details.open ? open.add(node.id) : open.delete(node.id)));
      return h(
        "tr",
        { "data-delivery": node.id },
        h("th", { scope: "row" }, node.eventType, h("div", { class: "muted" }, h("code", {}, node.messageId))),
        h("td", {}, node.modelName || "—", node.sequence !== null ? h("span", { class: "muted" }, ` #${node.sequence}`) : null),
        h("td", {}, chip(node.status.toLowerCase(), node.status === "SUCCEEDED" ? "ok" : node.status === "FAILED" ? "bad" : "warn"), node.nextAttemptAt ? h("div", { class: "muted" }, "next ", time(node.nextAttemptAt)) : null),
        h("td", {}, time(node.createdAt)),
        h("td", {}, details),
        h("td", {}, redeliver),
      );
    });
    replace(
      main,
      h("p", { class: "crumbs" }, h("a", { href: "#/webhooks" }, "Webhooks"), " / "),
      h("h1", { class: "wrap" }, hook.url),
      hook.description && h("p", { class: "description" }, hook.description),
      h(
        "dl",
        { class: "facts" },
        h("dt", {}, "Health"),
        h("dd", {}, health(hook)),
        h("dt", {}, "Events"),
        h("dd", {}, hook.events.map((e) => chip(e))),
        h("dt", {}, "Models"),
        h("dd", {}, hook.modelNames.length ? hook.modelNames.join(", ") : "all"),
        h("dt", {}, "Stages"),
        h("dd", {}, hook.stages.length ? hook.stages.map(stageLabel).join(", ") : "all"),
        hook.secretRotationEndsAt ? [h("dt", {}, "Old secret signs until"), h("dd", {}, time(hook.secretRotationEndsAt))] : null,
        h("dt", {}, "Created"),
        h("dd", {}, time(hook.createdAt), ` by ${hook.createdBy}`),
      ),
      h("div", { class: "buttons" }, test, toggle),
      notices,
      h(
        "section",
        { class: "panel", "aria-labelledby": "deliveries-title" },
        h("h2", { id: "deliveries-title" }, `Deliveries (${hook.deliveries.totalCount})`),
        h("form", { class: "filters" }, field("Status", statusFilter)),
        deliveries.length ? table(["Event", "Model", "Status", "Created", "Attempts", ""], deliveries) : message("info", "No deliveries."),
        pages.nav(hook.deliveries.pageInfo, load, { back: "← Newer", forward: "Older →" }),
      ),
    );
  }

  ctx.refreshOn(about.any, load);
  await load();
}
