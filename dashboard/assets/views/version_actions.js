// Changing a version's stage from the model page: at once, or through a transition request.
// Only what the viewer's role allows is offered; the server's stage policy still decides.

import { gql } from "../api.js";
import { field, h, message, replace, stageLabel } from "../dom.js";
import { atLeast } from "../session.js";

const TRANSITION = `mutation Transition($input: TransitionStageInput!) {
  transitionStage(input: $input) { modelVersion { version stage } archived { version } }
}`;

const REQUEST = `mutation Request($input: RequestTransitionInput!) {
  requestTransition(input: $input) { transitionRequest { id status } }
}`;

const STAGES = ["STAGING", "PRODUCTION", "ARCHIVED", "NONE"];

/** Writers move versions between None, Staging and Archived; Production needs a maintainer. */
function mayMoveNow(from, to) {
  if (atLeast("MAINTAINER")) return true;
  return atLeast("WRITER") && from !== "PRODUCTION" && to !== "PRODUCTION";
}

/** The form for `version`; `drafts` (by version) keeps what was typed across re-renders. */
export function versionActions({ name, version, drafts, reload }) {
  const key = `v${version.version}`;
  const draft = drafts.get(key) || { open: false, stage: version.stage === "PRODUCTION" ? "ARCHIVED" : "PRODUCTION", comment: "" };
  drafts.set(key, draft);
  const targets = STAGES.filter((s) => s !== version.stage);
  if (!targets.includes(draft.stage)) draft.stage = targets[0];
  const stage = h("select", { name: "stage", "data-key": `${key}-stage` }, targets.map((s) => h("option", { value: s, selected: s === draft.stage }, stageLabel(s))));
  const comment = h("input", { type: "text", name: "comment", value: draft.comment, "data-key": `${key}-comment`, autocomplete: "off" });
  const status = h("div", { class: "form-status" }, draft.notice && message(draft.notice.kind, draft.notice.text));
  const moveNow = h("button", { type: "button", "data-key": `${key}-move` }, "Move now");
  const request = h("button", { type: "button", class: "quiet", "data-key": `${key}-request` }, "Request approval");
  const sync = () => {
    draft.stage = stage.value;
    draft.comment = comment.value;
    moveNow.hidden = !mayMoveNow(version.stage, stage.value);
  };
  sync();
  stage.addEventListener("change", sync);
  comment.addEventListener("input", sync);

  const tell = (kind, text) => {
    draft.notice = { kind, text };
    replace(status, message(kind, text));
  };
  const submit = async (button, mutation, input, done) => {
    button.disabled = true;
    tell("info", "Sending…");
    try {
      const data = await gql(mutation, { input });
      draft.comment = "";
      tell("ok", done(data));
      reload();
    } catch (error) {
      tell("error", `${error.code}: ${error.message}`);
      button.disabled = false;
    }
  };
  moveNow.addEventListener("click", () =>
    submit(
      moveNow,
      TRANSITION,
      { modelName: name, version: version.version, stage: stage.value, comment: comment.value || null },
      (data) => `v${version.version} is in ${stageLabel(data.transitionStage.modelVersion.stage)}.`,
    ),
  );
  request.addEventListener("click", () =>
    submit(
      request,
      REQUEST,
      { modelName: name, version: version.version, stage: stage.value, comment: comment.value || null },
      () => "Requested: it waits in Approvals.",
    ),
  );
  const details = h(
    "details",
    { class: "actions", open: draft.open },
    h("summary", { "data-key": `${key}-summary` }, "Change stage"),
    h("div", { class: "action-form" }, field("To", stage), field("Comment", comment), h("div", { class: "buttons" }, moveNow, request), status),
  );
  details.addEventListener("toggle", () => {
    draft.open = details.open;
  });
  return details;
}
