// Sign in: one password field. The token is checked with `viewer` before it is kept.

import { ApiError, gql } from "../api.js";
import { field, h, message, replace } from "../dom.js";
import { signIn } from "../session.js";

export const VIEWER = "query Viewer { viewer { name role models } }";

export function signInView({ main, reason, signedIn }) {
  const input = h("input", {
    type: "password",
    name: "token",
    id: "token",
    autocomplete: "current-password",
    required: true,
    spellcheck: "false",
    placeholder: "mr_…",
  });
  const status = h("div", { class: "form-status" }, reason && message("error", `Signed out: ${reason}`));
  const button = h("button", { type: "submit" }, "Sign in");
  const form = h(
    "form",
    { class: "sign-in", "aria-labelledby": "sign-in-title" },
    h("h1", { id: "sign-in-title" }, "Sign in to modelreg"),
    field("API token", input, "Kept in this tab only (sessionStorage); never sent anywhere but /graphql."),
    button,
    status,
  );
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const token = input.value.trim();
    if (!token) return;
    button.disabled = true;
    replace(status, message("info", "Checking the token…"));
    try {
      const data = await gql(VIEWER, {}, token);
      input.value = "";
      signIn(token, data.viewer);
      signedIn(data.viewer);
    } catch (error) {
      const text = error instanceof ApiError ? error.message : String(error);
      replace(status, message("error", text));
      button.disabled = false;
      input.focus();
    }
  });
  replace(main, form);
  input.focus();
}
