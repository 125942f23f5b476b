// The approvals inbox: transition requests with their checks and approvals, decided here; live.

import { gql } from "../api.js";
import { chip, externalLink, field, h, message, modelHref, replace, stageBadge, time } from "../dom.js";
import { about } from "../events.js";
import { latest } from "../loading.js";
import { Pages } from "../paging.js";
import { atLeast, currentViewer, mayChange } from "../session.js";
import { renderedCard } from "./model_card.js";

const PAGE = 20;

const INBOX = `query Inbox($first: Int!, $after: String, $filter: TransitionRequestFilter) {
  transitionRequests(first: $first, after: $after, filter: $filter) {
    totalCount
    pageInfo { hasNextPage endCursor }
    edges { node {
      id version fromStage toStage alias aliasFromVersion deleteAlias archiveExisting
      status comment requestedBy createdAt resolvedAt resolvedBy
      model { name productionVersion { version } }
      modelVersion { modelCard }
      requiredApprovals requiredChecks
      approvals { actor comment createdAt }
      rejections { actor comment createdAt }
      comments { actor comment createdAt }
      checks { name status summary detailsUrl reportedBy createdAt }
    } }
  }
}`;

const DECISIONS = {
  approve: {
    label: "Approve",
    mutation: `mutation Approve($input: ApproveTransitionRequestInput!) {
      approveTransitionRequest(input: $input) { transitionRequest { id status } }
    }`,
    result: (data) => data.approveTransitionRequest.transitionRequest.status,
  },
  reject: {
    label: "Reject",
    mutation: `mutation Reject($input: RejectTransitionRequestInput!) {
      rejectTransitionRequest(input: $input) { transitionRequest { id status } }
    }`,
    result: (data) => data.rejectTransitionRequest.transitionRequest.status,
  },
  cancel: {
    label: "Withdraw",
    mutation: `mutation Cancel($input: CancelTransitionRequestInput!) {
      cancelTransitionRequest(input: $input) { transitionRequest { id status } }
    }`,
    result: (data) => data.cancelTransitionRequest.transitionRequest.status,
    withoutComment: true,
  },
};

const STATUSES = ["PENDING", "COMPLETED", "REJECTED", "CANCELLED", "STALE"];

function what(request) {
  if (request.alias) {
    if (request.deleteAlias) return [`delete @${request.alias} (at v${request.version})`];
    const from = request.aliasFromVersion ? `v${request.aliasFromVersion}` : "nowhere";
    return [`move @${request.alias}: ${from} → v${request.version}`];
  }
  return [`v${request.version}: `, stageBadge(request.fromStage), " → ", stageBadge(request.toStage), request.archiveExisting ? " (archiving the others)" : ""];
}

function checksOf(request) {
  const latest = new Map(request.checks.map((c) => [c.name, c]));
  const names = [...new Set([...request.requiredChecks, ...latest.keys()])];
  if (names.length === 0) return h("p", { class: "muted" }, "No checks required.");
  return h(
    "ul",
    { class: "checks" },
    names.map((name) => {
      const check = latest.get(name);
      const required = request.requiredChecks.includes(name);
      return h(
        "li",
        { "data-check": name },
        h("span", { class: `badge check-${check ? check.status.toLowerCase() : "missing"}` }, check ? check.status.toLowerCase() : "not reported"),
        " ",
        h("strong", {}, name),
        required ? "" : h("span", { class: "muted" }, " (not required)"),
        check && check.summary ? h("span", {}, ` — ${check.summary}`) : null,
        check && check.detailsUrl ? [" ", externalLink(check.detailsUrl, "details")] : null,
        check ? h("span", { class: "muted" }, " · ", check.reportedBy, ", ", time(check.createdAt)) : null,
      );
    }),
  );
}

function reviews(title, list) {
  if (!list.length) return null;
  return h("div", {}, h("strong", {}, title), h("ul", { class: "reviews" }, list.map((r) => h("li", {}, h("strong", {}, r.actor), " ", time(r.createdAt), r.comment ? h("div", { class: "comment" }, r.comment) : null))));
}

function decisionForm(request, drafts, reload) {
  const viewer = currentViewer();
  const own = viewer.name === request.requestedBy;
  const mayDecide = atLeast("MAINTAINER") && mayChange(request.model.name) && !own;
  const mayWithdraw = own || atLeast("ADMIN");
  if (request.status !== "PENDING" || (!mayDecide && !mayWithdraw)) {
    return own && request.status === "PENDING" ? h("p", { class: "muted" }, "Your request: another maintainer must approve it.") : null;
  }
  const key = `request-${request.id}`;
  const comment = h("textarea", { name: "comment", rows: 2, "data-key": `${key}-comment` });
  comment.value = drafts.get(request.id) || "";
  comment.addEventListener("input", () => drafts.set(request.id, comment.value));
  const status = h("div", { class: "form-status" });
  const buttons = [];
  const decide = (kind) => {
    const decision = DECISIONS[kind];
    const button = h("button", { type: "button", class: kind === "approve" ? null : "quiet", "data-key": `${key}-${kind}`, "data-action": kind }, decision.label);
    button.addEventListener("click", async () => {
      for (const b of buttons) b.disabled = true;
      replace(status, message("info", "Sending…"));
      const input = decision.withoutComment ? { id: request.id } : { id: request.id, comment: comment.value.trim() || null };
      try {
        const data = await gql(decision.mutation, { input });
        drafts.delete(request.id);
        replace(status, message("ok", `Done: the request is ${decision.result(data).toLowerCase()}.`));
        reload();
      } catch (error) {
        replace(status, message("error", `${error.code}: ${error.message}`));
        for (const b of buttons) b.disabled = false;
      }
    });
    buttons.push(button);
    return button;
  };
  return h(
    "div",
    { class: "decision" },
    mayDecide ? field("Comment", comment) : null,
    h("div", { class: "buttons" }, mayDecide ? [decide("approve"), decide("reject")] : null, mayWithdraw ? decide("cancel") : null),
    own ? h("p", { class: "muted" }, "Your request: another maintainer must approve it.") : null,
    status,
  );
}

