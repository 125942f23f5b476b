// A version's model card: Markdown rendered to elements (never HTML), and edited by writers.

import { gql } from "../api.js";
import { field, h, message, replace, time } from "../dom.js";
import { renderMarkdown } from "../markdown.js";

const SAVE = `mutation SaveCard($input: UpdateModelVersionInput!) {
  updateModelVersion(input: $input) {
    modelVersion { version modelCard modelCardHistory(first: 1) { edges { node { actor createdAt } } } }
  }
}`;

/** The card as an <article>, or a note that there is none. */
export function renderedCard(card) {
  return card ? h("article", { class: "markdown" }, renderMarkdown(card)) : message("info", "This version has no model card.");
}

/**
 * The card of `version` ({version, modelCard, modelCardHistory}) with who changed
 * it last, and for writers of the model an editor; `drafts` (by version, kept by
 * the page) holds what is typed there across live reloads.
 */
export function modelCardPanel(name, version, { editable = false, drafts = {} } = {}) {
  const body = h("div", {});
  const changed = h("p", { class: "muted" });
  const show = (shown) => {
    const last = shown.modelCardHistory?.edges[0]?.node;
    replace(changed, last ? ["Last changed by ", last.actor, ", ", time(last.createdAt)] : "");
    replace(body, renderedCard(shown.modelCard));
  };
  show(version);
  const parts = [h("h3", {}, `Model card of v${version.version}`), changed, body];
  if (!editable) return parts;
  const draft = drafts[version.version] || { open: false, text: null };
  drafts[version.version] = draft;
  const text = h("textarea", { name: "modelCard", rows: 12, "data-key": `card-${version.version}` });
  text.value = draft.text ?? (version.modelCard || "");
  text.addEventListener("input", () => {
    draft.text = text.value;
  });
  const status = h("div", { class: "form-status" });
  const save = h("button", { type: "button" }, "Save card");
  save.addEventListener("click", async () => {
    save.disabled = true;
    try {
      const input = { modelName: name, version: version.version, modelCard: text.value };
      const saved = (await gql(SAVE, { input })).updateModelVersion.modelVersion;
      draft.text = null;
      show(saved);
      replace(status, message("ok", "Saved; the change is kept in the card's history."));
    } catch (error) {
      replace(status, message("error", `${error.code}: ${error.message}`));
    } finally {
      save.disabled = false;
    }
  });
  const editor = h(
    "details",
    { class: "card-editor", open: draft.open },
    h("summary", {}, "Edit the card"),
    field("Markdown (no HTML: it is shown as text)", text),
    h("div", { class: "buttons" }, save),
    status,
  );
  editor.addEventListener("toggle", () => {
    draft.open = editor.open;
  });
  parts.push(editor);
  return parts;
}
