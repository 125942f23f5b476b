// A model's stage history as a timeline: who moved which version where, why, and who approved.

import { h, message, parseTime, stageBadge, time } from "../dom.js";

const CAUSES = {
  TRANSITION: "direct transition",
  ROLLBACK: "rollback",
  APPROVAL: "approved request",
  ARCHIVE_EXISTING: "archived by a promotion",
};

/** The completed request whose execution wrote `entry` (same version and stage, nearest in time). */
export function requestOf(entry, requests) {
  const at = parseTime(entry.createdAt);
  let best = null;
  let bestGap = Infinity;
  for (const request of requests) {
    if (request.status !== "COMPLETED" || request.version !== entry.version || request.toStage !== entry.toStage) continue;
    const gap = Math.abs(parseTime(request.resolvedAt) - at);
    if (gap < bestGap) {
      best = request;
      bestGap = gap;
    }
  }
  return best;
}

function approvalsOf(request) {
  if (!request) return null;
  return h(
    "div",
    { class: "approvals" },
    `Requested by ${request.requestedBy}`,
    request.comment ? ` (“${request.comment}”)` : "",
    "; approved by ",
    request.approvals.length
      ? request.approvals.map((a, i) => [i ? ", " : "", h("strong", {}, a.actor), a.comment ? ` (“${a.comment}”)` : ""])
      : "—",
  );
}

/** `extra`: more of the panel (the point-in-time form). */
export function stageHistoryTimeline(history, requests, extra = null) {
  const entries = history.edges.map((e) => e.node);
  const items = entries.map((entry) =>
    h(
      "li",
      { class: `event cause-${entry.cause.toLowerCase()}`, "data-version": entry.version, "data-to": entry.toStage },
      h("div", { class: "event-when" }, time(entry.createdAt)),
      h(
        "div",
        { class: "event-what" },
        h("strong", {}, `v${entry.version}`),
        " ",
        stageBadge(entry.fromStage),
        " → ",
        stageBadge(entry.toStage),
        h("span", { class: "muted" }, ` · ${CAUSES[entry.cause] ?? entry.cause} by `),
        h("strong", {}, entry.actor),
        entry.comment && h("div", { class: "comment" }, entry.comment),
        entry.overrideReason && h("div", { class: "override" }, "Forced past the stage policy: ", entry.overrideReason),
        entry.cause === "APPROVAL" ? approvalsOf(requestOf(entry, requests)) : null,
      ),
    ),
  );
  return h(
    "section",
    { class: "panel", "aria-labelledby": "history-title" },
    h("h2", { id: "history-title" }, "Stage history"),
    items.length ? h("ol", { class: "timeline" }, items) : message("info", "No stage changes yet."),
    history.totalCount > entries.length ? h("p", { class: "muted" }, `The latest ${entries.length} of ${history.totalCount} changes.`) : null,
    extra,
  );
}
