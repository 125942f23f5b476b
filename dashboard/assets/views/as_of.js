// "What was in Production (or held an alias) at this time?", asked of the server's history.

import { gql } from "../api.js";
import { field, h, message, replace } from "../dom.js";
import { localToUtc } from "./audit.js";

const VERSION_AT = `query VersionAt($name: String!, $at: DateTime!, $stage: Stage, $alias: String) {
  model(name: $name) { versionAt(at: $at, stage: $stage, alias: $alias) { version stage } }
}`;

/** The form; `aliases`: the model's current alias names. */
export function asOfForm(name, aliases) {
  const what = h(
    "select",
    { name: "what", "data-key": "as-of-what" },
    h("option", { value: "" }, "Production"),
    aliases.map((alias) => h("option", { value: alias }, `@${alias}`)),
  );
  const at = h("input", { type: "datetime-local", name: "at", step: 1, required: true, "data-key": "as-of-at" });
  const answer = h("div", { class: "form-status", "aria-live": "polite" });
  const zone = Intl.DateTimeFormat().resolvedOptions().timeZone;
  const form = h("form", { class: "filters as-of" }, field("Which", what), field(`At (${zone})`, at), h("button", { type: "submit", class: "quiet" }, "Look up"));
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const when = localToUtc(at.value);
    if (!when) return;
    const variables = { name, at: when, stage: what.value ? null : "PRODUCTION", alias: what.value || null };
    const label = what.value ? `@${what.value}` : "Production";
    try {
      const found = (await gql(VERSION_AT, variables)).model.versionAt;
      replace(answer, message("info", found ? `${label} was v${found.version} then.` : `Nothing was ${what.value ? "at " : "in "}${label} then.`));
    } catch (error) {
      replace(answer, message("error", error.message));
    }
  });
  return h("div", { class: "as-of-box" }, h("h3", {}, "At a point in time"), form, answer);
}