/** The requested version's card, folded; stays open across live reloads. */
function cardDetails(request, drafts) {
  const key = `card-open-${request.id}`;
  const details = h(
    "details",
    { class: "card-details", open: drafts.get(key) === true },
    h("summary", {}, request.modelVersion.modelCard ? "Model card" : "Model card (none)"),
    renderedCard(request.modelVersion.modelCard),
  );
  details.addEventListener("toggle", () => drafts.set(key, details.open));
  return details;
}

function requestCard(request, drafts, reload) {
  const approvals = request.approvals.length;
  return h(
    "article",
    { class: `request status-${request.status.toLowerCase()}`, "data-request": request.id, "aria-labelledby": `request-${request.id}-title` },
    h(
      "header",
      {},
      h("h2", { id: `request-${request.id}-title` }, h("a", { href: modelHref(request.model.name) }, request.model.name), " ", what(request)),
      chip(request.status.toLowerCase(), `status-${request.status.toLowerCase()}`),
    ),
    h(
      "p",
      { class: "muted" },
      `Requested by ${request.requestedBy}, `,
      time(request.createdAt),
      request.model.productionVersion ? ` · Production now: v${request.model.productionVersion.version}` : " · nothing in Production",
      request.resolvedBy ? [` · ${request.status.toLowerCase()} by ${request.resolvedBy} `, time(request.resolvedAt)] : null,
    ),
    request.comment ? h("blockquote", { class: "comment" }, request.comment) : null,
    h("div", { class: "request-grid" }, h("div", {}, h("h3", {}, "Checks"), checksOf(request)), h(
      "div",
      {},
      h("h3", {}, `Approvals: ${approvals} of ${request.requiredApprovals}`),
      h("p", { class: "rule" }, "Four-eyes, the server's rule: only maintainers other than the requester count."),
      reviews("Approved by", request.approvals),
      reviews("Rejected by", request.rejections),
      reviews("Comments", request.comments),
    )),
    request.modelVersion
      ? cardDetails(request, drafts)
      : null,
    decisionForm(request, drafts, reload),
  );
}

export async function approvalsView(ctx) {
  const { main, query } = ctx;
  const state = { status: query.get("status") ?? "PENDING", model: query.get("model") || "" };
  const pages = new Pages();
  const drafts = new Map();
  const statusSelect = h("select", { name: "status" }, h("option", { value: "" }, "any"), STATUSES.map((s) => h("option", { value: s, selected: s === state.status }, s.toLowerCase())));
  const modelInput = h("input", { type: "text", name: "model", value: state.model, placeholder: "exact name", autocomplete: "off" });
  const form = h("form", { class: "filters" }, field("Status", statusSelect), field("Model", modelInput));
  const list = h("section", { "aria-live": "polite" });
  replace(main, h("h1", {}, "Approvals"), form, list);

  const changed = () => {
    state.status = statusSelect.value;
    state.model = modelInput.value.trim();
    pages.reset();
    const shared = new URLSearchParams();
    shared.set("status", state.status);
    if (state.model) shared.set("model", state.model);
    ctx.setUrl(`#/approvals?${shared}`);
    load();
  };
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    changed();
  });
  statusSelect.addEventListener("change", changed);
  modelInput.addEventListener("change", changed);

  const load = latest(
    ctx.signal,
    () => gql(INBOX, { first: PAGE, after: pages.after, filter: { status: state.status || null, model: state.model || null } }),
    (data) => render(data.transitionRequests),
    (error) => replace(list, message("error", error.message)),
  );

  function render(connection) {
    const focused = document.activeElement && document.activeElement.dataset ? document.activeElement.dataset.key : null;
    const cards = connection.edges.map(({ node }) => requestCard(node, drafts, load));
    replace(
      list,
      cards.length ? cards : message("info", state.status === "PENDING" ? "Nothing waits for a decision." : "No requests match."),
      pages.nav(connection.pageInfo, load, { summary: `${connection.totalCount} in all` }),
    );
    if (focused) {
      const again = list.querySelector(`[data-key="${CSS.escape(focused)}"]`);
      if (again) again.focus();
    }
  }

  ctx.refreshOn(about.requests(), load);
  await load();
}
